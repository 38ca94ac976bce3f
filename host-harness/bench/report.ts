/*
 * What a benchmark run produces and how it is shown:
 *
 * - BenchResult: the run as data (metrics with device, reference and ratio;
 *   throughput by message size; round-trip samples; notes), what --json
 *   prints;
 * - the table printed to the terminal: metric | device | reference | ratio;
 * - a report file, Markdown (charts as SVG files beside it, linked) or HTML
 *   (charts inline): the ratios as bars around 1.0, the round-trip
 *   histograms of device and reference overlaid, throughput by message
 *   size;
 * - BenchContext: runs each measurement, records failures as notes instead
 *   of aborting the run, and shows a progress line while it runs when
 *   stdout is a terminal.
 *
 * A ratio is the device as a fraction of the reference (stats.ts): 1.0 is
 * as good as Node's own echo server, 0.1 is a tenth as good.
 */

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { TargetName } from "../device/targets.js";
import type { Protocol } from "./reference.js";
import {
	Better, formatBytes, formatCount, formatMs, formatRatio, formatSize, histogram, mbPerSecond, now, ratio, significant, summarize,
} from "./stats.js";

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

export const ratioMeaning = "device as a fraction of the reference: throughput and rates device/reference, latency reference/device; 1.0 = as good as the reference";

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
		if (!this.#metrics.has(spec.key))
			this.#metrics.set(spec.key, { ...spec });
	}

	record(spec: MetricSpec, side: Side, value: number | undefined, detail?: string): void {
		this.declare(spec);
		const metric = this.#metrics.get(spec.key)!;
		if (value !== undefined && Number.isFinite(value))
			metric[side] = value;
		if (detail)
			(metric.detail ??= {})[side] = detail;
	}

	/** A metric's value in each round (the pooled value is recorded with record()): the report shows the rounds' spread of ratios. */
	rounds(spec: MetricSpec, side: Side, values: readonly number[]): void {
		const entry = this.#perRound.get(spec.key) ?? {};
		entry[side] = [...values];
		this.#perRound.set(spec.key, entry);
	}

	size(size: number, side: Side, mbps: number | undefined): void {
		const point = this.#sizes.get(size) ?? { size };
		if (mbps !== undefined && Number.isFinite(mbps))
			point[side] = mbps;
		this.#sizes.set(size, point);
	}

	roundTrips(side: Side, samples: readonly number[]): void {
		this.#roundTrips[side] = samples.map(v => Math.round(v * 10_000) / 10_000);
	}

	note(text: string): void {
		if (!this.#notes.includes(text))
			this.#notes.push(text);
	}

	finish(): BenchResult {
		const metrics = [...this.#metrics.values()].map(m => {
			const out: Metric = { ...m, ratio: m.better ? ratio(m.device, m.reference, m.better) : undefined };
			const rounds = this.#perRound.get(m.key);
			if (m.better && rounds?.device && rounds.reference && rounds.device.length === rounds.reference.length && rounds.device.length > 1) {
				const ratios = rounds.device.map((d, i) => ratio(d, rounds.reference![i], m.better!)).filter((r): r is number => r !== undefined);
				if (ratios.length > 1)
					out.spread = [Math.min(...ratios), Math.max(...ratios)];
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
				if (live.unit === "writes")
					parts.push(formatBytes(live.bytes), `${significant(mbPerSecond(live.bytes, seconds * 1000))} MB/s`);
				else if (seconds > 0)
					parts.push(`${formatCount(live.count / seconds)} ${live.unit}/s`, formatBytes(live.bytes));
				out!.write(`\r\x1b[K${parts.join("  ")}`);
			};
			const timer = out ? setInterval(show, 200) : undefined;
			timer?.unref();
			try {
				const result = await work(live);
				options.log?.(`${side} ${label}: ${formatCount(live.count)} ${live.unit}${live.bytes ? `, ${formatBytes(live.bytes)}` : ""} in ${formatMs(now() - t0)}`);
				return result;
			}
			catch (e) {
				builder.note(`${side}: ${label} failed: ${(e as Error).message}`);
				options.log?.(`${side} ${label}: failed: ${(e as Error).message}`);
				return undefined;
			}
			finally {
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
export async function alternate<T>(ctx: BenchContext, builder: ResultBuilder, label: string, rounds: number, work: (side: Side, live: Live) => Promise<T>, between?: () => Promise<void>): Promise<Record<Side, T[] | undefined>> {
	const parts: Record<Side, T[] | undefined> = { device: [], reference: [] };
	for (let round = 0; round < rounds; round++) {
		const order = round % 2 === 0 ? sides : [...sides].reverse();
		for (const side of order) {
			if (!parts[side])
				continue;
			const text = rounds > 1 ? `${label} (round ${round + 1}/${rounds})` : label;
			const result = await ctx.phase(builder, side, text, live => work(side, live));
			if (result === undefined)
				parts[side] = undefined;
			else
				parts[side]!.push(result);
			await between?.();
		}
	}
	return parts;
}

/* ----------------------------------------------------------------- values */

export function formatValue(value: number | undefined, unit: Unit): string {
	if (value === undefined)
		return "—";
	switch (unit) {
		case "ms":
			return formatMs(value);
		case "MB/s":
			return `${significant(value)} MB/s`;
		case "msg/s":
			return `${formatCount(value)} msg/s`;
		case "datagrams/s":
			return `${formatCount(value)} dgram/s`;
		default:
			return `${Math.round(value)}`;
	}
}

/** A ratio, with the spread of the single rounds when there were several: "0.48× (rounds 0.22–1.0×)". */
export function ratioText(m: Metric): string {
	return `${formatRatio(m.ratio)}${m.spread ? ` (rounds ${formatRatio(m.spread[0]).replace("×", "")}–${formatRatio(m.spread[1])})` : ""}`;
}

/** The terminal table: metric | device | reference | ratio, with the ratio's meaning below. */
export function renderTable(result: BenchResult): string {
	const rows = [["metric", "device", "reference", "ratio"], ...result.metrics.map(m => [
		m.label, formatValue(m.device, m.unit), formatValue(m.reference, m.unit), m.better ? ratioText(m) : "",
	])];
	const widths = rows[0].map((_, c) => Math.max(...rows.map(r => r[c].length)));
	const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ").trimEnd();
	const out = [
		`${result.protocol.toUpperCase()} echo, device on ${result.target} vs ${result.peers.reference}`,
		line(rows[0]),
		widths.map(w => "-".repeat(w)).join("  "),
		...rows.slice(1).map(line),
		`ratio: ${result.ratioMeaning}`,
	];
	for (const note of result.notes)
		out.push(`note: ${note}`);
	return `${out.join("\n")}\n`;
}

/** The Markdown table (for the README and the Markdown report). */
export function renderMarkdownTable(result: BenchResult): string {
	const cell = (text: string) => text.replace(/\|/g, "\\|");
	const lines = [
		"| metric | device | reference | ratio |",
		"|---|--:|--:|--:|",
		...result.metrics.map(m => `| ${cell(m.label)} | ${formatValue(m.device, m.unit)} | ${formatValue(m.reference, m.unit)} | ${m.better ? ratioText(m) : ""} |`),
	];
	return `${lines.join("\n")}\n`;
}

/* ----------------------------------------------------------------- charts */

const colors: Record<Side, string> = { device: "#e8590c", reference: "#1c7ed6" };
const font = `font-family="system-ui, -apple-system, 'Segoe UI', sans-serif"`;

function esc(text: string): string {
	return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const fixed = (v: number) => Number(v.toFixed(1));

/** Decade ticks between lo and hi (powers of ten), with 2 and 5 added when the range spans under two decades. */
function logTicks(lo: number, hi: number): number[] {
	const ticks: number[] = [];
	const few = Math.log10(hi / lo) < 2;
	for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
		for (const m of few ? [1, 2, 5] : [1]) {
			const t = m * 10 ** e;
			if (t >= lo * 0.999 && t <= hi * 1.001)
				ticks.push(t);
		}
	}
	return ticks;
}

/** Extend [lo, hi] to whole decades. */
function decades(lo: number, hi: number): [number, number] {
	const a = 10 ** Math.floor(Math.log10(lo));
	let b = 10 ** Math.ceil(Math.log10(hi));
	if (b <= a)
		b = a * 10;
	return [a, b];
}

function logAxis(lo: number, hi: number, from: number, to: number): (v: number) => number {
	const a = Math.log10(lo);
	const span = Math.log10(hi) - a;
	return v => from + ((Math.log10(Math.min(Math.max(v, lo), hi)) - a) / span) * (to - from);
}

function svgOpen(width: number, height: number, title: string): string {
	return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(title)}" ${font} font-size="12">
<rect width="${width}" height="${height}" fill="#fff"/>
<text x="12" y="20" font-size="14" font-weight="600" fill="#212529">${esc(title)}</text>`;
}

/** A legend in one row: colored squares with their text, left to right from x. */
function legend(x: number, y: number, entries: [string, string][]): string {
	let at = x;
	return entries.map(([color, text]) => {
		const part = `<rect x="${fixed(at)}" y="${y - 9}" width="10" height="10" fill="${color}" opacity="0.8"/><text x="${fixed(at + 15)}" y="${y}" fill="#343a40">${esc(text)}</text>`;
		at += 15 + text.length * 6.6 + 18;
		return part;
	}).join("\n");
}

/** Axis tick labels: 0.01, 0.1, 1, 10, 100, 1000 (no trailing zeros). */
function tickLabel(t: number): string {
	return t >= 1000 ? formatCount(t) : String(Number(t.toPrecision(2)));
}

/** Time tick labels: 10 µs, 1 ms, 2 s. */
function tickMs(ms: number): string {
	if (ms < 1)
		return `${tickLabel(ms * 1000)} µs`;
	return ms < 1000 ? `${tickLabel(ms)} ms` : `${tickLabel(ms / 1000)} s`;
}

/** Horizontal bars around 1.0 on a log axis, one per metric with a ratio: the picture of the whole run. */
export function ratioChart(result: BenchResult): string | undefined {
	const rows = result.metrics.filter(m => m.ratio !== undefined);
	if (!rows.length)
		return undefined;
	const width = 760, left = 250, right = 60, top = 40, row = 26;
	const height = top + rows.length * row + 46;
	const values = rows.map(m => m.ratio!);
	// Room beyond the longest bars for their labels: half a decade and more.
	const [lo, hi] = decades(Math.min(0.1, ...values.map(v => v / 5)), Math.max(10, ...values.map(v => v * 5)));
	const x = logAxis(lo, hi, left, width - right);
	const parts = [svgOpen(width, height, `${result.protocol.toUpperCase()}: device on ${result.target} as a fraction of the reference (1.0 = as good)`)];
	for (const t of logTicks(lo, hi)) {
		parts.push(`<line x1="${fixed(x(t))}" y1="${top - 6}" x2="${fixed(x(t))}" y2="${top + rows.length * row}" stroke="${t === 1 ? "#495057" : "#dee2e6"}" stroke-width="${t === 1 ? 1.5 : 1}"/>`);
		parts.push(`<text x="${fixed(x(t))}" y="${top + rows.length * row + 16}" text-anchor="middle" fill="#495057">${tickLabel(t)}×</text>`);
	}
	rows.forEach((m, i) => {
		const y = top + i * row;
		const r = m.ratio!;
		const [a, b] = r >= 1 ? [x(1), x(r)] : [x(r), x(1)];
		parts.push(`<text x="${left - 8}" y="${y + row / 2 + 4}" text-anchor="end" fill="#212529">${esc(m.label)}</text>`);
		parts.push(`<rect x="${fixed(a)}" y="${y + 5}" width="${fixed(Math.max(1, b - a))}" height="${row - 10}" fill="${r >= 1 ? "#2f9e44" : colors.device}" opacity="0.85"/>`);
		const labelX = r >= 1 ? b + 4 : a - 4;
		parts.push(`<text x="${fixed(labelX)}" y="${y + row / 2 + 4}" text-anchor="${r >= 1 ? "start" : "end"}" fill="#212529" font-weight="600">${formatRatio(r)}</text>`);
	});
	parts.push(`<text x="${width - right}" y="${height - 6}" text-anchor="end" fill="#868e96">log scale; throughput device/ref, latency ref/device</text>`);
	parts.push("</svg>");
	return parts.join("\n");
}

/** Round-trip histograms of device and reference on one log time axis, each normalized to its own sample count, with p50/p99 marks. */
export function roundTripChart(result: BenchResult): string | undefined {
	const series = sides.filter(s => (result.roundTrips[s]?.length ?? 0) > 0);
	if (!series.length)
		return undefined;
	const all = series.flatMap(s => result.roundTrips[s]!).filter(v => v > 0);
	if (!all.length)
		return undefined;
	const width = 760, height = 320, left = 40, right = 36, top = 66, bottom = 44;
	const [lo, hi] = decades(all.reduce((m, v) => Math.min(m, v), Infinity), all.reduce((m, v) => Math.max(m, v), 0));
	const bins = 60;
	const x = logAxis(lo, hi, left, width - right);
	const hists = series.map(s => {
		const samples = result.roundTrips[s]!.filter(v => v > 0);
		const h = histogram(samples, bins, { lo, hi, log: true });
		return { side: s, h, n: samples.length, summary: summarize(samples)! };
	});
	const peak = Math.max(...hists.flatMap(({ h, n }) => h.counts.map(c => c / n)));
	const y = (fraction: number) => height - bottom - (fraction / peak) * (height - bottom - top);
	const parts = [svgOpen(width, height, `${result.protocol.toUpperCase()} round trip, 64 B (share of samples per bin, log time axis)`)];
	for (const t of logTicks(lo, hi)) {
		parts.push(`<line x1="${fixed(x(t))}" y1="${top}" x2="${fixed(x(t))}" y2="${height - bottom}" stroke="#e9ecef"/>`);
		parts.push(`<text x="${fixed(x(t))}" y="${height - bottom + 16}" text-anchor="middle" fill="#495057">${tickMs(t)}</text>`);
	}
	parts.push(`<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" stroke="#495057"/>`);
	for (const { side, h, n } of hists) {
		let d = `M${fixed(x(h.edges[0]))},${y(0)}`;
		h.counts.forEach((c, i) => {
			d += ` L${fixed(x(h.edges[i]))},${fixed(y(c / n))} L${fixed(x(h.edges[i + 1]))},${fixed(y(c / n))}`;
		});
		d += ` L${fixed(x(h.edges[bins]))},${y(0)} Z`;
		parts.push(`<path d="${d}" fill="${colors[side]}" fill-opacity="0.45" stroke="${colors[side]}" stroke-width="1"/>`);
	}
	hists.forEach(({ side, summary }, i) => {
		for (const [name, v] of [["p50", summary.p50], ["p99", summary.p99]] as const) {
			const px = fixed(x(v));
			parts.push(`<line x1="${px}" y1="${top}" x2="${px}" y2="${height - bottom}" stroke="${colors[side]}" stroke-dasharray="${name === "p50" ? "4 3" : "1 3"}" stroke-width="1.5"/>`);
			const anchor = name === "p50" ? `x="${px - 3}" text-anchor="end"` : `x="${px + 3}"`;
			parts.push(`<text ${anchor} y="${top - 4 - i * 11}" fill="${colors[side]}" font-size="10">${name}</text>`);
		}
	});
	parts.push(legend(left, 42, hists.map(({ side, summary, n }) => [colors[side], `${side}: p50 ${formatMs(summary.p50)}, p99 ${formatMs(summary.p99)} (n=${n})`])));
	parts.push(`<text x="${(left + width - right) / 2}" y="${height - 8}" text-anchor="middle" fill="#495057">round-trip time</text>`);
	parts.push("</svg>");
	return parts.join("\n");
}

/** Throughput by message size: device and reference side by side per size, log MB/s axis. */
export function throughputChart(result: BenchResult): string | undefined {
	const points = result.throughputBySize.filter(p => (p.device ?? 0) > 0 || (p.reference ?? 0) > 0);
	if (!points.length)
		return undefined;
	const values = points.flatMap(p => [p.device, p.reference]).filter((v): v is number => v !== undefined && v > 0);
	const width = 760, height = 320, left = 64, right = 20, top = 60, bottom = 44;
	const [lo, hi] = decades(values.reduce((m, v) => Math.min(m, v), Infinity), values.reduce((m, v) => Math.max(m, v), 0));
	const yOf = logAxis(lo, hi, height - bottom, top);
	const group = (width - left - right) / points.length;
	const bar = Math.min(60, group * 0.32);
	const parts = [svgOpen(width, height, `${result.protocol.toUpperCase()} throughput by message size (MB/s, log axis)`)];
	for (const t of logTicks(lo, hi)) {
		parts.push(`<line x1="${left}" y1="${fixed(yOf(t))}" x2="${width - right}" y2="${fixed(yOf(t))}" stroke="#e9ecef"/>`);
		parts.push(`<text x="${left - 6}" y="${fixed(yOf(t)) + 4}" text-anchor="end" fill="#495057">${tickLabel(t)}</text>`);
	}
	points.forEach((p, i) => {
		const cx = left + group * (i + 0.5);
		sides.forEach((side, j) => {
			const v = p[side];
			const bx = cx + (j === 0 ? -bar - 2 : 2);
			if (v === undefined || v <= 0) {
				parts.push(`<text x="${fixed(bx + bar / 2)}" y="${height - bottom - 4}" text-anchor="middle" fill="#adb5bd">—</text>`);
				return;
			}
			const by = yOf(v);
			parts.push(`<rect x="${fixed(bx)}" y="${fixed(by)}" width="${fixed(bar)}" height="${fixed(height - bottom - by)}" fill="${colors[side]}" opacity="0.85"/>`);
			parts.push(`<text x="${fixed(bx + bar / 2)}" y="${fixed(by) - 4}" text-anchor="middle" fill="#212529" font-size="11">${significant(v)}</text>`);
		});
		parts.push(`<text x="${fixed(cx)}" y="${height - bottom + 16}" text-anchor="middle" fill="#212529">${formatSize(p.size)}</text>`);
	});
	parts.push(`<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" stroke="#495057"/>`);
	parts.push(legend(left, 42, sides.map(s => [colors[s], s === "device" ? `device (${result.target})` : "reference"])));
	parts.push(`<text x="${(left + width - right) / 2}" y="${height - 8}" text-anchor="middle" fill="#495057">message / write size</text>`);
	parts.push("</svg>");
	return parts.join("\n");
}

/* ---------------------------------------------------------------- reports */

export interface Chart {
	name: "ratios" | "round-trip" | "throughput";
	svg: string;
}

export function charts(result: BenchResult): Chart[] {
	const out: Chart[] = [];
	const r = ratioChart(result);
	if (r)
		out.push({ name: "ratios", svg: r });
	const t = throughputChart(result);
	if (t)
		out.push({ name: "throughput", svg: t });
	const h = roundTripChart(result);
	if (h)
		out.push({ name: "round-trip", svg: h });
	return out;
}

function settingsLine(result: BenchResult): string {
	return Object.entries(result.settings).map(([k, v]) => `${k}=${v}`).join(", ");
}

function heading(result: BenchResult): string {
	return `${result.protocol.toUpperCase()} echo benchmark: device on ${result.target}`;
}

/** Markdown report text; `chartFile(name)` gives the (relative) file each chart is linked from. */
export function renderMarkdown(result: BenchResult, chartFile: (name: Chart["name"]) => string): string {
	const lines = [
		`# ${heading(result)}`,
		"",
		`${result.started} · ${result.seconds} s · Node ${result.host.node} · ${result.host.platform} · ${result.host.cpus} × ${result.host.cpu}`,
		"",
		`- device: ${result.peers.device}`,
		`- reference: ${result.peers.reference}`,
		`- workload (same for both): ${settingsLine(result)}`,
		"",
		renderMarkdownTable(result),
		`Ratio: ${result.ratioMeaning}.`,
		"",
	];
	for (const chart of charts(result))
		lines.push(`![${chart.name}](${chartFile(chart.name)})`, "");
	if (result.notes.length) {
		lines.push("## Notes", "");
		for (const note of result.notes)
			lines.push(`- ${note}`);
		lines.push("");
	}
	return lines.join("\n");
}

export function renderHtml(result: BenchResult): string {
	const rows = result.metrics.map(m => {
		// A ratio is a measurement, not a verdict: at or above 1.0 is marked, below is plain (never red, as if it had failed).
		const cls = m.ratio === undefined ? "" : m.ratio >= 1 ? "good" : "below";
		return `<tr><td>${esc(m.label)}</td><td>${esc(formatValue(m.device, m.unit))}</td><td>${esc(formatValue(m.reference, m.unit))}</td><td class="${cls}">${m.better ? esc(ratioText(m)) : ""}</td></tr>`;
	}).join("\n");
	const figures = charts(result).map(c => `<figure>${c.svg}</figure>`).join("\n");
	const notes = result.notes.length ? `<h2>Notes</h2><ul>${result.notes.map(n => `<li>${esc(n)}</li>`).join("")}</ul>` : "";
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(heading(result))}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 800px; color: #212529; padding: 0 1rem; }
h1 { font-size: 1.4rem; } .meta { color: #6c757d; font-size: .9rem; }
table { border-collapse: collapse; margin: 1rem 0; } th, td { padding: .3rem .7rem; border-bottom: 1px solid #dee2e6; }
td:not(:first-child), th:not(:first-child) { text-align: right; font-variant-numeric: tabular-nums; }
td.good { color: #2b8a3e; font-weight: 600; } td.below { color: #343a40; }
figure { margin: 1.5rem 0; } svg { max-width: 100%; height: auto; }
</style></head><body>
<h1>${esc(heading(result))}</h1>
<p class="meta">${esc(`${result.started} · ${result.seconds} s · Node ${result.host.node} · ${result.host.platform} · ${result.host.cpus} × ${result.host.cpu}`)}</p>
<p>device: ${esc(result.peers.device)}<br>reference: ${esc(result.peers.reference)}<br>workload (same for both): ${esc(settingsLine(result))}</p>
<table><thead><tr><th>metric</th><th>device</th><th>reference</th><th>ratio</th></tr></thead><tbody>
${rows}
</tbody></table>
<p class="meta">Ratio: ${esc(result.ratioMeaning)}.</p>
${figures}
${notes}
</body></html>
`;
}

/**
 * Write the report: .html/.htm as one self-contained page; .md/.markdown with
 * each chart as an SVG file beside it (report.ratios.svg, …). Returns the files written.
 */
export function writeReport(result: BenchResult, file: string): string[] {
	const ext = path.extname(file).toLowerCase();
	fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
	if (ext === ".html" || ext === ".htm") {
		fs.writeFileSync(file, renderHtml(result));
		return [file];
	}
	if (ext === ".md" || ext === ".markdown") {
		const base = file.slice(0, file.length - ext.length);
		const written: string[] = [];
		for (const chart of charts(result)) {
			const svgFile = `${base}.${chart.name}.svg`;
			fs.writeFileSync(svgFile, `${chart.svg}\n`);
			written.push(svgFile);
		}
		fs.writeFileSync(file, renderMarkdown(result, name => encodeURI(`${path.basename(base)}.${name}.svg`)));
		return [file, ...written];
	}
	throw new Error(`--report takes a .md or .html file, not "${file}"`);
}
