/*
 * A benchmark run's charts, as SVG: the ratios as bars around 1.0, the
 * round-trip histograms of device and reference overlaid, throughput by
 * message size on log axes. report.ts links them (Markdown) or inlines
 * them (HTML).
 */

import { type BenchResult, type Side, sides } from "./result.js";
import { formatCount, formatMs, formatRatio, formatSize, histogram, significant, summarize } from "./stats.js";

/* ----------------------------------------------------------------- charts */

const colors: Record<Side, string> = { device: "#e8590c", reference: "#1c7ed6" };
export const font = `font-family="system-ui, -apple-system, 'Segoe UI', sans-serif"`;

export function esc(text: string): string {
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
			if (t >= lo * 0.999 && t <= hi * 1.001) ticks.push(t);
		}
	}
	return ticks;
}

/** Extend [lo, hi] to whole decades. */
function decades(lo: number, hi: number): [number, number] {
	const a = 10 ** Math.floor(Math.log10(lo));
	let b = 10 ** Math.ceil(Math.log10(hi));
	if (b <= a) b = a * 10;
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
	return entries
		.map(([color, text]) => {
			const part = `<rect x="${fixed(at)}" y="${y - 9}" width="10" height="10" fill="${color}" opacity="0.8"/><text x="${fixed(at + 15)}" y="${y}" fill="#343a40">${esc(text)}</text>`;
			at += 15 + text.length * 6.6 + 18;
			return part;
		})
		.join("\n");
}

/** Axis tick labels: 0.01, 0.1, 1, 10, 100, 1000 (no trailing zeros). */
function tickLabel(t: number): string {
	return t >= 1000 ? formatCount(t) : String(Number(t.toPrecision(2)));
}

/** Time tick labels: 10 µs, 1 ms, 2 s. */
function tickMs(ms: number): string {
	if (ms < 1) return `${tickLabel(ms * 1000)} µs`;
	return ms < 1000 ? `${tickLabel(ms)} ms` : `${tickLabel(ms / 1000)} s`;
}

/** Horizontal bars around 1.0 on a log axis, one per metric with a ratio: the picture of the whole run. */
export function ratioChart(result: BenchResult): string | undefined {
	const rows = result.metrics.filter(m => m.ratio !== undefined);
	if (!rows.length) return undefined;
	const width = 760,
		left = 250,
		right = 60,
		top = 40,
		row = 26;
	const height = top + rows.length * row + 46;
	const values = rows.map(m => m.ratio!);
	// Room beyond the longest bars for their labels: half a decade and more.
	const [lo, hi] = decades(Math.min(0.1, ...values.map(v => v / 5)), Math.max(10, ...values.map(v => v * 5)));
	const x = logAxis(lo, hi, left, width - right);
	const parts = [svgOpen(width, height, `${result.protocol.toUpperCase()}: device on ${result.target} as a fraction of the reference (1.0 = as good)`)];
	for (const t of logTicks(lo, hi)) {
		parts.push(
			`<line x1="${fixed(x(t))}" y1="${top - 6}" x2="${fixed(x(t))}" y2="${top + rows.length * row}" stroke="${t === 1 ? "#495057" : "#dee2e6"}" stroke-width="${t === 1 ? 1.5 : 1}"/>`,
		);
		parts.push(`<text x="${fixed(x(t))}" y="${top + rows.length * row + 16}" text-anchor="middle" fill="#495057">${tickLabel(t)}×</text>`);
	}
	rows.forEach((m, i) => {
		const y = top + i * row;
		const r = m.ratio!;
		const [a, b] = r >= 1 ? [x(1), x(r)] : [x(r), x(1)];
		parts.push(`<text x="${left - 8}" y="${y + row / 2 + 4}" text-anchor="end" fill="#212529">${esc(m.label)}</text>`);
		parts.push(
			`<rect x="${fixed(a)}" y="${y + 5}" width="${fixed(Math.max(1, b - a))}" height="${row - 10}" fill="${r >= 1 ? "#2f9e44" : colors.device}" opacity="0.85"/>`,
		);
		const labelX = r >= 1 ? b + 4 : a - 4;
		parts.push(
			`<text x="${fixed(labelX)}" y="${y + row / 2 + 4}" text-anchor="${r >= 1 ? "start" : "end"}" fill="#212529" font-weight="600">${formatRatio(r)}</text>`,
		);
	});
	parts.push(`<text x="${width - right}" y="${height - 6}" text-anchor="end" fill="#868e96">log scale; throughput device/ref, latency ref/device</text>`);
	parts.push("</svg>");
	return parts.join("\n");
}

/** Round-trip histograms of device and reference on one log time axis, each normalized to its own sample count, with p50/p99 marks. */
export function roundTripChart(result: BenchResult): string | undefined {
	const series = sides.filter(s => (result.roundTrips[s]?.length ?? 0) > 0);
	if (!series.length) return undefined;
	const all = series.flatMap(s => result.roundTrips[s]!).filter(v => v > 0);
	if (!all.length) return undefined;
	const width = 760,
		height = 320,
		left = 40,
		right = 36,
		top = 66,
		bottom = 44;
	const [lo, hi] = decades(
		all.reduce((m, v) => Math.min(m, v), Infinity),
		all.reduce((m, v) => Math.max(m, v), 0),
	);
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
		for (const [name, v] of [
			["p50", summary.p50],
			["p99", summary.p99],
		] as const) {
			const px = fixed(x(v));
			parts.push(
				`<line x1="${px}" y1="${top}" x2="${px}" y2="${height - bottom}" stroke="${colors[side]}" stroke-dasharray="${name === "p50" ? "4 3" : "1 3"}" stroke-width="1.5"/>`,
			);
			const anchor = name === "p50" ? `x="${px - 3}" text-anchor="end"` : `x="${px + 3}"`;
			parts.push(`<text ${anchor} y="${top - 4 - i * 11}" fill="${colors[side]}" font-size="10">${name}</text>`);
		}
	});
	parts.push(
		legend(
			left,
			42,
			hists.map(({ side, summary, n }) => [colors[side], `${side}: p50 ${formatMs(summary.p50)}, p99 ${formatMs(summary.p99)} (n=${n})`]),
		),
	);
	parts.push(`<text x="${(left + width - right) / 2}" y="${height - 8}" text-anchor="middle" fill="#495057">round-trip time</text>`);
	parts.push("</svg>");
	return parts.join("\n");
}

/** Throughput by message size: device and reference side by side per size, log MB/s axis. */
export function throughputChart(result: BenchResult): string | undefined {
	const points = result.throughputBySize.filter(p => (p.device ?? 0) > 0 || (p.reference ?? 0) > 0);
	if (!points.length) return undefined;
	const values = points.flatMap(p => [p.device, p.reference]).filter((v): v is number => v !== undefined && v > 0);
	const width = 760,
		height = 320,
		left = 64,
		right = 20,
		top = 60,
		bottom = 44;
	const [lo, hi] = decades(
		values.reduce((m, v) => Math.min(m, v), Infinity),
		values.reduce((m, v) => Math.max(m, v), 0),
	);
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
			parts.push(
				`<rect x="${fixed(bx)}" y="${fixed(by)}" width="${fixed(bar)}" height="${fixed(height - bottom - by)}" fill="${colors[side]}" opacity="0.85"/>`,
			);
			parts.push(`<text x="${fixed(bx + bar / 2)}" y="${fixed(by) - 4}" text-anchor="middle" fill="#212529" font-size="11">${significant(v)}</text>`);
		});
		parts.push(`<text x="${fixed(cx)}" y="${height - bottom + 16}" text-anchor="middle" fill="#212529">${formatSize(p.size)}</text>`);
	});
	parts.push(`<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" stroke="#495057"/>`);
	parts.push(
		legend(
			left,
			42,
			sides.map(s => [colors[s], s === "device" ? `device (${result.target})` : "reference"]),
		),
	);
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
	if (r) out.push({ name: "ratios", svg: r });
	const t = throughputChart(result);
	if (t) out.push({ name: "throughput", svg: t });
	const h = roundTripChart(result);
	if (h) out.push({ name: "round-trip", svg: h });
	return out;
}
