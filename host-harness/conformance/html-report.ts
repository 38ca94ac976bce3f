/*
 * The conformance report as one self-contained HTML page, to share: for
 * one server or several side by side (--compare). It opens, as Autobahn's
 * index does, on a compact grid of every case, one small square per case
 * and server coloured by its grade, each a link to the case's row; a
 * "failures only" switch hides every row (and square) that passed on every
 * server. Then per category a table of cases with each server's grade (OK,
 * NON-STRICT, INFORMATIONAL, FAILED; the rule for each at the top), what
 * was expected and observed, and the case's wire log (frames sent and
 * received, close codes, milliseconds) folded under each cell, a run of
 * identical lines shown once with its count; then how our case ids map to
 * Autobahn's.
 */

import { autobahnMapping, type Grade, gradeRules } from "./grades.js";
import { summarize } from "./report.js";
import type { CaseResult } from "./runner.js";

export interface ConformanceRun {
	/** What the column is called: "device (node)", "ws 8.18", a host:port. */
	label: string;
	url: string;
	results: CaseResult[];
	/** Why the run stopped early, if it did. */
	stopped?: string;
}

const esc = (text: string) => text.replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const gradeClass: Record<Grade, string> = { OK: "ok", "NON-STRICT": "nonstrict", INFORMATIONAL: "info", FAILED: "failed" };
const grades: Grade[] = ["OK", "NON-STRICT", "INFORMATIONAL", "FAILED"];

/**
 * Wire-log lines with each run of identical entries (same direction and
 * text, as a round-trip case's hundreds of echoes) shown once, with the
 * count and the time span: "  12 ms  →  TEXT 5 B  (× 40, to 380 ms)".
 */
export function collapsedLines(entries: readonly { ms: number; dir: string; text: string }[]): string[] {
	const lines: string[] = [];
	for (let i = 0; i < entries.length; ) {
		let j = i + 1;
		while (j < entries.length && entries[j].dir === entries[i].dir && entries[j].text === entries[i].text) j++;
		const count = j - i;
		lines.push(
			`${String(entries[i].ms).padStart(6)} ms  ${entries[i].dir}  ${esc(entries[i].text)}${count > 1 ? `  (× ${count}, to ${entries[j - 1].ms} ms)` : ""}`,
		);
		i = j;
	}
	return lines;
}

function wireLog(result: CaseResult): string {
	const connections = result.wire ?? [];
	if (!connections.length) return "";
	const body = connections
		.map((c, i) => {
			const lines = collapsedLines(c.entries);
			if (c.dropped) lines.push(`          … ${c.dropped} more entries`);
			return `${connections.length > 1 ? `connection ${i + 1}\n` : ""}${lines.join("\n")}`;
		})
		.join("\n\n");
	return `<details><summary>wire log</summary><pre>${body}</pre></details>`;
}

function cell(result: CaseResult | undefined): string {
	if (!result) return `<td class="none">not run</td>`;
	return (
		`<td class="${gradeClass[result.grade]}"><b>${result.grade}</b> <span class="ms">${result.ms} ms</span><div class="obs">${esc(result.observed)}</div>` +
		`${result.why ? `<div class="why">${esc(result.why)}</div>` : ""}${wireLog(result)}</td>`
	);
}

export function renderConformanceHtml(runs: ConformanceRun[], when = new Date()): string {
	const byId = runs.map(run => new Map(run.results.map(r => [r.id, r])));
	// Rows in suite order, from the first run that has each case.
	const rows: CaseResult[] = [];
	const seen = new Set<string>();
	for (const run of runs)
		for (const r of run.results)
			if (!seen.has(r.id)) {
				seen.add(r.id);
				rows.push(r);
			}
	const categories = [...new Set(rows.map(r => r.category))];
	const summaryRows = runs
		.map(run => {
			const s = summarize(run.results);
			return (
				`<tr><th>${esc(run.label)}<div class="url">${esc(run.url)}</div></th>${grades.map(g => `<td class="${gradeClass[g]}">${s.grades[g]}</td>`).join("")}<td>${s.total}</td>` +
				`<td>${run.stopped ? esc(run.stopped) : ""}</td></tr>`
			);
		})
		.join("\n");
	// The grid: a square per case and server, in suite order, grouped by category (Autobahn's index).
	const allPassed = (r: CaseResult) => byId.every(m => m.get(r.id)?.passed ?? false);
	const grid = categories
		.map(category => {
			const inCategory = rows.filter(r => r.category === category);
			const squares = inCategory
				.map(r =>
					byId
						.map((m, i) => {
							const result = m.get(r.id);
							const title = `${r.id} ${runs[i].label}: ${result?.grade ?? "not run"}`;
							return `<a href="#case-${esc(r.id)}" class="sq ${result ? gradeClass[result.grade] : "none"}${allPassed(r) ? " passed" : ""}" title="${esc(title)}"></a>`;
						})
						.join(""),
				)
				.join("");
			return `<div class="gridrow"><span class="gridlabel">${esc(category)}</span><span class="squares">${squares}</span></div>`;
		})
		.join("\n");
	const sections = categories
		.map(category => {
			const inCategory = rows.filter(r => r.category === category);
			const counts = runs.map((_, i) => {
				const results = inCategory.map(r => byId[i].get(r.id)).filter((r): r is CaseResult => !!r);
				return `${results.filter(r => r.passed).length}/${results.length}`;
			});
			return `<h2 id="c${esc(category.split(" ")[0])}">${esc(category)} <span class="count">${counts.join(" · ")}</span></h2>
<table class="cases"><tr><th>id</th><th>case</th><th>expected</th>${runs.map(run => `<th>${esc(run.label)}</th>`).join("")}</tr>
${inCategory.map(r => `<tr id="case-${esc(r.id)}"${allPassed(r) ? ` class="passed"` : ""}><td class="id">${esc(r.id)}</td><td>${esc(r.description)}</td><td>${esc(r.expected)}</td>${byId.map(m => cell(m.get(r.id))).join("")}</tr>`).join("\n")}
</table>`;
		})
		.join("\n");
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>WebSocket conformance: ${esc(runs.map(r => r.label).join(" vs "))}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #212529; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; } .count { color: #6c757d; font-weight: normal; }
table { border-collapse: collapse; margin: .5rem 0; } th, td { border: 1px solid #dee2e6; padding: .3rem .5rem; vertical-align: top; text-align: left; font-size: .85rem; }
td.ok { background: #d3f9d8; } td.nonstrict { background: #fff3bf; } td.info { background: #d0ebff; } td.failed { background: #ffc9c9; } td.none { color: #adb5bd; }
td.id { white-space: nowrap; font-family: ui-monospace, monospace; } .ms { color: #6c757d; font-size: .75rem; } .obs { font-size: .8rem; } .why { font-size: .75rem; color: #495057; font-style: italic; }
.url { font-weight: normal; font-size: .75rem; color: #6c757d; } pre { font-size: .75rem; margin: .3rem 0; white-space: pre; } details summary { cursor: pointer; color: #1c7ed6; font-size: .75rem; }
dl.rules dt { font-weight: 600; margin-top: .4rem; } dl.rules dd { margin-left: 1rem; font-size: .9rem; }
.grid { margin: 1rem 0; } .gridrow { display: flex; align-items: flex-start; margin: 2px 0; } .gridlabel { width: 14rem; flex: none; font-size: .8rem; }
.squares { display: flex; flex-wrap: wrap; gap: 1px; } a.sq { width: 9px; height: 9px; display: block; border: 1px solid #ced4da; }
a.sq.ok { background: #51cf66; } a.sq.nonstrict { background: #fcc419; } a.sq.info { background: #4dabf7; } a.sq.failed { background: #fa5252; } a.sq.none { background: #fff; }
body.failures-only tr.passed, body.failures-only a.sq.passed { display: none; } label.filter { font-size: .9rem; }
</style></head><body>
<h1>WebSocket conformance (RFC 6455), Autobahn-style</h1>
<p class="meta">${esc(when.toISOString())} · host-harness conformance · ${rows.length} cases</p>
<table class="summary"><tr><th>server</th>${grades.map(g => `<th>${g}</th>`).join("")}<th>cases</th><th></th></tr>
${summaryRows}
</table>
<label class="filter"><input type="checkbox" id="failures-only"> failures only (${rows.filter(r => !allPassed(r)).length} of ${rows.length} cases)</label>
<div class="grid">
${grid}
</div>
<dl class="rules">${grades.map(g => `<dt class="${gradeClass[g]}">${g}</dt><dd>${esc(gradeRules[g])}</dd>`).join("")}</dl>
${sections}
<h2>Case ids and Autobahn|Testsuite's</h2>
<table class="mapping"><tr><th>ours</th><th>Autobahn</th><th></th></tr>
${autobahnMapping.map(([ours, autobahn, note]) => `<tr><td>${esc(ours)}</td><td>${esc(autobahn)}</td><td>${esc(note)}</td></tr>`).join("\n")}
</table>
<script>
const only = document.getElementById("failures-only");
only.onchange = () => document.body.classList.toggle("failures-only", only.checked);
// A link to report.html#case-6.4.1 opens that case's wire logs.
const row = location.hash.startsWith("#case-") && document.getElementById(decodeURIComponent(location.hash.slice(1)));
if (row) { for (const d of row.querySelectorAll("details")) d.open = true; row.scrollIntoView(); }
</script>
</body></html>
`;
}

/** Several runs side by side as text: each server's grade counts, then the cases whose grades differ. */
export function formatComparison(runs: ConformanceRun[]): string {
	const lines: string[] = [];
	const width = Math.max(6, ...runs.map(r => r.label.length));
	lines.push(`${"".padEnd(14)}${runs.map(r => r.label.padEnd(width + 2)).join("")}`);
	for (const g of grades) lines.push(`${g.padEnd(14)}${runs.map(r => String(summarize(r.results).grades[g]).padEnd(width + 2)).join("")}`);
	const maps = runs.map(run => new Map(run.results.map(r => [r.id, r])));
	const ids = [...new Set(runs.flatMap(r => r.results.map(x => x.id)))];
	const differing = ids.filter(id => new Set(maps.map(m => m.get(id)?.grade ?? "not run")).size > 1);
	lines.push("", differing.length ? `cases graded differently (${differing.length}):` : "every case graded the same on every server");
	for (const id of differing) {
		const any = maps.map(m => m.get(id)).find(Boolean)!;
		lines.push(`  ${id.padEnd(9)} ${any.description.slice(0, 56).padEnd(57)}${maps.map(m => (m.get(id)?.grade ?? "not run").padEnd(width + 2)).join("")}`);
	}
	for (const run of runs) if (run.stopped) lines.push(`${run.label}: ${run.stopped}`);
	return `${lines.join("\n")}\n`;
}
