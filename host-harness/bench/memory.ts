/*
 * host-harness bench memory --target sim: the app's XS heaps, measured on
 * the simulator's debug build through the xsbug protocol.
 *
 * Each reading follows a forced full garbage collection: the harness's
 * xsbug server sends <step/> to the idle machine, which breaks at once; on a
 * break the simulator runs fxCollectGarbage (compacting: slots, chunks,
 * keys) and sends an instrumentation sample before the <break> itself
 * (XsbugLogServer.collectGarbage). From that sample:
 *
 *   "Chunk used"  the live chunk heap, bytes (strings, ArrayBuffer bytes,
 *                 arrays' items, code of closures…)
 *   "Slot used"   the live slots times sizeof(txSlot), bytes: 32 on the 64-bit
 *                 simulator, 16 on an ESP32; live slots = Slot used / 32 here
 *   "Keys used"   the machine's own keys (interned property names)
 *
 * A reading repeats the collection until two in a row agree, or takes the
 * smallest of three. The phases, with N clients (--clients, default 4):
 *
 *   idle app               after boot, no client
 *   idle WS connection     N `ws` clients connected, each echoed once, idle:
 *                          (reading - idle) / N
 *   in-flight 64 KiB       each of those N sends one 64 KiB binary message while
 *                          its socket is paused (not reading the echo):
 *                          (reading - idle WS) / N; then they read their echoes
 *                          and close
 *   idle TCP connection    N TCP clients connected, each echoed once, idle
 *   echo blocked           N new WS clients, paused, send 64 KiB messages until
 *                          the device stops reading (every buffer between them
 *                          full, its write queue held): (reading - the same
 *                          clients idle) / N; then they are dropped. About a
 *                          minute on the simulator (it reads 2 KiB a turn);
 *                          the device runs with wsHeartbeat=0 for it, as a
 *                          paused client answers no ping. --no-blocked skips it
 *   faults, twice          4 WS clients reset mid-frame, 4 WS clients destroyed
 *                          without a Close, 2 TCP clients reset mid-stream, 1 TCP
 *                          client half-closing; each case waits until the
 *                          device has logged every connection closed; a reading
 *                          after each round, against idle
 *
 * Board units: slots x 16 bytes. Chunk bytes are the simulator's: on the
 * 32-bit ESP32 a chunk's header is 8 bytes, not 16, and slot arrays in
 * chunks are half as large, so the board's figure is at most this one
 * (equal for bulk bytes such as a message's ArrayBuffer).
 */

import { argumentsOr } from "../lib/command.js";
import { checkedConfig } from "../lib/arguments.js";
import { simBuildDir } from "../device/sim.js";
import { schema } from "../../app/config-schema.js";
import { KiB } from "./stats.js";
import { churnDeviceConfig, churnProblems, measureChurn, renderChurn } from "./churn.js";
import { boardSlotSize, creationFromBuild, delta, esp32DefaultCreation, type Creation, type HeapDelta, type HeapReading } from "./heap.js";
import { closeTcp, closeWs, drainInFlight, dropWs, faultRound, memoryDeviceConfig, openIdleTcp, openIdleWs, runFault, sendInFlight, sendUntilBlocked, settleAfterCloseMs, sleep, startMemoryDevice, tcpEndpoint, wsUrl, type MemoryDevice } from "./memory-device.js";

export interface MemorySettings {
	clients: number;
	messageSize: number;
	/** Fault rounds (each against idle). */
	faultRounds: number;
	/** Also measure connections whose echo is blocked (every buffer full: takes a minute on the simulator). */
	blocked: boolean;
}

export const memoryDefaults: MemorySettings = { clients: 4, messageSize: 64 * KiB, faultRounds: 2, blocked: true };

export interface PerUnit extends HeapDelta {
	of: number;
}

export interface Budget {
	creation: Creation;
	/** Idle clients that fit in the initial heaps beside the idle app (Infinity: that heap does not limit). */
	ws: { byChunk: number; bySlots: number; fit: number };
	tcp: { byChunk: number; bySlots: number; fit: number };
	/** XS heap bytes per idle client on the board: slots x 16 + chunk bytes (an upper bound). */
	boardBytesPerWs: number;
	boardBytesPerTcp: number;
	idleBoardBytes: number;
	/** The app at its default client limits, all clients idle: XS heap bytes on the board. */
	atDefaults: { wsClients: number; tcpClients: number; boardBytes: number };
}

export interface MemoryResult {
	kind: "memory";
	target: "sim";
	/** The machine's login: "XS 17.7.0 64-bit LE 16-bit ID". */
	machine: string;
	slotSize: number;
	boardSlotSize: number;
	settings: MemorySettings;
	simCreation?: Creation;
	readings: {
		idle: HeapReading;
		ws: HeapReading;
		inFlight: HeapReading;
		afterWs: HeapReading;
		tcp: HeapReading;
		afterTcp: HeapReading;
		/** Clients open before blocking, blocked, and after they were dropped (when measured). */
		blockedBase?: HeapReading;
		blocked?: HeapReading;
		afterBlocked?: HeapReading;
		faults: HeapReading[];
	};
	perWs: PerUnit;
	perTcp: PerUnit;
	perInFlight: PerUnit & { receivedWhole: number; size: number };
	/** Per connection whose echo is blocked, against the same connections open and idle; with the bytes each client had sent. */
	perBlocked?: PerUnit & { sentBytes: number[] };
	/** Each fault round's reading minus idle. */
	faultsVsIdle: HeapDelta[];
	faultCases: string[];
	budget: Budget;
	notes: string[];
}

function fits(room: number, per: number): number {
	return per > 0 ? Math.max(0, Math.floor(room / per)) : Infinity;
}

export function budgetFor(creation: Creation, idle: HeapReading, perWs: HeapDelta, perTcp: HeapDelta): Budget {
	const per = (d: HeapDelta) => {
		const byChunk = fits(creation.chunkInitial - idle.chunk, d.chunk);
		const bySlots = fits(creation.slotsInitial - idle.slots, d.slots);
		return { byChunk, bySlots, fit: Math.min(byChunk, bySlots) };
	};
	return {
		creation,
		ws: per(perWs),
		tcp: per(perTcp),
		boardBytesPerWs: Math.round(perWs.slots * boardSlotSize + perWs.chunk),
		boardBytesPerTcp: Math.round(perTcp.slots * boardSlotSize + perTcp.chunk),
		idleBoardBytes: idle.slots * boardSlotSize + idle.chunk,
		atDefaults: {
			wsClients: schema.wsMaxClients.default,
			tcpClients: schema.tcpMaxClients.default,
			boardBytes: Math.round(idle.slots * boardSlotSize + idle.chunk + schema.wsMaxClients.default * (perWs.slots * boardSlotSize + perWs.chunk) + schema.tcpMaxClients.default * (perTcp.slots * boardSlotSize + perTcp.chunk)),
		},
	};
}

/** The whole measurement on a booted memory device. `log` gets a line per phase. */
export async function measureMemory(memory: MemoryDevice, settings: MemorySettings, log: (line: string) => void = () => undefined): Promise<MemoryResult> {
	const { server, probe, device } = memory;
	const n = settings.clients;
	const notes: string[] = [];
	const url = wsUrl(device.endpoints);

	log("idle app …");
	const idle = await probe.read();

	log(`${n} idle WebSocket clients …`);
	let since = server.mark();
	const wsClients = await openIdleWs(url, n);
	await sleep(settleAfterCloseMs);
	const ws = await probe.read();

	log(`${n} in-flight ${settings.messageSize}-byte messages …`);
	const { messages, receivedWhole } = await sendInFlight(server, wsClients, settings.messageSize);
	await sleep(settleAfterCloseMs);
	const inFlight = await probe.read();
	await drainInFlight(wsClients, messages);
	await closeWs(server, wsClients, since);
	await sleep(settleAfterCloseMs);
	const afterWs = await probe.read();
	if (receivedWhole === n)
		notes.push(`in flight: the device read each ${settings.messageSize}-byte message whole while its client read nothing: the echo streams (at most its write queue held at once), the rest waited in socket buffers outside the XS heap`);
	else
		notes.push(`in flight: the device read ${receivedWhole} of ${n} messages whole while their clients read nothing; the others were held back by the echo's flow control`);

	log(`${n} idle TCP clients …`);
	since = server.mark();
	const tcpClients = await openIdleTcp(tcpEndpoint(device.endpoints), n);
	await sleep(settleAfterCloseMs);
	const tcp = await probe.read();
	await closeTcp(server, tcpClients, since);
	await sleep(settleAfterCloseMs);
	const afterTcp = await probe.read();

	let blockedPart: Pick<MemoryResult, "perBlocked"> & { readings?: Pick<MemoryResult["readings"], "blockedBase" | "blocked" | "afterBlocked"> } = {};
	if (settings.blocked) {
		log(`${n} WebSocket clients with their echo blocked (a minute on the simulator) …`);
		since = server.mark();
		const blockedClients = await openIdleWs(url, n);
		await sleep(settleAfterCloseMs);
		const blockedBase = await probe.read();
		const { sent, blocked: held } = await sendUntilBlocked(server, blockedClients, settings.messageSize);
		const blocked = await probe.read();
		await dropWs(server, blockedClients, since);
		await sleep(settleAfterCloseMs);
		const afterBlocked = await probe.read();
		if (!held.every(Boolean))
			notes.push(`blocked: ${held.filter(b => !b).length} of ${n} clients sent their cap without the device stopping to read`);
		blockedPart = {
			perBlocked: { ...delta(blocked, blockedBase, n), of: n, sentBytes: sent.map(count => count * settings.messageSize) },
			readings: { blockedBase, blocked, afterBlocked },
		};
	}

	const faults: HeapReading[] = [];
	const cases = faultRound();
	for (let round = 1; round <= settings.faultRounds; round++) {
		for (const fault of cases) {
			log(`faults, round ${round}: ${fault.name} …`);
			await runFault(memory, fault);
		}
		faults.push(await probe.read());
	}

	const perWs = { ...delta(ws, idle, n), of: n };
	const perTcp = { ...delta(tcp, afterWs, n), of: n };
	const simCreation = creationFromBuild(`${simBuildDir}-debug`);
	return {
		kind: "memory",
		target: "sim",
		machine: memory.machine.version,
		slotSize: probe.slotSize,
		boardSlotSize,
		settings,
		...(simCreation ? { simCreation } : {}),
		readings: { idle, ws, inFlight, afterWs, tcp, afterTcp, ...blockedPart.readings, faults },
		perWs,
		perTcp,
		perInFlight: { ...delta(inFlight, ws, n), of: n, receivedWhole, size: settings.messageSize },
		...(blockedPart.perBlocked ? { perBlocked: blockedPart.perBlocked } : {}),
		faultsVsIdle: faults.map(f => delta(f, idle)),
		faultCases: cases.map(c => c.name),
		budget: budgetFor(esp32DefaultCreation, idle, perWs, perTcp),
		notes,
	};
}

/* ---------------------------------------------------------------- table */

const grouped = (value: number) => {
	const rounded = Math.round(value * 10) / 10;
	const [whole, fraction] = String(Math.abs(rounded)).split(".");
	return `${rounded < 0 ? "-" : ""}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, " ")}${fraction ? `.${fraction}` : ""}`;
};
const signed = (value: number) => (value > 0 ? `+${grouped(value)}` : grouped(value));
const fitText = (n: number) => (Number.isFinite(n) ? String(n) : "no limit");

export function renderMemoryTable(result: MemoryResult): string {
	const r = result.readings;
	const row = (label: string, d: { slots: number; chunk: number }, sign = false) => {
		const f = sign ? signed : grouped;
		return [label, f(d.slots), f(d.slots * result.slotSize), f(d.slots * result.boardSlotSize), f(d.chunk)];
	};
	const rows = [
		["reading (after a forced full GC)", "live slots", `slot B sim`, `slot B esp32`, "chunk B"],
		row("idle app", r.idle),
		row(`per idle WS connection (of ${result.perWs.of})`, result.perWs),
		row(`per idle TCP connection (of ${result.perTcp.of})`, result.perTcp),
		row(`per in-flight ${result.perInFlight.size / KiB} KiB WS message (of ${result.perInFlight.of})`, result.perInFlight),
		...(result.perBlocked ? [row(`per WS connection, echo blocked (of ${result.perBlocked.of})`, result.perBlocked)] : []),
		row("after WS clients closed - idle", delta(r.afterWs, r.idle), true),
		row("after TCP clients closed - idle", delta(r.afterTcp, r.idle), true),
		...(r.afterBlocked ? [row("after blocked WS clients dropped - idle", delta(r.afterBlocked, r.idle), true)] : []),
		...result.faultsVsIdle.map((d, i) => row(`after faults, round ${i + 1} - idle`, d, true)),
	];
	const widths = rows[0].map((_, c) => Math.max(...rows.map(x => x[c].length)));
	const line = (x: string[]) => x.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ").trimEnd();
	const b = result.budget;
	const c = b.creation;
	const out = [
		`XS heaps, Moddable simulator debug build (${result.machine}: ${result.slotSize}-byte slots; esp32: ${result.boardSlotSize}-byte slots)`,
		line(rows[0]),
		widths.map(w => "-".repeat(w)).join("  "),
		...rows.slice(1).map(line),
		`fault round: ${result.faultCases.join("; ")}`,
		`esp32 budget, default creation (chunk ${c.chunkInitial} B +${c.chunkIncremental}, ${c.slotsInitial} slots +${c.slotsIncremental}, static ${c.static}): ` +
			`idle app ${r.idle.slots} slots (${grouped(r.idle.slots * result.boardSlotSize)} B) + ${grouped(r.idle.chunk)} chunk B = ${grouped(b.idleBoardBytes)} B; ` +
			`in the initial heaps beside it fit ${fitText(b.ws.fit)} idle WS clients (chunk ${fitText(b.ws.byChunk)}, slots ${fitText(b.ws.bySlots)}) ` +
			`or ${fitText(b.tcp.fit)} idle TCP clients (chunk ${fitText(b.tcp.byChunk)}, slots ${fitText(b.tcp.bySlots)})` +
			(r.idle.slots > c.slotsInitial ? `; the idle app alone is past the initial ${c.slotsInitial} slots, so the slot heap has grown already` : ""),
		`esp32 XS heap per idle client: WS ${grouped(b.boardBytesPerWs)} B, TCP ${grouped(b.boardBytesPerTcp)} B (slots x ${result.boardSlotSize} + chunk bytes; chunk bytes are the simulator's, at most that on the board); ` +
			`with static 0 the heaps grow from the ESP32's own heap (${c.slotsIncremental} slots = ${c.slotsIncremental * result.boardSlotSize} B, ${c.chunkIncremental} B chunks at a time) until it runs out`,
		`esp32 XS heap at the default limits (${b.atDefaults.wsClients} WS + ${b.atDefaults.tcpClients} TCP clients, all idle): ${grouped(b.atDefaults.boardBytes)} B`,
	];
	if (result.simCreation)
		out.push(`simulator creation: chunk ${result.simCreation.chunkInitial} +${result.simCreation.chunkIncremental}, ${result.simCreation.slotsInitial} slots +${result.simCreation.slotsIncremental}, static ${result.simCreation.static} (${result.simCreation.source})`);
	if (result.perBlocked) {
		const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024 * 10) / 10} MiB`;
		out.push(`note: blocked: each client sent ${result.perInFlight.size / KiB} KiB messages without reading until the device stopped reading (${result.perBlocked.sentBytes.map(mib).join(", ")} sent); the row is against the same clients open and idle`);
	}
	for (const note of result.notes)
		out.push(`note: ${note}`);
	const disagreed = Object.entries(r).flatMap(([name, v]) => (Array.isArray(v) ? v.map((x, i) => [`${name}[${i}]`, x] as const) : [[name, v] as const])).filter(([, v]) => !v.agreed);
	if (disagreed.length)
		out.push(`note: no two collections agreed for ${disagreed.map(([name]) => name).join(", ")}: the smallest of three is shown`);
	return `${out.join("\n")}\n`;
}

/* ------------------------------------------------------------- command */

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
		const count = (name: string) => {
			const text = value();
			const n = Number(text);
			if (!Number.isInteger(n) || n < 1)
				throw new Error(`${name} takes a positive whole number, not "${text ?? ""}"`);
			return n;
		};
		switch (flag) {
			case "--help": case "-h": return "help";
			case "--target": case "-t": {
				const name = value();
				if (name !== "sim" && name !== "lwip")
					throw new Error(`bench memory reads XS heaps through the simulator's debug build: --target sim (or lwip with --churn), not "${name ?? ""}"`);
				target = name;
				break;
			}
			case "--churn": churn = count("--churn"); break;
			case "--device":
				throw new Error("bench memory runs on the simulator (--target sim); a board's heaps show in xsbug's instruments");
			case "--clients": case "-c": settings.clients = count("--clients"); break;
			case "--rounds": settings.faultRounds = count("--rounds"); break;
			case "--no-blocked": settings.blocked = false; break;
			case "--json": json = true; break;
			case "--config": configArgs.push(value() ?? ""); break;
			default:
				if (arg === "memory" && !seen)
					seen = true;
				else if (/^\w+=/.test(arg))
					configArgs.push(arg);
				else
					throw new Error(`unknown argument "${arg}"`);
		}
	}
	if (target === "lwip" && churn === undefined)
		throw new Error("bench memory --target lwip runs the churn only: add --churn <n>");
	return { json, settings, config: checkedConfig(configArgs), target, ...(churn !== undefined ? { churn } : {}) };
}

export async function runMemoryBench(argv: string[]): Promise<number> {
	const options = argumentsOr(parseMemoryArgs, argv, memoryUsage);
	if (typeof options === "number")
		return options;
	const status = (text: string) => {
		if (process.stderr.isTTY)
			process.stderr.write(`${text}\n`);
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
		const keys = Object.entries(config).filter(([key]) => !/Port$/.test(key)).map(([key, value]) => `${key}=${value}`);
		result.notes.unshift(`device config beyond the defaults: ${keys.join(" ")}${config.wsHeartbeat === "0" ? " (the blocked clients read nothing, so they could answer no ping)" : ""}`);
		process.stdout.write(options.json ? `${JSON.stringify(result, (_, v) => (v === Infinity ? null : v), 2)}\n` : renderMemoryTable(result));
		return 0;
	}
	finally {
		process.off("SIGINT", onSignal);
		process.off("SIGTERM", onSignal);
		await memory?.stop();
	}
}
