/*
 * Conformance results as an Autobahn-like report, as text in three shapes:
 * - summary (the default): one line per category with its pass count, the
 *   rows of the cases that did not pass, the total;
 * - verbose: every case's row (id, description, expected, observed, grade:
 *   OK, NON-STRICT, INFORMATIONAL or FAILED, grades.ts) under its category;
 * - failures: the rows of the cases that did not pass, or one line saying
 *   there are none, and the total.
 * Colour only when asked (e.g. on a TTY). JSON too; the HTML report is
 * html-report.ts.
 */

import type { Grade } from "./grades.js";
import type { CaseResult } from "./runner.js";

export interface Summary {
	total: number;
	/** OK and INFORMATIONAL. */
	passed: number;
	/** Everything else: NON-STRICT and FAILED. */
	failed: number;
	grades: Record<Grade, number>;
	ms: number;
	categories: { category: string; total: number; passed: number }[];
}

export const gradeColour: Record<Grade, number> = { OK: 32, "NON-STRICT": 33, INFORMATIONAL: 36, FAILED: 31 };

export function summarize(results: CaseResult[]): Summary {
	const categories = new Map<string, { category: string; total: number; passed: number }>();
	for (const r of results) {
		const entry = categories.get(r.category) ?? { category: r.category, total: 0, passed: 0 };
		entry.total++;
		entry.passed += r.passed ? 1 : 0;
		categories.set(r.category, entry);
	}
	const passed = results.filter(r => r.passed).length;
	const grades: Record<Grade, number> = { OK: 0, "NON-STRICT": 0, INFORMATIONAL: 0, FAILED: 0 };
	for (const r of results) grades[r.grade]++;
	return {
		total: results.length,
		passed,
		failed: results.length - passed,
		grades,
		ms: results.reduce((n, r) => n + r.ms, 0),
		categories: [...categories.values()],
	};
}

export interface TextOptions {
	/** ANSI colours (default false; the CLI turns them on for a TTY). */
	color?: boolean;
	/** summary (default), verbose or failures: see the header. */
	shape?: "summary" | "verbose" | "failures";
	/** Widest description/expected/observed cell (longer text is cut with "…"). */
	width?: number;
}

const cut = (text: string, width: number) => (text.length <= width ? text : `${text.slice(0, width - 1)}…`);

export function formatText(results: CaseResult[], options: TextOptions = {}): string {
	const paint = (code: number, text: string) => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);
	const width = options.width ?? 60;
	const summary = summarize(results);
	const idWidth = Math.max(4, ...results.map(r => r.id.length));
	const descWidth = Math.min(width, Math.max(11, ...results.map(r => r.description.length)));
	const expWidth = Math.min(width, Math.max(8, ...results.map(r => r.expected.length)));
	const obsWidth = Math.min(width, Math.max(8, ...results.map(r => r.observed.length)));
	const shape = options.shape ?? "summary";
	const row = (r: CaseResult) => {
		const verdict = paint(gradeColour[r.grade], r.grade.padEnd(13));
		// A failed row shows its whole observation: that is what one reads it for.
		const observed = r.passed ? cut(r.observed, obsWidth).padEnd(obsWidth) : r.observed.padEnd(obsWidth);
		return `  ${r.id.padEnd(idWidth)}  ${cut(r.description, descWidth).padEnd(descWidth)}  ${cut(r.expected, expWidth).padEnd(expWidth)}  ${observed}  ${verdict} ${String(r.ms).padStart(5)} ms`;
	};
	const header = `  ${"id".padEnd(idWidth)}  ${"description".padEnd(descWidth)}  ${"expected".padEnd(expWidth)}  ${"observed".padEnd(obsWidth)}  grade`;
	const lines: string[] = [];
	const failed = results.filter(r => !r.passed);
	if (shape === "verbose") {
		for (const category of summary.categories) {
			lines.push("", paint(category.passed === category.total ? 32 : 31, `${category.category}: ${category.passed}/${category.total} passed`), header);
			lines.push(...results.filter(r => r.category === category.category).map(row));
		}
	} else {
		if (shape === "summary") {
			lines.push("");
			for (const category of summary.categories)
				lines.push(paint(category.passed === category.total ? 32 : 31, `${category.category}: ${category.passed}/${category.total} passed`));
		}
		if (failed.length) lines.push("", "not passed:", header, ...failed.map(row));
		else if (shape === "failures") lines.push("", "every case passed");
	}
	const g = summary.grades;
	const total = `${summary.passed}/${summary.total} cases passed, ${summary.failed} failed (OK ${g.OK}, NON-STRICT ${g["NON-STRICT"]}, INFORMATIONAL ${g.INFORMATIONAL}, FAILED ${g.FAILED})`;
	lines.push("", paint(g.FAILED ? 31 : g["NON-STRICT"] ? 33 : 32, total), "");
	return lines.join("\n");
}

/** JSON: the summary and every result; the wire logs only when asked (they make it large). */
export function formatJson(results: CaseResult[], options: { wire?: boolean } = {}): string {
	return JSON.stringify({ summary: summarize(results), results: options.wire ? results : results.map(({ wire: _, ...rest }) => rest) }, null, 2) + "\n";
}
