/*
 * Case number `index` of run `seed`: its kind and content, from its own
 * generator, so any case regenerates alone (replay) and two runs with the
 * same seed and options send the same bytes.
 */

import type { CaseKind, FuzzCase } from "./case.js";
import { tcpCase, udpCase } from "./echo-cases.js";
import { handshakeCase } from "./handshake-cases.js";
import type { HttpRouteTable } from "./http-oracle.js";
import { caseSeed, Rng } from "./prng.js";
import { wsCase } from "./ws-cases.js";

export interface GenerateOptions {
	/** Kinds to generate, with their relative weights. */
	weights: Partial<Record<CaseKind, number>>;
	/** "small" for the simulator: payloads up to 4 KiB, so a case takes a few of its 20 ms polls. */
	scale: "full" | "small";
	/** "host:port" and path of the WebSocket server (the handshake cases' Host and target). */
	wsHost: string;
	wsPath: string;
	/** Longest pause between two writes of a case (ms). */
	maxDelayMs: number;
	/** The server's plain HTTP routes (http-oracle appHttpRoutes()): some handshake cases are requests on them. */
	httpRoutes?: HttpRouteTable;
}

export const defaultWeights: Record<CaseKind, number> = { ws: 5, handshake: 2, tcp: 2, udp: 1 };

export function generateCase(seed: number, index: number, options: GenerateOptions): FuzzCase {
	const own = caseSeed(seed, index);
	const rng = new Rng(own);
	const kinds = Object.entries(options.weights).filter(([, w]) => (w ?? 0) > 0) as [CaseKind, number][];
	if (!kinds.length) throw new Error("no case kind to generate");
	const kind = rng.weighted(kinds);
	const small = options.scale === "small";
	switch (kind) {
		case "ws":
			return wsCase(rng, index, own, { maxPayload: small ? 4096 : 100_000, maxDelayMs: options.maxDelayMs });
		case "handshake":
			return handshakeCase(rng, index, own, {
				host: options.wsHost,
				path: options.wsPath,
				maxDelayMs: options.maxDelayMs,
				httpRoutes: options.httpRoutes,
				maxBody: small ? 4096 : 20_000,
			});
		case "tcp":
			return tcpCase(rng, index, own, { maxTcp: small ? 4096 : 65536, maxDelayMs: options.maxDelayMs });
		case "udp":
			return udpCase(rng, index, own);
	}
}
