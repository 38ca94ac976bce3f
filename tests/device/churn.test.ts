// Churn: CHURN_CONNECTIONS connections (default 500) through every service
// of the kit's app with its default services on, the broadcast route and
// the upload routes too (off by default: httpUpload, a body in pieces, whole,
// and reset mid-body) and the clock (the simulator's platform config leaves it
// off): the echo route, the broadcast route, the log route, the page and
// routes.json, the TCP and UDP echo, each ended in every way a connection
// ends (host-harness/bench/churn-cases.ts), several at once. Then, after
// forced full collections, the device holds nothing more than after a
// warm-up round: its XS heaps exactly, and every set, map and follower
// empty (the WebSocket server's sockets and handshakes, each route's count
// and laggards, the TCP server's served and waiting, the log's follower),
// read through xsbug on the debug build (host-harness/bench/census.ts:
// nothing of it on a board, nothing open to a network). On the simulator,
// and on the lwip tier (the simulator over lwIP, its xsbug connection
// relayed out of its namespace).
//
// Tolerance: none, against the heaps after the warm-up round (each case
// once, then the closing sequence every round ends with, so that a server's
// last closed connection, should it stay reachable until its next accept,
// is the same one after every round). What the warm-up leaves above the
// idle app is constant, not growing: measured +6 slots and 880 to 904 chunk
// bytes on the lwip tier, most of it the WebSocket server's frame scratch, grown
// to its largest at the first frame over 123 bytes (the page's answers are
// made per request: nothing of them is kept), and the upload routes'
// CRC-32 table (1 KB, made at the first body; churnDeviceConfig turns the
// routes on). Measured over churns of 200
// and 1000 connections on both tiers: the heaps end on exactly the
// warm-up's slots and chunk bytes (1000 connections in 57 s on the
// simulator, 56 s on lwip; idle 592 slots on the lwip tier with the census
// list, the broadcast route and the clock).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { heldBeyondIdle } from "../../host-harness/bench/census.js";
import { type ChurnResult, churnDeviceConfig, defaultChurnConnections, measureChurn, renderChurn } from "../../host-harness/bench/churn.js";
import { type MemoryDevice, startMemoryDevice } from "../../host-harness/bench/memory-device.js";
import { planTiers } from "../../host-harness/device/tiers.js";

const plan = planTiers();
// On lwip alone: the simulator's debug build over lwIP, a board's socket semantics (a FIN, a reset) with the
// same XS heaps; sim-memory holds the plain simulator's heaps after its fault rounds.
const tiers = (["lwip"] as const).filter(name => plan.tiers.some(t => t.name === name));
for (const name of ["lwip"] as const) {
	if (!tiers.includes(name))
		console.log(
			`churn on ${name} skipped: ${plan.skipped.find(line => line.startsWith(`${name} tier`))?.replace(/^\w+ tier skipped: /, "") ?? `TARGETS=${process.env.TARGETS ?? ""} leaves it out`}`,
		);
}

// 500 in npm test (half the command's default): the heaps end on the warm-up's slots from 200 on.
const connections = Number(process.env.CHURN_CONNECTIONS) || defaultChurnConnections / 2;

// Without the lwip tier the file still holds a (skipped) case: the line above says why.
if (!tiers.length) it.skip("churn: no tier to run it on here", () => {});

describe.each(tiers)("churn on %s's debug build: every service, every end, then nothing held", tier => {
	let memory: MemoryDevice;
	let result: ChurnResult;

	beforeAll(async () => {
		memory = await startMemoryDevice(await churnDeviceConfig(), { census: true, clock: true, target: tier });
	}, 240_000);

	afterAll(async () => {
		await memory?.stop();
	});

	it(`runs ${connections} connections through every service and end`, async () => {
		result = await measureChurn(memory, connections);
		console.log(renderChurn(result, tier));
		expect(result.warmUp.round.failures, "runs of the warm-up round that failed").toEqual([]);
		expect(result.churn.round.failures, "runs of the churn that failed").toEqual([]);
		expect(result.churn.round.connections).toBeGreaterThanOrEqual(connections * 0.9);
	}, 600_000);

	it("holds no connection in any set or map the libraries or the app keep", () => {
		expect(result, "the churn ran").toBeDefined();
		expect(heldBeyondIdle(result.idleCensus), "held at idle").toEqual([]);
		expect(heldBeyondIdle(result.warmUp.census), "held after the warm-up").toEqual([]);
		expect(heldBeyondIdle(result.churn.census), "held after the churn").toEqual([]);
	});

	it("ends on exactly the heaps it had after the warm-up round", () => {
		expect(result, "the churn ran").toBeDefined();
		expect(result.churn.heap.agreed && result.warmUp.heap.agreed, "two collections in a row agreed").toBe(true);
		expect(result.churn.heap.slots, "live slots after the churn, against after the warm-up").toBe(result.warmUp.heap.slots);
		expect(result.churn.heap.chunk, "live chunk bytes after the churn, against after the warm-up").toBe(result.warmUp.heap.chunk);
	});
});
