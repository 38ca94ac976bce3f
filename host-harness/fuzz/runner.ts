/*
 * runFuzz(): seeded cases against a device's servers, with bounded
 * concurrency per service (the WebSocket server serves 4 clients at once by
 * default and keeps 2 spare sockets to answer 503; the TCP echo serves 2
 * with a backlog of 1), every mismatch recorded with what replays it (run
 * seed and case index), and every `healthEvery` cases, with nothing else
 * in flight, a check that a fresh client is still served on every service.
 */

import type { Endpoints } from "../device/targets.js";
import { freshClientsServed } from "../oracle/health.js";
import { type CaseKind, caseKinds, describeCase, type FuzzCase } from "./case.js";
import { defaultWeights, generateCase } from "./generate.js";
import type { HttpRouteTable } from "./http-oracle.js";
import { randomSeed } from "./prng.js";
import { runTcpCase, runUdpCase } from "./run-echo.js";
import { runHandshakeCase, runWsCase, type Verdict, type WsContext } from "./run-ws.js";

export type Service = "ws" | "tcp" | "udp";

const serviceOf = (kind: CaseKind): Service => (kind === "handshake" ? "ws" : kind);

export interface FuzzOptions {
	endpoints: Endpoints;
	/** Default: a random seed (reported, so the run replays). */
	seed?: number;
	/** Cases to run (indices 0..cases-1). */
	cases: number;
	/** Cases at once, per service or for all (default ws 3, tcp 2, udp 4). */
	concurrency?: number | Partial<Record<Service, number>>;
	/** Kinds of case to run (default: every kind the endpoints allow). */
	only?: CaseKind[];
	/** Relative share of each kind (default ws 5, handshake 2, tcp 2, udp 1). */
	weights?: Partial<Record<CaseKind, number>>;
	/** Replay: run only these case indices. */
	indices?: number[];
	/** "small" for the simulator (payloads up to 4 KiB). Default "full". */
	scale?: "full" | "small";
	/** Budget for each wait within a case (ms). Default 5000. */
	timeoutMs?: number;
	/** The device's wsHandshakeTimeout (ms). Default 5000, the device's own default. */
	handshakeTimeoutMs?: number;
	/** The device pings its WebSocket clients on its own (wsHeartbeat on). Default false. */
	heartbeat?: boolean;
	/** The device's plain HTTP routes (http-oracle appHttpRoutes(its config)): requests on them are generated and judged. Default: the page only, not generated. */
	httpRoutes?: HttpRouteTable;
	/** A fresh client must be served every this many cases (0: never). Default 250. */
	healthEvery?: number;
	/** How long a health check keeps trying (refused, reset, 503) before it fails (ms). Default max(10 s, 2 × timeoutMs). */
	healthWithinMs?: number;
	/** Longest pause between two writes of a case (ms). Default 3. */
	maxDelayMs?: number;
	/** Keep at most this many mismatches (all are counted). Default 200. */
	keepMismatches?: number;
	onProgress?: (progress: FuzzProgress) => void;
}

export interface FuzzProgress {
	done: number;
	total: number;
	mismatches: number;
	/** The case just finished. */
	last: { index: number; kind: CaseKind; ok: boolean; ms: number };
}

export interface Mismatch {
	index: number;
	kind: CaseKind;
	/** The run seed: `--seed <seed> --case <index>` replays this case. */
	seed: number;
	caseSeed: number;
	description: string;
	problem: string;
	sent: string;
	expected: string;
	observed: string;
}

export interface FuzzReport {
	seed: number;
	cases: number;
	counts: Record<CaseKind, number>;
	/** Time spent in cases of each kind, summed over concurrent cases (ms): where a run's time goes. */
	busyMs: Record<CaseKind, number>;
	mismatchCount: number;
	mismatches: Mismatch[];
	healthChecks: number;
	healthFailures: string[];
	ms: number;
	options: { only: CaseKind[]; scale: "full" | "small"; concurrency: Record<Service, number> };
}

/** The kinds a set of endpoints can serve. */
export function kindsFor(endpoints: Endpoints): CaseKind[] {
	return caseKinds.filter(kind => !!endpoints[serviceOf(kind)]);
}

/** Run cases with at most `limit` at once. */
async function pool<T>(items: T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
	let next = 0;
	const worker = async () => {
		while (next < items.length) await run(items[next++]);
	};
	await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
	const started = Date.now();
	const seed = options.seed ?? randomSeed();
	const { endpoints } = options;
	const only = (options.only ?? kindsFor(endpoints)).filter(k => kindsFor(endpoints).includes(k));
	if (!only.length) throw new Error(`no case kind to run: the endpoints offer ${kindsFor(endpoints).join(", ") || "nothing"}`);
	const weights: Partial<Record<CaseKind, number>> = {};
	for (const kind of only) weights[kind] = options.weights?.[kind] ?? defaultWeights[kind];
	const c = options.concurrency;
	const concurrency: Record<Service, number> = typeof c === "number" ? { ws: c, tcp: c, udp: c } : { ws: c?.ws ?? 3, tcp: c?.tcp ?? 2, udp: c?.udp ?? 4 };
	const scale = options.scale ?? "full";
	const timeoutMs = options.timeoutMs ?? 5000;
	const url = endpoints.ws ? new URL(endpoints.ws) : undefined;
	const context: WsContext | undefined = url && {
		url,
		timeoutMs,
		handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5000,
		heartbeat: options.heartbeat ?? false,
		httpRoutes: options.httpRoutes,
	};
	const generate = (index: number) =>
		generateCase(seed, index, {
			weights,
			scale,
			wsHost: url?.host ?? "",
			wsPath: url?.pathname ?? "/",
			maxDelayMs: options.maxDelayMs ?? 3,
			httpRoutes: options.httpRoutes,
		});
	const indices = options.indices ?? Array.from({ length: options.cases }, (_, i) => i);
	const report: FuzzReport = {
		seed,
		cases: 0,
		counts: { ws: 0, handshake: 0, tcp: 0, udp: 0 },
		busyMs: { ws: 0, handshake: 0, tcp: 0, udp: 0 },
		mismatchCount: 0,
		mismatches: [],
		healthChecks: 0,
		healthFailures: [],
		ms: 0,
		options: { only, scale, concurrency },
	};
	const keep = options.keepMismatches ?? 200;

	const runOne = async (testCase: FuzzCase): Promise<void> => {
		let verdict: Verdict;
		const begun = Date.now();
		try {
			verdict = await runCase(testCase);
		} catch (e) {
			verdict = { problem: `harness error: ${(e as Error).stack ?? e}`, sent: "", expected: "", observed: "" };
		}
		report.cases++;
		report.counts[testCase.kind]++;
		const ms = Date.now() - begun;
		report.busyMs[testCase.kind] += ms;
		if (verdict.problem !== undefined) {
			report.mismatchCount++;
			if (report.mismatches.length < keep)
				report.mismatches.push({
					index: testCase.index,
					kind: testCase.kind,
					seed,
					caseSeed: testCase.seed,
					description: describeCase(testCase),
					...verdict,
					problem: verdict.problem,
				});
		}
		options.onProgress?.({
			done: report.cases,
			total: indices.length,
			mismatches: report.mismatchCount,
			last: { index: testCase.index, kind: testCase.kind, ok: verdict.problem === undefined, ms },
		});
	};
	const runCase = (testCase: FuzzCase): Promise<Verdict> => {
		switch (testCase.kind) {
			case "ws":
				return runWsCase(testCase, context!);
			case "handshake":
				return runHandshakeCase(testCase, context!);
			case "tcp":
				return runTcpCase(testCase, endpoints.tcp!, timeoutMs);
			case "udp":
				return runUdpCase(testCase, endpoints.udp!, Math.min(timeoutMs, 3000));
		}
	};

	const every = options.healthEvery ?? 250;
	const batch = every > 0 ? every : indices.length;
	for (let from = 0; from < indices.length; from += batch) {
		const cases = indices.slice(from, from + batch).map(generate);
		await Promise.all(
			(["ws", "tcp", "udp"] as const).map(service =>
				pool(
					cases.filter(k => serviceOf(k.kind) === service),
					concurrency[service],
					runOne,
				),
			),
		);
		if (every > 0) {
			report.healthChecks++;
			try {
				await freshClientsServed(endpoints, { withinMs: options.healthWithinMs ?? Math.max(10_000, timeoutMs * 2), echoTimeoutMs: timeoutMs });
			} catch (e) {
				report.healthFailures.push(`after case ${indices[Math.min(indices.length, from + batch) - 1]}: ${(e as Error).message}`);
			}
		}
	}
	report.ms = Date.now() - started;
	return report;
}

/** A mismatch in a few lines: what replays it, what was sent, expected and seen. */
export function formatMismatch(m: Mismatch): string {
	return [
		`${m.description}  [replay: --seed ${m.seed} --case ${m.index}]`,
		`  problem:  ${m.problem}`,
		`  sent:     ${m.sent}`,
		`  expected: ${m.expected}`,
		`  observed: ${m.observed}`,
	].join("\n");
}
