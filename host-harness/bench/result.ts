/*
 * A benchmark run as data, and how it is run: BenchResult (metrics with
 * device, reference and ratio; throughput by message size; round-trip
 * samples; notes), what --json prints; ResultBuilder, which fills it; and
 * BenchContext, which runs each measurement, records a failure as a note
 * instead of aborting the run, and shows a progress line on a terminal.
 * Shown by report.ts (text, Markdown, HTML) and charts.ts (SVG).
 */

import * as os from "node:os";
import type { TargetName } from "../device/targets.js";
import type { Protocol } from "./reference.js";
import { type Better, formatBytes, formatCount, formatMs, mbPerSecond, now, ratio, significant } from "./stats.js";

export type Side = "device" | "reference";
export const sides: readonly Side[] = ["device", "reference"];

export type Unit = "MB/s" | "msg/s" | "datagrams/s" | "ms" | "datagrams" | "clients";

export interface MetricSpec {
	/** Stable identifier, e.g. "tcp.throughput". */
	key: string;
	/** What was measured, for people: "throughput, 64 KiB writes". */
	label: string;
	unit: Unit;
	/** Which way is better; undefined for counts that are context (no ratio). */
	better?: Better;
}

export interface Metric extends MetricSpec {
	device?: number;
	reference?: number;
	/** The device as a fraction of the reference (1.0 = as good as the reference). */
	ratio?: number;
	/** The lowest and highest ratio of the single rounds, when the metric was measured in rounds: how far one run can be trusted. */
	spread?: [number, number];
	/** How each value came about: "64 MiB in 1.3 s". */
	detail?: Partial<Record<Side, string>>;
}

export interface SizePoint {
	/** Message, write or datagram size in bytes. */
	size: number;
	/** MB/s. */
	device?: number;
	reference?: number;
}

export interface BenchResult {
	kind: "xs-netkit-bench";
	version: 1;
	protocol: Protocol;
	target: TargetName;
	/** ISO time the run started. */
	started: string;
	/** Wall time of the whole run, seconds (device boot excluded). */
	seconds: number;
	host: { node: string; platform: string; cpus: number; cpu: string };
	peers: Record<Side, string>;
	/** The workload: the same for device and reference. */
	settings: Record<string, number | string>;
	/** How ratios read. */
	ratioMeaning: string;
	metrics: Metric[];
	throughputBySize: SizePoint[];
	/** Round-trip times of the round-trip phase, ms. */
	roundTrips: Partial<Record<Side, number[]>>;
	notes: string[];
}

export const ratioMeaning =
	"device as a fraction of the reference: throughput and rates device/reference, latency reference/device; 1.0 = as good as the reference";

/** Collects one run's numbers for both sides and computes the ratios at the end. */
export class ResultBuilder {
	readonly #metrics = new Map<string, Metric>();
	readonly #sizes = new Map<number, SizePoint>();
	readonly #roundTrips: Partial<Record<Side, number[]>> = {};
	readonly #perRound = new Map<string, Partial<Record<Side, number[]>>>();
	readonly #notes: string[] = [];
	readonly #started = new Date();
	readonly #t0 = now();

	constructor(
		readonly protocol: Protocol,
		readonly target: TargetName,
		readonly peers: Record<Side, string>,
		readonly settings: Record<string, number | string>,
	) {}

	/** Declare a metric (fixes its place in the table) without a value yet. */
	declare(spec: MetricSpec): void {
		if (!this.#metrics.has(spec.key)) this.#metrics.set(spec.key, { ...spec });
	}

	record(spec: MetricSpec, side: Side, value: number | undefined, detail?: string): void {
		this.declare(spec);
		const metric = this.#metrics.get(spec.key)!;
		if (value !== undefined && Number.isFinite(value)) metric[side] = value;
		if (detail) (metric.detail ??= {})[side] = detail;
	}

	/** A metric's value in each round (the pooled value is recorded with record()): the report shows the rounds' spread of ratios. */
	rounds(spec: MetricSpec, side: Side, values: readonly number[]): void {
		const entry = this.#perRound.get(spec.key) ?? {};
		entry[side] = [...values];
		this.#perRound.set(spec.key, entry);
	}

	size(size: number, side: Side, mbps: number | undefined): void {
		const point = this.#sizes.get(size) ?? { size };
		if (mbps !== undefined && Number.isFinite(mbps)) point[side] = mbps;
		this.#sizes.set(size, point);
	}

	roundTrips(side: Side, samples: readonly number[]): void {
		this.#roundTrips[side] = samples.map(v => Math.round(v * 10_000) / 10_000);
	}

	note(text: string): void {
		if (!this.#notes.includes(text)) this.#notes.push(text);
	}

	finish(): BenchResult {
		const metrics = [...this.#metrics.values()].map(m => {
			const out: Metric = { ...m, ratio: m.better ? ratio(m.device, m.reference, m.better) : undefined };
			const rounds = this.#perRound.get(m.key);
			if (m.better && rounds?.device && rounds.reference && rounds.device.length === rounds.reference.length && rounds.device.length > 1) {
				const ratios = rounds.device.map((d, i) => ratio(d, rounds.reference![i], m.better!)).filter((r): r is number => r !== undefined);
				if (ratios.length > 1) out.spread = [Math.min(...ratios), Math.max(...ratios)];
			}
			return out;
		});
		return {
			kind: "xs-netkit-bench",
			version: 1,
			protocol: this.protocol,
			target: this.target,
			started: this.#started.toISOString(),
			seconds: Math.round((now() - this.#t0) / 10) / 100,
			host: { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "?" },
			peers: this.peers,
			settings: this.settings,
			ratioMeaning,
			metrics,
			throughputBySize: [...this.#sizes.values()].sort((a, b) => a.size - b.size),
			roundTrips: this.#roundTrips,
			notes: [...this.#notes],
		};
	}
}

/* ---------------------------------------------------------------- running */

/** Counters a measurement keeps up to date, for the progress line. */
export interface Live {
	count: number;
	bytes: number;
	/** What count counts: "msgs", "datagrams". */
	unit: string;
}

export interface BenchContext {
	/**
	 * Run one measurement on one side. A failure becomes a note ("device:
	 * tcp throughput failed: …") and undefined, so the run goes on.
	 */
	phase<T>(builder: ResultBuilder, side: Side, label: string, work: (live: Live) => Promise<T>): Promise<T | undefined>;
}

export interface ContextOptions {
	/** Show a progress line (counts, bytes, rate) on this stream while each phase runs; omit for none. */
	progress?: NodeJS.WriteStream;
	/** Each finished phase in one line (for logs); omit for none. */
	log?: (line: string) => void;
}

export function createContext(options: ContextOptions = {}): BenchContext {
	return {
		async phase(builder, side, label, work) {
			const live: Live = { count: 0, bytes: 0, unit: "msgs" };
			const t0 = now();
			const out = options.progress;
			const show = () => {
				const seconds = (now() - t0) / 1000;
				const parts = [`${side.padEnd(9)} ${label}`, `${seconds.toFixed(1)} s`, `${formatCount(live.count)} ${live.unit}`];
				if (live.unit === "writes") parts.push(formatBytes(live.bytes), `${significant(mbPerSecond(live.bytes, seconds * 1000))} MB/s`);
				else if (seconds > 0) parts.push(`${formatCount(live.count / seconds)} ${live.unit}/s`, formatBytes(live.bytes));
				out!.write(`\r\x1b[K${parts.join("  ")}`);
			};
			const timer = out ? setInterval(show, 200) : undefined;
			timer?.unref();
			try {
				const result = await work(live);
				options.log?.(
					`${side} ${label}: ${formatCount(live.count)} ${live.unit}${live.bytes ? `, ${formatBytes(live.bytes)}` : ""} in ${formatMs(now() - t0)}`,
				);
				return result;
			} catch (e) {
				builder.note(`${side}: ${label} failed: ${(e as Error).message}`);
				options.log?.(`${side} ${label}: failed: ${(e as Error).message}`);
				return undefined;
			} finally {
				if (timer) {
					clearInterval(timer);
					out!.write("\r\x1b[K");
				}
			}
		},
	};
}

/**
 * Run one workload on both sides in `rounds` rounds, in ABBA order (device,
 * reference, then reference, device, …), so that a machine getting busier or
 * quieter during the run weighs on both alike. Each round should get
 * 1/rounds of the workload's budget. A side whose round fails is noted and
 * not run again: its parts are undefined.
 */
export async function alternate<T>(
	ctx: BenchContext,
	builder: ResultBuilder,
	label: string,
	rounds: number,
	work: (side: Side, live: Live) => Promise<T>,
	between?: () => Promise<void>,
): Promise<Record<Side, T[] | undefined>> {
	const parts: Record<Side, T[] | undefined> = { device: [], reference: [] };
	for (let round = 0; round < rounds; round++) {
		const order = round % 2 === 0 ? sides : [...sides].reverse();
		for (const side of order) {
			if (!parts[side]) continue;
			const text = rounds > 1 ? `${label} (round ${round + 1}/${rounds})` : label;
			const result = await ctx.phase(builder, side, text, live => work(side, live));
			if (result === undefined) parts[side] = undefined;
			else parts[side]!.push(result);
			await between?.();
		}
	}
	return parts;
}
