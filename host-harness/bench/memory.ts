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

import { schema } from "../../app/config-schema.js";
import { simBuildDir } from "../device/sim.js";
import { boardSlotSize, type Creation, creationFromBuild, delta, esp32DefaultCreation, type HeapDelta, type HeapReading } from "./heap.js";
import {
	closeTcp,
	closeWs,
	drainInFlight,
	dropWs,
	faultRound,
	type MemoryDevice,
	openIdleTcp,
	openIdleWs,
	runFault,
	sendInFlight,
	sendUntilBlocked,
	settleAfterCloseMs,
	sleep,
	tcpEndpoint,
	wsUrl,
} from "./memory-device.js";
import { KiB } from "./stats.js";

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
			boardBytes: Math.round(
				idle.slots * boardSlotSize +
					idle.chunk +
					schema.wsMaxClients.default * (perWs.slots * boardSlotSize + perWs.chunk) +
					schema.tcpMaxClients.default * (perTcp.slots * boardSlotSize + perTcp.chunk),
			),
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
		notes.push(
			`in flight: the device read each ${settings.messageSize}-byte message whole while its client read nothing: the echo streams (at most its write queue held at once), the rest waited in socket buffers outside the XS heap`,
		);
	else
		notes.push(
			`in flight: the device read ${receivedWhole} of ${n} messages whole while their clients read nothing; the others were held back by the echo's flow control`,
		);

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
		if (!held.every(Boolean)) notes.push(`blocked: ${held.filter(b => !b).length} of ${n} clients sent their cap without the device stopping to read`);
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

/* ------------------------------------------------------------- command */
