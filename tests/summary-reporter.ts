// A last plain line per run, "unit: N passed, N failed[, N skipped]", that
// any CI reads, after vitest's own report. With VITEST_RUN_REPORT set (by
// tests/device-suites.mjs, which runs the device suites in several vitest
// runs at once), the same counts and each file's duration in seconds are
// written there as JSON too.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
	#line = "";

	// vitest's default reporter prints its summary in onFinished, after
	// onTestRunEnd: keep this line for then, so that it comes last.
	onFinished(): void {
		if (this.#line) console.log(this.#line);
	}

	onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>): void {
		let passed = 0;
		let failed = errors.length;
		let skipped = 0;
		const projects = new Set<string>();
		for (const module of modules) {
			projects.add(module.project.name || "tests");
			if (module.state() === "failed" && ![...module.children.allTests()].some(test => test.result().state === "failed")) failed++; // a file that failed to load, or whose hook failed (its tests then show as skipped)
			for (const test of module.children.allTests()) {
				const state = test.result().state;
				if (state === "passed") passed++;
				else if (state === "failed") failed++;
				else skipped++;
			}
		}
		const label = [...projects].join("+") || "tests";
		const report = process.env.VITEST_RUN_REPORT;
		if (report) {
			const durations: Record<string, number> = {};
			for (const module of modules) durations[path.relative(process.cwd(), module.moduleId)] = Math.round(module.diagnostic().duration / 1000);
			fs.mkdirSync(path.dirname(report), { recursive: true });
			fs.writeFileSync(report, JSON.stringify({ passed, failed, skipped, durations }));
		}
		this.#line = `\n${label}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`;
	}
}
