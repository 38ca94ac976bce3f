/*
 * host-harness bench memory: its arguments, its usage, and the run: the
 * device started (host-harness/bench/memory-device), the phases measured
 * (memory.ts), the table printed (memory-report.ts); --churn N runs the
 * churn instead (churn.ts).
 */

import { checkedConfig, positiveValue } from "../lib/arguments.js";
import { argumentsOr } from "../lib/command.js";
import { churnDeviceConfig, churnProblems, measureChurn, renderChurn } from "./churn.js";
import { type MemorySettings, measureMemory, memoryDefaults } from "./memory.js";
import { type MemoryDevice, memoryDeviceConfig, startMemoryDevice } from "./memory-device.js";
import { renderMemoryTable } from "./memory-report.js";

export const memoryUsage = `usage: host-harness bench memory --target sim [options]

Measures the app's XS heaps on the Moddable simulator's debug build through
the xsbug protocol, each reading after a forced full garbage collection
(<step/> to the idle machine: the break collects and samples, then go).
Prints live slots (also in bytes: 32-byte slots on the simulator, 16-byte on
an ESP32) and chunk bytes: the idle app, per idle WebSocket connection, per
idle TCP connection, per in-flight 64 KiB WebSocket message, per connection
whose echo is blocked (every buffer between it and the device full), the
heaps after clients closed and after rounds of faults (resets mid-frame and
mid-stream, clients gone without a Close, a half-close) against idle, and
how many idle clients fit in the default esp32 heaps.

With --churn <n>, instead: n connections through every service of the app
(the WebSocket echo, broadcast and log routes, the page, the TCP and UDP
echo), ended in every way a connection ends, several at once, after a
warm-up round; then the heaps against the warm-up's and what every server,
route and the log still hold (read through xsbug: nothing of it on a board).
Exit status 1 when a run failed, something is still held, or the heaps did
not come back exactly.

options:
  --target sim|lwip   sim (default); lwip (the simulator over lwIP in a network
                      namespace, root only) with --churn
  --churn <n>         the churn, n connections in all (the suite runs 1000)
  --clients <n>       clients per phase (default 4)
  --rounds <n>        fault rounds (default 2)
  --no-blocked        skip the blocked-echo phase (clients send 64 KiB messages without
                      reading until the device stops reading: about a minute)
  --config k=v        device config; bare k=v works too; repeatable
  --json              print the result as JSON instead of the table
  --help

examples:
  host-harness bench memory --target sim
  host-harness bench memory --target sim --clients 8 --json > memory.json
  host-harness bench memory --churn 10000
  host-harness bench memory --churn 1000 --target lwip
`;

export interface MemoryOptions {
	json: boolean;
	settings: MemorySettings;
	config: Record<string, string>;
	/** The churn instead, with this many connections. */
	churn?: number;
	target: "sim" | "lwip";
}

export function parseMemoryArgs(argv: readonly string[]): MemoryOptions | "help" {
	const settings = { ...memoryDefaults };
	const configArgs: string[] = [];
	let json = false;
	let seen = false;
	let churn: number | undefined;
	let target: "sim" | "lwip" = "sim";
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
		const value = () => inline ?? argv[++i];
		const count = (name: string) => positiveValue(name, value(), true);
		switch (flag) {
			case "--help":
			case "-h":
				return "help";
			case "--target":
			case "-t": {
				const name = value();
				if (name !== "sim" && name !== "lwip")
					throw new Error(`bench memory reads XS heaps through the simulator's debug build: --target sim (or lwip with --churn), not "${name ?? ""}"`);
				target = name;
				break;
			}
			case "--churn":
				churn = count("--churn");
				break;
			case "--device":
				throw new Error("bench memory runs on the simulator (--target sim); a board's heaps show in xsbug's instruments");
			case "--clients":
			case "-c":
				settings.clients = count("--clients");
				break;
			case "--rounds":
				settings.faultRounds = count("--rounds");
				break;
			case "--no-blocked":
				settings.blocked = false;
				break;
			case "--json":
				json = true;
				break;
			case "--config":
				configArgs.push(value() ?? "");
				break;
			default:
				if (arg === "memory" && !seen) seen = true;
				else if (/^\w+=/.test(arg)) configArgs.push(arg);
				else throw new Error(`unknown argument "${arg}"`);
		}
	}
	if (target === "lwip" && churn === undefined) throw new Error("bench memory --target lwip runs the churn only: add --churn <n>");
	return { json, settings, config: checkedConfig(configArgs), target, ...(churn !== undefined ? { churn } : {}) };
}

export async function runMemoryBench(argv: string[]): Promise<number> {
	const options = argumentsOr(parseMemoryArgs, argv, memoryUsage);
	if (typeof options === "number") return options;
	const status = (text: string) => {
		if (process.stderr.isTTY) process.stderr.write(`${text}\n`);
	};
	let memory: MemoryDevice | undefined;
	const onSignal = () => {
		process.stderr.write("\ninterrupted: stopping the device\n");
		void (memory?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
	};
	process.once("SIGINT", onSignal);
	process.once("SIGTERM", onSignal);
	try {
		if (options.churn !== undefined) {
			status(`starting the ${options.target === "lwip" ? "lwip simulator's" : "simulator's"} debug build (mcconfig -d first) …`);
			memory = await startMemoryDevice(await churnDeviceConfig(options.config), { census: true, clock: true, target: options.target });
			const result = await measureChurn(memory, options.churn, status);
			process.stdout.write(options.json ? `${JSON.stringify(result, undefined, 2)}\n` : renderChurn(result, options.target));
			return churnProblems(result).length ? 1 : 0;
		}
		status("starting the simulator's debug build (mcconfig -d first) …");
		const config = await memoryDeviceConfig(options.settings.clients, options.config, options.settings.blocked);
		memory = await startMemoryDevice(config, { clock: true });
		status(`device: ${memory.machine.version}, ${memory.device.endpoints.ws}, tcp ${memory.device.endpoints.tcp?.port}`);
		const result = await measureMemory(memory, options.settings, status);
		const keys = Object.entries(config)
			.filter(([key]) => !/Port$/.test(key))
			.map(([key, value]) => `${key}=${value}`);
		result.notes.unshift(
			`device config beyond the defaults: ${keys.join(" ")}${config.wsHeartbeat === "0" ? " (the blocked clients read nothing, so they could answer no ping)" : ""}`,
		);
		process.stdout.write(options.json ? `${JSON.stringify(result, (_, v) => (v === Infinity ? null : v), 2)}\n` : renderMemoryTable(result));
		return 0;
	} finally {
		process.off("SIGINT", onSignal);
		process.off("SIGTERM", onSignal);
		await memory?.stop();
	}
}
