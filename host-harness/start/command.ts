/*
 * npm start [-- --target node|sim] [--duration <seconds>]
 *
 * The whole system live on this PC: the device app on the best target
 * available (the simulator when the Moddable SDK is installed, else the
 * Node-hosted device), the harness's peers for the device's clients, and a
 * running dialogue: the harness talks to the device's servers, the device's
 * clients talk to the harness's peers, every line tagged [device] or
 * [harness], with counters, until Ctrl-C or --duration.
 */

import { usageError } from "../lib/command.js";
import { runApp } from "./app.js";
import { LiveSystem } from "./live.js";
import { Narrator } from "./narrator.js";
import { type Options, parseArgs, usage } from "./options.js";

export { parseArgs, startOptions, usage } from "./options.js";

export async function main(argv: string[]): Promise<number> {
	let options: Options | "help";
	try {
		options = parseArgs(argv);
	} catch (e) {
		return usageError((e as Error).message, usage);
	}
	if (options === "help") {
		process.stdout.write(usage);
		return 0;
	}
	const say = new Narrator(options.quiet);
	if (options.app) return runApp(options, options.app, say);
	return new LiveSystem(options, say).run();
}
