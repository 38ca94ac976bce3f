/*
 * Conformance results as an Autobahn-like report: per category a header
 * with its pass count, then one row per case (id, description, expected,
 * observed, PASS/FAIL); a total at the end. Plain text (colour only when
 * asked, e.g. on a TTY) or JSON.
 */
import type { CaseResult } from "./runner.js";

export interface Summary {
	total: number;
	passed: number;
	failed: number;
	ms: number;
	categories: { category: string; total: number; passed: number }[];
}

export function summarize(results: CaseResult[]): Summary {
	const categories = new Map<string, { category: string; total: number; passed: number }>();
	for (const r of results) {
		const entry = categories.get(r.category) ?? { category: r.category, total: 0, passed: 0 };
		entry.total++;
		entry.passed += r.passed ? 1 : 0;
		categories.set(r.category, entry);
	}
	const passed = results.filter(r => r.passed).length;
	return { total: results.length, passed, failed: results.length - passed, ms: results.reduce((n, r) => n + r.ms, 0), categories: [...categories.values()] };
}

export interface TextOptions {
	/** ANSI colours (default false; the CLI turns them on for a TTY). */
	color?: boolean;
	/** Only the failed rows under each category header. */
	failuresOnly?: boolean;
	/** Widest description/expected/observed cell (longer text is cut with "…"). */
	width?: number;
}

const cut = (text: string, width: number) => text.length <= width ? text : `${text.slice(0, width - 1)}…`;

export function formatText(results: CaseResult[], options: TextOptions = {}): string {
	const paint = (code: number, text: string) => options.color ? `\x1b[${code}m${text}\x1b[0m` : text;
	const width = options.width ?? 60;
	const summary = summarize(results);
	const idWidth = Math.max(4, ...results.map(r => r.id.length));
	const descWidth = Math.min(width, Math.max(11, ...results.map(r => r.description.length)));
	const expWidth = Math.min(width, Math.max(8, ...results.map(r => r.expected.length)));
	const obsWidth = Math.min(width, Math.max(8, ...results.map(r => r.observed.length)));
	const lines: string[] = [];
	for (const category of summary.categories) {
		const all = category.passed === category.total;
		lines.push("", paint(all ? 32 : 31, `${category.category}: ${category.passed}/${category.total} passed`));
		lines.push(`  ${"id".padEnd(idWidth)}  ${"description".padEnd(descWidth)}  ${"expected".padEnd(expWidth)}  ${"observed".padEnd(obsWidth)}  result`);
		for (const r of results.filter(r => r.category === category.category && (!options.failuresOnly || !r.passed))) {
			const verdict = r.passed ? paint(32, "PASS") : paint(31, "FAIL");
			// A failed row shows its whole observation: that is what one reads it for.
			const observed = r.passed ? cut(r.observed, obsWidth).padEnd(obsWidth) : r.observed.padEnd(obsWidth);
			lines.push(`  ${r.id.padEnd(idWidth)}  ${cut(r.description, descWidth).padEnd(descWidth)}  ${cut(r.expected, expWidth).padEnd(expWidth)}  ${observed}  ${verdict} ${String(r.ms).padStart(5)} ms`);
		}
	}
	const total = `${summary.passed}/${summary.total} cases passed, ${summary.failed} failed`;
	lines.push("", paint(summary.failed ? 31 : 32, total), "");
	return lines.join("\n");
}

export function formatJson(results: CaseResult[]): string {
	return JSON.stringify({ summary: summarize(results), results }, null, 2) + "\n";
}
