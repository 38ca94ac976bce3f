/*
 * Numbers for the benchmarks: a monotonic clock, percentiles, rates, the
 * device-to-reference ratio, histograms, and how each is written for people.
 *
 * Conventions used everywhere in host-harness/bench:
 * - times are milliseconds (floating point, from process.hrtime);
 * - MB is 10^6 bytes (MB/s), KiB/MiB are 2^10/2^20 (sizes);
 * - percentiles interpolate linearly between the two nearest ranks
 *   (numpy's default, "type 7"): p50 of [1, 2, 3, 4] is 2.5;
 * - a ratio is the device as a fraction of the reference, whichever way the
 *   metric goes: throughput device/reference, latency reference/device, so
 *   1.0 is "as good as Node" and 0.25 "a quarter as good".
 */

/** Milliseconds on a monotonic clock. */
export function now(): number {
	return Number(process.hrtime.bigint()) / 1e6;
}

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const MB = 1e6;

/** The p-th percentile (0..100) of values, interpolating between ranks; NaN when there are none. */
export function percentile(values: readonly number[], p: number, alreadySorted = false): number {
	if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside 0..100`);
	if (values.length === 0) return NaN;
	const sorted = alreadySorted ? values : [...values].sort((a, b) => a - b);
	const rank = (p / 100) * (sorted.length - 1);
	const low = Math.floor(rank);
	const high = Math.ceil(rank);
	return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

export interface Summary {
	count: number;
	min: number;
	mean: number;
	p50: number;
	p90: number;
	p99: number;
	max: number;
}

/** Count, min, mean, p50, p90, p99 and max of the values; undefined when there are none. */
export function summarize(values: readonly number[]): Summary | undefined {
	if (values.length === 0) return undefined;
	const sorted = [...values].sort((a, b) => a - b);
	const sum = sorted.reduce((total, v) => total + v, 0);
	return {
		count: sorted.length,
		min: sorted[0],
		mean: sum / sorted.length,
		p50: percentile(sorted, 50, true),
		p90: percentile(sorted, 90, true),
		p99: percentile(sorted, 99, true),
		max: sorted[sorted.length - 1],
	};
}

/** MB/s (10^6 bytes per second); 0 when no time passed. */
export function mbPerSecond(bytes: number, ms: number): number {
	return ms > 0 ? bytes / MB / (ms / 1000) : 0;
}

/** Events per second; 0 when no time passed. */
export function perSecond(count: number, ms: number): number {
	return ms > 0 ? count / (ms / 1000) : 0;
}

export type Better = "higher" | "lower";

/**
 * The device as a fraction of the reference: device/reference when higher
 * is better, reference/device when lower is better. Undefined when either
 * is missing or the division means nothing (a zero where it divides).
 */
export function ratio(device: number | undefined, reference: number | undefined, better: Better): number | undefined {
	if (device === undefined || reference === undefined || !Number.isFinite(device) || !Number.isFinite(reference)) return undefined;
	const [top, bottom] = better === "higher" ? [device, reference] : [reference, device];
	if (bottom <= 0 || top < 0) return undefined;
	return top / bottom;
}

/** Three significant digits, without exponent notation for the ranges we meet. */
export function significant(value: number, digits = 3): string {
	if (!Number.isFinite(value)) return String(value);
	if (value === 0) return "0";
	const magnitude = Math.floor(Math.log10(Math.abs(value)));
	const decimals = Math.max(0, digits - 1 - magnitude);
	return value.toFixed(Math.min(decimals, 6));
}

/** A duration in ms as people read it: 85.2 µs, 1.23 ms, 2.50 s. */
export function formatMs(ms: number): string {
	if (!Number.isFinite(ms)) return "—";
	if (ms < 1) return `${significant(ms * 1000)} µs`;
	if (ms < 1000) return `${significant(ms)} ms`;
	return `${significant(ms / 1000)} s`;
}

/** A byte count: 64 B, 1.5 KiB, 64 MiB. */
export function formatBytes(bytes: number): string {
	if (bytes < KiB) return `${bytes} B`;
	if (bytes < MiB) return `${significant(bytes / KiB)} KiB`;
	if (bytes < 1024 * MiB) return `${significant(bytes / MiB)} MiB`;
	return `${significant(bytes / (1024 * MiB))} GiB`;
}

/** A size label for message sizes: 64 B, 1472 B, 1 KiB, 64 KiB, 1 MiB (whole KiB/MiB only, else bytes). */
export function formatSize(bytes: number): string {
	if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
	if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`;
	return `${bytes} B`;
}

/** A rate with thousands grouped: 12 345/s reads better than 12345.678. */
export function formatCount(value: number): string {
	if (!Number.isFinite(value)) return "—";
	if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
	return significant(value);
}

/** A ratio: 0.42×; "—" when there is none. */
export function formatRatio(value: number | undefined): string {
	return value === undefined ? "—" : `${significant(value, value >= 10 ? 3 : 2)}×`;
}

export interface Histogram {
	/** Bin edges, one more than counts; bins are [edge[i], edge[i+1]) and the last one includes its top. */
	edges: number[];
	counts: number[];
}

/**
 * Bin values into `bins` bins between lo and hi (default: the values' min
 * and max), logarithmic when `log` (values must be > 0 then). Values outside
 * [lo, hi] go to the first or last bin.
 */
export function histogram(values: readonly number[], bins: number, options: { lo?: number; hi?: number; log?: boolean } = {}): Histogram {
	if (!(bins >= 1)) throw new RangeError("a histogram needs at least one bin");
	const finite = values.filter(Number.isFinite);
	let lo = options.lo ?? finite.reduce((m, v) => Math.min(m, v), Infinity);
	let hi = options.hi ?? finite.reduce((m, v) => Math.max(m, v), -Infinity);
	if (finite.length === 0) {
		lo = 0;
		hi = 1;
	}
	const log = options.log === true && lo > 0;
	if (hi <= lo) hi = log ? lo * 2 : lo + 1;
	const [a, b] = log ? [Math.log(lo), Math.log(hi)] : [lo, hi];
	const edges = Array.from({ length: bins + 1 }, (_, i) => {
		const x = a + ((b - a) * i) / bins;
		return log ? Math.exp(x) : x;
	});
	edges[0] = lo;
	edges[bins] = hi;
	const counts = new Array<number>(bins).fill(0);
	for (const v of finite) {
		const x = log ? Math.log(Math.max(v, lo)) : v;
		const i = Math.floor(((x - a) / (b - a)) * bins);
		counts[Math.min(bins - 1, Math.max(0, i))]++;
	}
	return { edges, counts };
}
