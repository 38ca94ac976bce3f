/*
 * host-harness soak (--target node|sim | --device <ip> [--config k=v …]) [--minutes N] [--json]
 *
 * Runs host-harness/soak/soak.ts against a device and prints a line per
 * interval; exits 0 only when no echo differed, every good client was
 * served, the device holds afterwards what it held before, serves a fresh
 * client, and its resident memory stayed flat (1 otherwise, 2 on bad usage).
 */

import { unreachableEndpoints } from "../device/reach.js";
import { boardEndpoints, type Endpoints, type RunningDevice, startDevice } from "../device/targets.js";
import { CommandFailure, checkedConfig, fleetHeading, fleetOptions, optionLines } from "../lib/arguments.js";
import { argumentsOr, registerCommand } from "../lib/command.js";
import { onInterrupt } from "../lib/interrupt.js";
import { boardAddress } from "../lib/mdns.js";
import { freeServicePorts } from "../lib/ports.js";
import { deviceResources, type ResourceSource } from "../oracle/health.js";
import { runSoak, type SoakInterval, type SoakResult, soakPassed } from "./soak.js";

const usage = `usage: host-harness soak (--target node|sim | --device <ip> [--config key=value …]) [options]

Mixes well-behaved clients of every service (TCP, WebSocket, UDP echo) with
faulty peers (resets, vanishing peers, half-closes, frames cut mid-way,
silent connections, small floods) for the time given, judging every echo.
Prints connections, messages, bytes, errors, refusals, faults and the
device's memory each interval; at the end the device must hold what it held
before the load and serve a fresh client.

options:
  --target node|sim   boot a device on this PC
  --device <ip>       a board
  --config k=v        with --device: a config value it was flashed with (repeatable)
  --minutes N         how long (default 5; fractions allowed, e.g. 0.5)
  --interval S        seconds between report lines (default 60)
  --good N            well-behaved clients at once per service (default 1)
  --faulty N          faulty peers at once (default 2)
  --json              one JSON object at the end instead of lines

  ${fleetHeading}
${optionLines(fleetOptions, 18)}

examples:
  host-harness soak --target node --minutes 10
  host-harness soak --target sim --minutes 5 --interval 30
  host-harness soak --device 192.168.1.50 --config wsPort=80 --minutes 60
`;

/** Resident memory may grow this much over the run (first interval to last) and still count as flat. */
const flatRss = 16 * 1024 * 1024;

interface Args {
	target?: "node" | "sim";
	device?: string;
	config: string[];
	minutes: number;
	intervalS: number;
	good: number;
	faulty: number;
	json: boolean;
}

function positive(name: string, value: string | undefined): number {
	const n = Number(value);
	if (value === undefined || !Number.isFinite(n) || n <= 0) throw new Error(`${name} needs a positive number, not "${value ?? ""}"`);
	return n;
}

export function parseArgs(argv: string[]): Args | "help" {
	const args: Args = { config: [], minutes: 5, intervalS: 60, good: 1, faulty: 2, json: false };
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		if (arg === "--help" || arg === "-h") return "help";
		else if (arg === "--target") {
			const target = argv[++i];
			if (target !== "node" && target !== "sim") throw new Error(`--target is node or sim, not "${target ?? ""}"`);
			args.target = target;
		} else if (arg === "--device") args.device = argv[++i];
		else if (arg === "--config") args.config.push(argv[++i] ?? "");
		else if (arg === "--minutes") args.minutes = positive(arg, argv[++i]);
		else if (arg === "--interval") args.intervalS = positive(arg, argv[++i]);
		else if (arg === "--good") args.good = Math.round(positive(arg, argv[++i]));
		else if (arg === "--faulty") args.faulty = Math.round(positive(arg, argv[++i]));
		else if (arg === "--json") args.json = true;
		else throw new Error(`unknown argument "${arg}"`);
	}
	if (!args.target === !args.device) throw new Error("say where the device is: --target node|sim or --device <ip>");
	return args;
}

const mb = (bytes: number | undefined) => (bytes === undefined ? "-" : `${(bytes / 1048576).toFixed(1)} MB`);

export function formatInterval(figures: SoakInterval, minutes?: number): string {
	const held = figures.resources
		? ` holds ${Object.entries(figures.resources)
				.map(([k, v]) => `${k} ${v}`)
				.join(", ")}`
		: "";
	return (
		`minute ${figures.minute.toFixed(1).padStart(5)}${minutes ? `/${minutes}` : ""}: ${figures.connections} connections, ${figures.messages} messages, ` +
		`${(figures.bytes / 1048576).toFixed(2)} MB, ${figures.errors} errors, ${figures.refusals} refusals, ${figures.faults} faults, ` +
		`rss ${mb(figures.rss)}${held}`
	);
}

function rssFlat(result: SoakResult): boolean {
	return result.rssFirst === undefined || result.rssLast === undefined || result.rssLast - result.rssFirst <= flatRss;
}

export function formatSummary(result: SoakResult): string {
	const t = result.total;
	const lines = [
		`soak: ${t.connections} connections, ${t.messages} messages, ${(t.bytes / 1048576).toFixed(2)} MB echoed, ` +
			`${t.errors} errors, ${t.refusals} refusals, ${t.faults} faults`,
		`device holds ${JSON.stringify(result.after ?? "-")} after the load (before: ${JSON.stringify(result.baseline ?? "-")}); ` +
			`fresh client ${result.servedAfter ? "served" : "NOT served"}; rss ${mb(result.rssFirst)} → ${mb(result.rssLast)}${rssFlat(result) ? "" : " (grew)"}`,
		...result.errorSamples.map(e => `  error: ${e}`),
	];
	return lines.join("\n");
}

registerCommand("soak", {
	summary: "mix good clients with faulty peers for minutes; judge every echo, memory and recovery",
	usage,
	parse: parseArgs,
	async run(argv) {
		const args = argumentsOr(parseArgs, argv, usage);
		if (typeof args === "number") return args;
		let running: RunningDevice | undefined;
		let endpoints: Endpoints;
		try {
			if (args.device) endpoints = boardEndpoints(await boardAddress(args.device), checkedConfig(args.config, "esp32"));
			else {
				const config = { ...(await freeServicePorts()), ...checkedConfig(args.config) };
				running = await startDevice({ target: args.target!, config, control: args.target === "node", progress: text => process.stderr.write(`${text}\n`) });
				endpoints = running.endpoints;
			}
			const say = (text: string) => (args.json ? process.stderr : process.stdout).write(`${text}\n`);
			const resources: ResourceSource = { target: args.device ? "board" : args.target!, pid: running?.process.pid, control: running?.control };
			// At rest, before the probe below: its connections may still be closing on the device when the load starts.
			const baseline = await deviceResources(resources);
			// Fail fast: a device that does not answer is said in one line, not found by minutes of errors.
			const unanswered = await unreachableEndpoints(endpoints);
			if (unanswered.length) throw new CommandFailure(`cannot reach ${args.device ?? args.target}: ${unanswered.join("; ")}`);
			// Ctrl-C: the load ends, the device is judged on what was done, exit 130; a second Ctrl-C quits at once.
			const interrupt = onInterrupt("soak", "ending the load and judging the device");
			say(
				`soak: ${args.minutes} minute${args.minutes === 1 ? "" : "s"} against ${args.device ?? args.target} (${[endpoints.tcp && "tcp", endpoints.ws && "ws", endpoints.udp && "udp"].filter(Boolean).join(", ")})`,
			);
			const result = await runSoak({
				endpoints,
				resources,
				baseline,
				durationMs: args.minutes * 60_000,
				intervalMs: args.intervalS * 1000,
				goodWorkers: args.good,
				faultWorkers: args.faulty,
				maxMessage: args.target === "sim" ? 8192 : 64 * 1024,
				onInterval: figures => say(formatInterval(figures, args.minutes)),
				signal: interrupt.signal,
			});
			interrupt.release();
			const aborted = running?.process.exited ?? false;
			const passed = soakPassed(result) && rssFlat(result) && !aborted;
			if (args.json) process.stdout.write(`${JSON.stringify({ passed, ...result }, null, 2)}\n`);
			else
				say(
					`${formatSummary(result)}${aborted ? "\nthe device exited during the soak" : ""}\n${interrupt.signal.aborted ? `INTERRUPTED (${passed ? "passing" : "failing"} so far)` : passed ? "PASSED" : "FAILED"}`,
				);
			return interrupt.signal.aborted ? 130 : passed ? 0 : 1;
		} finally {
			await running?.stop();
		}
	},
});
