/*
 * Generators of raw echo cases: TCP payloads of random sizes (nothing at
 * all, a few bytes, a few KB; more on request) written in random pieces,
 * and UDP datagrams of 1..1472 bytes (one Ethernet MTU of payload; the
 * simulator drops empty datagrams and truncates at 2048, so neither is sent).
 */

import type { TcpCase, UdpCase } from "./case.js";
import type { Rng } from "./prng.js";
import { writePlan } from "./ws-cases.js";

export interface EchoGenOptions {
	/** Largest TCP payload. */
	maxTcp: number;
	maxDelayMs: number;
}

/** Random bytes, or a pattern a byte-shifting echo would garble visibly. */
function payload(rng: Rng, size: number): Buffer {
	if (rng.chance(0.8)) return rng.bytes(size);
	const out = Buffer.allocUnsafe(size);
	for (let i = 0; i < size; i++) out[i] = i & 0xff;
	return out;
}

export function tcpCase(rng: Rng, index: number, seed: number, options: EchoGenOptions): TcpCase {
	const [low, high] = rng.weighted<[number, number]>([
		[[0, 0], 5],
		[[1, 100], 35],
		[[101, 2000], 35],
		[[2001, 8000], 20],
		[[8001, 65536], 5],
	]);
	const size = Math.min(options.maxTcp, rng.int(low, high));
	const data = payload(rng, size);
	return { kind: "tcp", index, seed, payload: data, writes: writePlan(rng, size, options.maxDelayMs), finEarly: rng.chance(0.4) };
}

export function udpCase(rng: Rng, index: number, seed: number): UdpCase {
	const size = rng.weighted<number>([
		[1, 5],
		[rng.int(2, 64), 40],
		[rng.int(65, 1400), 40],
		[rng.int(1401, 1472), 10],
		[1472, 5],
	]);
	return { kind: "udp", index, seed, payload: payload(rng, size) };
}
