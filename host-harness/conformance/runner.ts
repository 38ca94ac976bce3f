/*
 * runConformance(url, options): the suite against a WebSocket echo server
 * (ws://, or wss:// trusting options.ca).
 * Each case runs on its own connection, then a fresh client must get a text
 * echo and a clean close (a case that leaves the server unable to serve
 * fails). Cases run `concurrency` at a time (keep it within the server's
 * client limit: each case holds at most one connection at a time).
 */
import { unreachable } from "../device/reach.js";
import type { Case, CaseContext, Scale, SuiteOptions } from "./case.js";
import { allCases } from "./cases/index.js";
import { freshClientProblem } from "./execute.js";
import { type Grade, informational } from "./grades.js";
import { caseWireLogs, type WireEntry, type WireLog } from "./wire-log.js";

export interface ConformanceOptions {
	/** Categories ("6") or id prefixes ("6.4", "7.9.1") to run; default all. */
	only?: string[];
	/** The server's whole-message limit (1009 beyond); omit for a streaming server that echoes any size. */
	maxMessage?: number;
	/** "small" for the Moddable simulator (~0.1 MB/s): messages up to 64 KiB, fewer round trips, longer waits. */
	scale?: Scale;
	/** Message sizes for the limits cases (default by scale). */
	sizes?: number[];
	/** Messages per round-trip case, 9.7/9.8 (default 250, small 25). */
	roundTrips?: number;
	/** Cases at once (default 1). */
	concurrency?: number;
	/** Budget for each wait inside a case (ms; default 5000, small 15000). */
	caseTimeoutMs?: number;
	/** How soon the server must close after the byte that made the input invalid (ms; default 1000, small 2000). */
	failFastMs?: number;
	onResult?: (result: CaseResult) => void;
	/** Stop taking new cases once aborted (Ctrl-C): the run ends with RunStopped holding the results so far. */
	signal?: AbortSignal;
	/** wss://: the CA (PEM) the server's certificate must chain to. */
	ca?: string | Buffer;
}

/** The run ended before every case: what was done is in `results`. */
export class RunStopped extends Error {
	constructor(
		message: string,
		readonly results: CaseResult[],
	) {
		super(message);
	}
}

/** The server stopped accepting connections during the run: the run stops rather than fail every case left. */
export class ServerGone extends RunStopped {}

export interface CaseResult {
	id: string;
	category: string;
	description: string;
	passed: boolean;
	/** What happened, e.g. "echo ok, open, close 1000 answered", "close 1002", "HTTP 426". */
	observed: string;
	expected: string;
	ms: number;
	/** Autobahn's grade (grades.ts); passed is grade OK or INFORMATIONAL. */
	grade: Grade;
	/** Why the grade, when not OK. */
	why?: string;
	/** Each connection of the case: what crossed the wire (wire-log.ts). */
	wire?: { entries: WireEntry[]; dropped: number }[];
}

export const DEFAULT_SIZES: Record<Scale, number[]> = {
	full: [65536, 262144, 1 << 20, 4 << 20],
	small: [1024, 4096, 16384, 65536],
};

export function suiteOptions(options: ConformanceOptions = {}): SuiteOptions {
	const scale = options.scale ?? "full";
	const cap = scale === "small" ? 65536 : Infinity;
	return {
		scale,
		maxMessage: options.maxMessage,
		sizes: (options.sizes ?? DEFAULT_SIZES[scale]).map(n => Math.min(n, cap)),
		roundTrips: options.roundTrips ?? (scale === "small" ? 25 : 250),
	};
}

/** The cases `options` select, in suite order. */
export function selectCases(options: ConformanceOptions = {}): Case[] {
	const cases = allCases(suiteOptions(options));
	const only = options.only?.map(o => o.trim()).filter(Boolean);
	if (!only?.length) return cases;
	return cases.filter(c => only.some(o => c.id === o || c.id.startsWith(`${o}.`) || c.category.toLowerCase() === o.toLowerCase()));
}

export async function runConformance(url: string, options: ConformanceOptions = {}): Promise<CaseResult[]> {
	const target = new URL(url);
	if (target.protocol !== "ws:" && target.protocol !== "wss:") throw new Error(`expected a ws:// or wss:// URL, got ${url}`);
	if (target.protocol === "wss:" && !options.ca) throw new Error(`${url}: wss:// needs the CA to trust (ca)`);
	const small = options.scale === "small";
	const context: CaseContext = {
		url: target,
		...(target.protocol === "wss:" ? { tls: { ca: options.ca! } } : {}),
		timeoutMs: options.caseTimeoutMs ?? (small ? 15000 : 5000),
		failFastMs: options.failFastMs ?? (small ? 2000 : 1000),
	};
	const cases = selectCases(options);
	const before = await unreachable(target);
	if (before) throw new ServerGone(`no server at ${url}: ${before}`, []);
	const results: CaseResult[] = new Array(cases.length);
	let next = 0;
	let gone: string | undefined;
	const worker = async () => {
		while (next < cases.length && !gone && !options.signal?.aborted) {
			const index = next++;
			const result = await runCase(cases[index], context);
			// A failed case may be the server gone: if nothing accepts a connection any more, stop here.
			if (!result.passed && !gone) {
				const why = await unreachable(target);
				if (why) {
					gone ??= `the server at ${url} went away during case ${result.id} (${results.filter(Boolean).length + 1}/${cases.length}): ${why}`;
					return;
				}
			}
			results[index] = result;
			options.onResult?.(result);
		}
	};
	await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, worker));
	if (gone) throw new ServerGone(gone, results.filter(Boolean));
	if (options.signal?.aborted) throw new RunStopped("interrupted (Ctrl-C)", results.filter(Boolean));
	return results;
}

async function runCase(c: Case, context: CaseContext): Promise<CaseResult> {
	const started = Date.now();
	let passed: boolean,
		observed: string,
		late = false;
	const wires: WireLog[] = [];
	try {
		({ passed, observed, late = false } = await caseWireLogs.run(wires, () => c.run(context)));
	} catch (e) {
		passed = false;
		observed = `error: ${(e as Error).message}`;
	}
	const ms = Date.now() - started;
	const problem = await freshClientProblem(context, c.id);
	if (problem) {
		passed = false;
		late = false;
		observed += `; ${problem}`;
	}
	let grade: Grade = passed ? "OK" : late ? "NON-STRICT" : "FAILED";
	let why = late ? "the right Close, but not fail-fast" : undefined;
	// Informational: recorded, not judged, unless a rule was broken or the server was left unable to serve.
	if (informational[c.id] && !problem && !/server broke a rule|^error:/.test(observed)) {
		grade = "INFORMATIONAL";
		why = informational[c.id];
		passed = true;
	}
	const wire = wires.map(w => ({ entries: w.entries, dropped: w.dropped }));
	return { id: c.id, category: c.category, description: c.description, passed, observed, expected: c.expected, ms, grade, ...(why ? { why } : {}), wire };
}
