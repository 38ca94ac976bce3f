/*
 * host-harness check --app <dir> --target node|sim
 *
 * What the harness can judge of an app it does not know: that it builds,
 * boots and logs `app: services up {…}`, that each TCP service it names
 * there accepts a connection, and that it logged no error and no XS
 * exception meanwhile. A service whose name says udp is not probed (a
 * datagram has no answer the harness can expect). The app's own behaviour
 * is for its own suite (tests/device/user-app.test.ts is one such).
 */

import { startDevice, type HostTarget, type RunningDevice } from "../device/targets.js";
import type { App } from "../device/app.js";
import { connect } from "../oracle/tcp-echo.js";

export interface AppCase {
	name: string;
	state: "passed" | "failed" | "skipped";
	error?: string;
}

export async function checkApp(app: App, target: HostTarget, config: Record<string, string>, say: (text: string) => void): Promise<AppCase[]> {
	const cases: AppCase[] = [];
	let device: RunningDevice;
	try {
		device = await startDevice({ target, app, config, progress: say });
	}
	catch (e) {
		return [{ name: `${app.name} boots on ${target} and logs its services up`, state: "failed", error: (e as Error).message }];
	}
	try {
		cases.push({ name: `${app.name} boots on ${target} and logs its services up`, state: "passed" });
		const { address: _address, ...services } = device.endpoints.services ?? {};
		for (const [name, port] of Object.entries(services)) {
			const label = `service ${name} accepts a TCP connection (port ${String(port)})`;
			if (typeof port !== "number")
				continue;
			if (/udp/i.test(name)) {
				cases.push({ name: label.replace("accepts a TCP connection", "is UDP: not probed"), state: "skipped" });
				continue;
			}
			try {
				const socket = await connect({ host: "127.0.0.1", port });
				socket.destroy();
				cases.push({ name: label, state: "passed" });
			}
			catch (e) {
				cases.push({ name: label, state: "failed", error: (e as Error).message });
			}
		}
		const faults = device.process.log.filter(line => line.level === "E" || /# Exception|Error:/.test(line.raw));
		cases.push({
			name: `${app.name} logged no error and no exception`,
			state: faults.length ? "failed" : "passed",
			error: faults.length ? faults.slice(0, 3).map(line => line.raw).join("\n") : undefined,
		});
	}
	finally {
		await device.stop();
	}
	return cases;
}
