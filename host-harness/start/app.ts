/*
 * npm start --app <dir>: a user's app booted on the kit, its services line
 * and its log shown until Ctrl-C or --duration, with no dialogue (the
 * dialogue speaks to the kit's own services).
 */

import type { App } from "../device/app.js";
import { type HostTarget, type RunningDevice, startDevice } from "../device/targets.js";
import { planTiers } from "../device/tiers.js";
import { untilStopped } from "../lib/interrupt.js";
import type { Narrator } from "./narrator.js";
import type { Options } from "./options.js";

export async function runApp(options: Options, app: App, say: Narrator): Promise<number> {
	const target: HostTarget = options.target ?? (planTiers().tiers.some(t => t.target === "sim") ? "sim" : "node");
	const { stopped, stop } = untilStopped();
	say.harness(`booting ${app.dir} on ${target}`);
	let device: RunningDevice;
	try {
		device = await startDevice({
			target,
			app,
			config: options.config,
			progress: text => say.harness(text),
			onProcess: running => running.on("log", line => say.device(line.raw)),
		});
	} catch (e) {
		say.report((e as Error).message);
		return 1;
	}
	say.report(`services up: ${JSON.stringify(device.endpoints.services)}`);
	device.process.once("exit", code => {
		say.report(`${app.name} exited (${code})`);
		stop();
	});
	if (options.duration) setTimeout(stop, options.duration * 1000).unref();
	await stopped;
	await device.stop();
	say.report(`stopped ${app.name}`);
	return 0;
}
