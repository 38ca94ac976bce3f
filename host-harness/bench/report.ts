/*
 * How a benchmark run (result.ts) is shown:
 *
 * - the table printed to the terminal: metric | device | reference | ratio;
 * - a report file, Markdown (the charts of charts.ts as SVG files beside
 *   it, linked) or HTML (charts inline).
 *
 * A ratio is the device as a fraction of the reference (stats.ts): 1.0 is
 * as good as Node's own echo server, 0.1 is a tenth as good.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { type Chart, charts, esc } from "./charts.js";
import type { BenchResult, Metric, Unit } from "./result.js";
import { formatCount, formatMs, formatRatio, significant } from "./stats.js";

/* ----------------------------------------------------------------- values */

export function formatValue(value: number | undefined, unit: Unit): string {
	if (value === undefined) return "—";
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
	const rows = [
		["metric", "device", "reference", "ratio"],
		...result.metrics.map(m => [m.label, formatValue(m.device, m.unit), formatValue(m.reference, m.unit), m.better ? ratioText(m) : ""]),
	];
	const widths = rows[0].map((_, c) => Math.max(...rows.map(r => r[c].length)));
	const line = (r: string[]) =>
		r
			.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
			.join("  ")
			.trimEnd();
	const out = [
		`${result.protocol.toUpperCase()} echo, device on ${result.target} vs ${result.peers.reference}`,
		line(rows[0]),
		widths.map(w => "-".repeat(w)).join("  "),
		...rows.slice(1).map(line),
		`ratio: ${result.ratioMeaning}`,
	];
	for (const note of result.notes) out.push(`note: ${note}`);
	return `${out.join("\n")}\n`;
}

/** The Markdown table (for the README and the Markdown report). */
export function renderMarkdownTable(result: BenchResult): string {
	const cell = (text: string) => text.replace(/\|/g, "\\|");
	const lines = [
		"| metric | device | reference | ratio |",
		"|---|--:|--:|--:|",
		...result.metrics.map(
			m => `| ${cell(m.label)} | ${formatValue(m.device, m.unit)} | ${formatValue(m.reference, m.unit)} | ${m.better ? ratioText(m) : ""} |`,
		),
	];
	return `${lines.join("\n")}\n`;
}

function settingsLine(result: BenchResult): string {
	return Object.entries(result.settings)
		.map(([k, v]) => `${k}=${v}`)
		.join(", ");
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
	for (const chart of charts(result)) lines.push(`![${chart.name}](${chartFile(chart.name)})`, "");
	if (result.notes.length) {
		lines.push("## Notes", "");
		for (const note of result.notes) lines.push(`- ${note}`);
		lines.push("");
	}
	return lines.join("\n");
}

export function renderHtml(result: BenchResult): string {
	const rows = result.metrics
		.map(m => {
			// A ratio is a measurement, not a verdict: at or above 1.0 is marked, below is plain (never red, as if it had failed).
			const cls = m.ratio === undefined ? "" : m.ratio >= 1 ? "good" : "below";
			return `<tr><td>${esc(m.label)}</td><td>${esc(formatValue(m.device, m.unit))}</td><td>${esc(formatValue(m.reference, m.unit))}</td><td class="${cls}">${m.better ? esc(ratioText(m)) : ""}</td></tr>`;
		})
		.join("\n");
	const figures = charts(result)
		.map(c => `<figure>${c.svg}</figure>`)
		.join("\n");
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
		fs.writeFileSync(
			file,
			renderMarkdown(result, name => encodeURI(`${path.basename(base)}.${name}.svg`)),
		);
		return [file, ...written];
	}
	throw new Error(`--report takes a .md or .html file, not "${file}"`);
}
