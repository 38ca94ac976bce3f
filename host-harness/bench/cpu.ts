/*
 * host-harness bench cpu [--target lwip|sim|node]: the CPU time the device's
 * process spends per message echoed, read from the kernel
 * (lib/process-cpu.ts: utime + stime of every thread, so on the lwip target
 * XS and lwIP's thread together).
 *
 * Four workloads, one connection each, through the echo paths the other
 * benches drive (tcp.ts tcpThroughput, ws.ts wsPipelined):
 *   TCP 64 B      64-byte writes, `window` of them sent and not yet echoed
 *                 (1: one round trip at a time, each a segment of its own)
 *   TCP 64 KiB    a stream of 64 KiB writes, 256 KiB in flight at most;
 *                 messages are the bytes echoed over 64 KiB (TCP keeps no
 *                 message boundaries)
 *   WS 64 B       binary messages on the kit's echo route, `window` in flight
 *   WS 64 KiB     binary messages, 4 in flight
 * Each runs for `seconds` (or until `messages`) in each of `rounds` rounds,
 * the workloads in turn. The device's CPU is read before the connection
 * opens and again once its close had time to be handled, so the accept,
 * the handshake and the close are in it, spread over the messages. The idle
 * device's own CPU rate is measured first and printed beside: it is in every
 * figure and is not subtracted.
 *
 * The device runs logLevel=info, as a board does: the host targets'
 * default, debug, logs a line per message.
 */

import { type LanDevice, startLanDevice } from "../device/lan.js";
import { type DeviceTarget, type Endpoints, type RunningDevice, startDevice } from "../device/targets.js";
import { checkedConfig, positiveValue } from "../lib/arguments.js";
import { argumentsOr } from "../lib/command.js";
import { freeServicePorts } from "../lib/ports.js";
import { cpuTicks, programPid, ticksPerSecond } from "../lib/process-cpu.js";
import { KiB, mbPerSecond, perSecond } from "./stats.js";
import { tcpThroughput } from "./tcp.js";
import { wsPipelined } from "./ws.js";

export const cpuUsage = `usage: host-harness bench cpu [--target lwip|sim|node] [--seconds S] [--messages N] [--rounds R] [options]

The device process's CPU time (utime + stime of all its threads, /proc/<pid>/stat)
per message it echoes: TCP echo of 64 B messages and of 64 KiB writes, WebSocket
echo of 64 B and of 64 KiB binary messages on the kit's echo route (ws as the
client). On lwip the process runs XS and lwIP together, in a network namespace
of its own (root). The device runs logLevel=info, as a board does. Each workload
runs in every round, the workloads in turn; the idle device's CPU rate is measured
first and shown beside (it is in every figure, not subtracted).

options:
  --target lwip|sim|node   the device (default lwip: the simulator over lwIP)
  --seconds S      time of each workload in each round (default 10)
  --messages N     at most N messages of each workload in each round (default: what fits in the time)
  --window N       64 B messages in flight (default 1: one round trip at a time)
  --rounds R       rounds (default 2)
  --config k=v     device config; repeatable
  --json           print the result as JSON instead of the table
  --help

examples:
  host-harness bench cpu --target lwip
  host-harness bench cpu --target sim --seconds 20 --rounds 1`;

export interface CpuOptions {
	target: DeviceTarget;
	seconds: number;
	messages?: number;
	window: number;
	rounds: number;
	config: Record<string, string>;
	json: boolean;
}

const targets: readonly DeviceTarget[] = ["lwip", "sim", "node"];

export function parseCpuArgs(argv: readonly string[]): CpuOptions | "help" {
	const options: CpuOptions = { target: "lwip", seconds: 10, window: 1, rounds: 2, config: {}, json: false };
	const configArgs: string[] = [];
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		if (arg === "cpu" && i === 0) continue;
		if (arg === "--help" || arg === "-h") return "help";
		if (arg === "--json") options.json = true;
		else if (arg === "--target" || arg === "-t") {
			const target = argv[++i] as DeviceTarget;
			if (!targets.includes(target)) throw new Error(`--target must be lwip, sim or node, not "${argv[i] ?? ""}"`);
			options.target = target;
		} else if (arg === "--seconds") options.seconds = positiveValue(arg, argv[++i], false);
		else if (arg === "--messages") options.messages = positiveValue(arg, argv[++i], true);
		else if (arg === "--window") options.window = positiveValue(arg, argv[++i], true);
		else if (arg === "--rounds") options.rounds = positiveValue(arg, argv[++i], true);
		else if (arg === "--config") configArgs.push(argv[++i] ?? "");
		else throw new Error(`unknown argument "${arg}"`);
	}
	options.config = checkedConfig(configArgs, "lin");
	return options;
}

type Protocol = "tcp" | "ws";

interface Workload {
	name: string;
	protocol: Protocol;
	size: number;
	/** Messages sent and not yet echoed, at most. */
	window: number;
}

export function workloads(window: number): Workload[] {
	return [
		{ name: "TCP echo, 64 B", protocol: "tcp", size: 64, window },
		{ name: "TCP echo, 64 KiB writes", protocol: "tcp", size: 64 * KiB, window: 4 },
		{ name: "WebSocket echo, 64 B binary", protocol: "ws", size: 64, window },
		{ name: "WebSocket echo, 64 KiB binary", protocol: "ws", size: 64 * KiB, window: 4 },
	];
}

export interface CpuRound {
	/** Messages echoed (TCP 64 KiB: bytes echoed / 64 KiB). */
	messages: number;
	ms: number;
	/** The device's CPU time over the round, clock ticks. */
	ticks: number;
}

export interface CpuWorkloadResult extends Workload {
	rounds: CpuRound[];
	messages: number;
	seconds: number;
	cpuSeconds: number;
	/** The device's CPU per message, µs. */
	cpuUsPerMessage: number;
	/** The device's CPU as a share of one core while it ran. */
	cpuShare: number;
	messagesPerSecond: number;
	mbPerSecond: number;
}

export interface CpuResult {
	kind: "cpu";
	target: DeviceTarget;
	/** The program whose CPU was read, and its PID. */
	program: string;
	options: Omit<CpuOptions, "json">;
	/** The idle device's CPU, ms per second. */
	idleCpuMsPerSecond: number;
	workloads: CpuWorkloadResult[];
}

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));
const timeoutMs = 10_000;
/** After a workload: time for the device to handle the close before its CPU is read. */
const settleMs = 300;

async function runOnce(endpoints: Endpoints, w: Workload, o: CpuOptions): Promise<Omit<CpuRound, "ticks">> {
	const cap = o.messages ?? Number.MAX_SAFE_INTEGER;
	if (w.protocol === "tcp") {
		const r = await tcpThroughput(endpoints.tcp!, {
			bytes: Math.min(cap * w.size, Number.MAX_SAFE_INTEGER),
			seconds: o.seconds,
			writeSize: w.size,
			window: w.window * w.size,
			timeoutMs,
		});
		return { messages: r.bytes / w.size, ms: r.ms };
	}
	const r = await wsPipelined(endpoints.ws!, { size: w.size, window: w.window, messages: cap, seconds: o.seconds, timeoutMs });
	return { messages: r.messages, ms: r.ms };
}

export function summarizeWorkload(w: Workload, rounds: CpuRound[]): CpuWorkloadResult {
	const messages = rounds.reduce((sum, r) => sum + r.messages, 0);
	const ms = rounds.reduce((sum, r) => sum + r.ms, 0);
	const ticks = rounds.reduce((sum, r) => sum + r.ticks, 0);
	const cpuSeconds = ticks / ticksPerSecond;
	return {
		...w,
		rounds,
		messages,
		seconds: ms / 1000,
		cpuSeconds,
		cpuUsPerMessage: messages > 0 ? (cpuSeconds * 1e6) / messages : NaN,
		cpuShare: ms > 0 ? cpuSeconds / (ms / 1000) : NaN,
		messagesPerSecond: perSecond(messages, ms),
		mbPerSecond: mbPerSecond(messages * w.size, ms),
	};
}

/** The device's CPU per message in one round, µs. */
const roundUs = (r: CpuRound) => (r.messages > 0 ? ((r.ticks / ticksPerSecond) * 1e6) / r.messages : NaN);

export function renderCpu(result: CpuResult): string {
	const fixed = (n: number, digits: number) =>
		Number.isFinite(n) ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : "–";
	const lines = [
		`device: ${result.target}, ${result.program}; idle: ${fixed(result.idleCpuMsPerSecond, 1)} ms of CPU per second (in every figure below)`,
		"",
		"| workload | messages | wall | device CPU | CPU, share of a core | CPU per message | by round | messages/s | MB/s |",
		"|---|--:|--:|--:|--:|--:|--:|--:|--:|",
	];
	for (const w of result.workloads)
		lines.push(
			`| ${w.name}${w.size < KiB && w.window > 1 ? `, window ${w.window}` : ""} | ${fixed(w.messages, 0)} | ${fixed(w.seconds, 1)} s | ${fixed(w.cpuSeconds, 2)} s | ${fixed(w.cpuShare * 100, 0)} % | ${fixed(w.cpuUsPerMessage, 1)} µs | ${w.rounds.map(r => fixed(roundUs(r), 1)).join(", ")} | ${fixed(w.messagesPerSecond, 0)} | ${fixed(w.mbPerSecond, w.size < KiB ? 3 : 2)} |`,
		);
	return `${lines.join("\n")}\n`;
}

async function start(options: CpuOptions, status: (line: string) => void): Promise<{ device: RunningDevice; lan?: LanDevice }> {
	// As a board runs: the host targets' default (debug) logs a line per message.
	const config = { logLevel: "info", ...options.config };
	if (options.target === "lwip") {
		const lan = await startLanDevice("lwip", config, { progress: status });
		return { device: lan.running, lan };
	}
	return { device: await startDevice({ target: options.target, config: { ...(await freeServicePorts()), ...config }, progress: status }) };
}

export async function runCpuBench(argv: string[]): Promise<number> {
	const options = argumentsOr(parseCpuArgs, argv, `${cpuUsage}\n`);
	if (typeof options === "number") return options;
	const status = (line: string) => process.stderr.write(`${line}\n`);
	status(`starting the device (${options.target}) …`);
	const { device, lan } = await start(options, status);
	const stop = () => (lan ? lan.stop() : device.stop());
	const onSignal = () => {
		process.stderr.write("\ninterrupted: stopping the device\n");
		void stop().finally(() => process.exit(130));
	};
	process.once("SIGINT", onSignal);
	process.once("SIGTERM", onSignal);
	try {
		const endpoints = lan ? lan.endpoints : device.endpoints;
		if (!endpoints.tcp || !endpoints.ws) throw new Error("the device serves no TCP or no WebSocket echo (tcpServer, wsServer)");
		const pid = programPid(device.process.pid!, options.target === "node" ? ["node"] : ["mcsim"]);
		await sleep(1000);
		const idleTicks = cpuTicks(pid);
		await sleep(3000);
		const idleCpuMsPerSecond = ((cpuTicks(pid) - idleTicks) * (1000 / ticksPerSecond)) / 3;
		status(`device PID ${pid}: idle ${idleCpuMsPerSecond.toFixed(1)} ms of CPU per second`);
		const list = workloads(options.window);
		const rounds: CpuRound[][] = list.map(() => []);
		for (let round = 1; round <= options.rounds; round++)
			for (const [i, w] of list.entries()) {
				const before = cpuTicks(pid);
				const r = await runOnce(endpoints, w, options);
				await sleep(settleMs);
				const measured = { ...r, ticks: cpuTicks(pid) - before };
				rounds[i].push(measured);
				status(
					`round ${round}, ${w.name}: ${Math.round(measured.messages)} messages in ${(measured.ms / 1000).toFixed(1)} s, ${(measured.ticks / ticksPerSecond).toFixed(2)} s of device CPU, ${roundUs(measured).toFixed(1)} µs per message`,
				);
				if (device.process.exited) throw new Error(`the device exited during the run\n${device.process.tail()}`);
			}
		const { json, ...kept } = options;
		const result: CpuResult = {
			kind: "cpu",
			target: options.target,
			program: `${options.target === "node" ? "node" : "mcsim"} (PID ${pid})`,
			options: kept,
			idleCpuMsPerSecond,
			workloads: list.map((w, i) => summarizeWorkload(w, rounds[i])),
		};
		process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : renderCpu(result));
		return 0;
	} finally {
		process.off("SIGINT", onSignal);
		process.off("SIGTERM", onSignal);
		await stop();
	}
}
