// The app's XS heaps on the simulator's debug build, read through the xsbug
// protocol after a forced full garbage collection (XsbugLogServer
// .collectGarbage: <step/> to the idle machine, whose break collects and
// samples before it is answered with go). The figures go to the output; the
// checks: connections show in the heaps while open, and once the device has
// closed them after faults (resets mid-frame and mid-stream, clients gone
// without a Close, a half-close) the heaps are back where they were.
//
// The app runs as a user's board boots it, with every default service the
// simulator can run: the TCP and UDP echo, the WebSocket echo, the page
// (GET /, /routes.json), the log route, and the clock (the SNTP client,
// which the simulator's platform config leaves off, against an SNTP server
// of the harness's, idle once it has set the clock). The broadcast route is
// off by default; mDNS cannot run on the simulator (its UDP socket cannot
// join a group: docs/measurements.md).
//
// Tolerance: none. A first round of the fault cases warms up; the second
// round is measured case by case against the reading before it and must not
// end higher, in live slots or chunk bytes. Measured (host-harness bench
// memory, repeated runs): two rounds of these cases end on exactly the same
// slots and chunk bytes, and "Keys used" stays put, so no allowance for
// interned keys is needed. What may stay above idle after the first
// connections is constant, not growing: a server can keep its last closed
// connection reachable until its next accept (measured once: WS 157 slots +
// 504 chunk bytes, TCP 48 slots + 1584, its echo buffer); the warm-up round
// pays for that. Measured with every default service on (the clock too):
// idle 565 slots and 1744 chunk bytes; the warm-up round ends 4 slots and
// 904 chunk bytes above them (the WebSocket server's frame scratch grown
// once to its 1 KiB: websocket/frame-writer) and stays there. A connection
// left behind by a case costs 41 to 198 slots, far above the zero tolerance.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { boardSlotSize, delta, type HeapReading } from "../../host-harness/bench/heap.js";
import {
	closeTcp,
	closeWs,
	drainInFlight,
	faultRound,
	type MemoryDevice,
	memoryDeviceConfig,
	openIdleTcp,
	openIdleWs,
	runFault,
	sendInFlight,
	startMemoryDevice,
} from "../../host-harness/bench/memory-device.js";
import { planTiers } from "../../host-harness/device/tiers.js";

const plan = planTiers();
const runs = plan.tiers.some(t => t.target === "sim");
if (!runs)
	console.log(
		`sim memory suite skipped: ${plan.skipped.find(line => line.startsWith("sim tier"))?.replace(/^sim tier skipped: /, "") ?? `TARGETS=${process.env.TARGETS ?? ""} leaves out the simulator`}`,
	);

const clients = 4;

/*
 * The idle app, in live slots: what its services cost before their first
 * client (docs/measurements.md has them one by one). A server holds no
 * timer, closure or buffer that only its clients need: those come with its
 * first client and go with its last. Measured at 565 when it was set.
 */
const IDLE_SLOT_BUDGET = 600;

/*
 * Per-connection budgets, in live slots on the simulator (16 bytes each on
 * an ESP32): what the packed state in the connections buys
 * (websocket/connection's flags, tcp/connection's one reference for a
 * handler that is also the owner, the echo's state in one number). Unpack
 * one of them and the connection costs more than its budget: the figures
 * measured when the budgets were set (30 slots per idle WebSocket
 * connection, 28 per TCP connection) plus 10%. A server's timer, made at
 * its first connection and cleared at its last, counts in them: under one
 * slot per connection of 4 (modules/timer-target: no closure).
 */
const WS_SLOT_BUDGET = 33;
const TCP_SLOT_BUDGET = 30;
const settle = () => new Promise(resolve => setTimeout(resolve, 300));

function figure(label: string, d: { slots: number; chunk: number }): string {
	const slots = Math.round(d.slots * 10) / 10;
	return `${label}: ${slots} slots (${Math.round(d.slots * boardSlotSize)} B on esp32), ${Math.round(d.chunk)} chunk B`;
}

describe.skipIf(!runs)("XS heaps on the simulator's debug build, after forced full collections", () => {
	let memory: MemoryDevice;
	let idle: HeapReading;

	beforeAll(async () => {
		memory = await startMemoryDevice(await memoryDeviceConfig(clients), { clock: true });
	}, 180_000);

	afterAll(async () => {
		await memory?.stop();
	});

	it("forces a full collection on the idle machine and reads its live heaps", async () => {
		const forced = await memory.server.collectGarbage();
		expect(forced.breakMessage).toBe("C: xsDebugger"); // broke from idle, not in the middle of a callback
		idle = await memory.probe.read();
		expect(idle.agreed).toBe(true);
		expect(idle.slots).toBeGreaterThan(0);
		expect(idle.chunk).toBeGreaterThan(0);
		expect(idle.slots, "live slots of the idle app").toBeLessThanOrEqual(IDLE_SLOT_BUDGET);
		console.log(
			`XS heaps on the simulator (${memory.machine.version}): ${figure("idle app with its default services (echoes, page, log route, clock)", idle)}`,
		);
	});

	it("sees idle WebSocket and TCP connections in the heaps, and an in-flight 64 KiB message", async () => {
		const server = memory.server;
		let since = server.mark();
		const ws = await openIdleWs(memory.device.endpoints.ws!, clients);
		await settle();
		const withWs = await memory.probe.read();
		const { messages, receivedWhole } = await sendInFlight(server, ws, 64 * 1024);
		await settle();
		const inFlight = await memory.probe.read();
		await drainInFlight(ws, messages);
		await closeWs(server, ws, since);
		await settle();
		const afterWs = await memory.probe.read();

		since = server.mark();
		const tcp = await openIdleTcp(memory.device.endpoints.tcp!, clients);
		await settle();
		const withTcp = await memory.probe.read();
		await closeTcp(server, tcp, since);

		const perWs = delta(withWs, idle, clients);
		const perTcp = delta(withTcp, afterWs, clients);
		const perMessage = delta(inFlight, withWs, clients);
		console.log(
			[
				figure(`per idle WS connection (of ${clients})`, perWs),
				figure(`per idle TCP connection (of ${clients})`, perTcp),
				`${figure(`per in-flight 64 KiB WS message (of ${clients})`, perMessage)}; the device read ${receivedWhole} of ${clients} whole while their clients read nothing`,
			].join("\n"),
		);
		expect(perWs.slots).toBeGreaterThan(0);
		expect(perTcp.slots).toBeGreaterThan(0);
		expect(perWs.slots, "live slots per idle WebSocket connection").toBeLessThanOrEqual(WS_SLOT_BUDGET);
		expect(perTcp.slots, "live slots per idle TCP connection").toBeLessThanOrEqual(TCP_SLOT_BUDGET);
		// The echo streams: a message in flight costs at most the write queue, never the message.
		expect(perMessage.chunk).toBeLessThan(8 * 1024);
	}, 60_000);

	it("returns to the heaps it had before each fault case, once the device has closed its connections", async () => {
		for (const fault of faultRound()) await runFault(memory, fault);
		const warm = await memory.probe.read();
		const outcomes: { name: string; slots: number; chunk: number }[] = [];
		let before = warm;
		for (const fault of faultRound()) {
			await runFault(memory, fault);
			const after = await memory.probe.read();
			const d = delta(after, before);
			outcomes.push({ name: fault.name, slots: d.slots, chunk: d.chunk });
			before = after;
		}
		console.log(
			[
				figure("after the warm-up fault round - idle", delta(warm, idle)),
				...outcomes.map(o => figure(`round 2, ${o.name}: after - before`, o)),
				figure("after round 2 - after the warm-up round", delta(before, warm)),
			].join("\n"),
		);
		const higher = outcomes.filter(o => o.slots > 0 || o.chunk > 0);
		expect(higher, "fault cases that left the heaps higher than before them").toEqual([]);
		expect(before.slots).toBeLessThanOrEqual(warm.slots);
		expect(before.chunk).toBeLessThanOrEqual(warm.chunk);
	}, 90_000);
});
