// The kit's modules are preloaded (code and module-level objects in flash),
// and XS 8.2.3 corrupts its heap when a RegExp made while preloading is
// executed (README, "An XS fault preloading must avoid"). This keeps module
// scope free of regular expressions in every device source: a declaration
// at column 0 (module scope, as the sources are formatted) or a static class
// field whose initializer is a regexp literal or `new RegExp`.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { deviceSources, projectRoot } from "./device-sources.js";

const sources = deviceSources;
const root = projectRoot;

/** Lines that make a RegExp when the module is loaded. */
export function moduleLevelRegExps(text: string): string[] {
	const found: string[] = [];
	const makesRegExp = /=\s*(\/(?![/*])|new RegExp\b|RegExp\()/;
	for (const line of text.split("\n")) {
		if (/^(export\s+)?(const|let|var)\s/.test(line) && makesRegExp.test(line)) found.push(line.trim());
		else if (/^\s+(private\s+|public\s+|readonly\s+)*static\s/.test(line) && makesRegExp.test(line)) found.push(line.trim());
	}
	return found;
}

describe("no RegExp at module level in the kit's (preloaded) device sources", () => {
	it("the check finds the shapes it must refuse", () => {
		expect(moduleLevelRegExps("const a = /x/;\nexport const b = new RegExp(`y`);\nclass C {\n\tstatic readonly d = /z/g;\n}\n")).toHaveLength(3);
		expect(moduleLevelRegExps("function f() {\n\tconst a = /x/;\n}\nconst n = 1 / 2;\nconst c = 4; // /x/\n")).toEqual([]);
	});

	it(`holds for all ${sources.length} device sources`, () => {
		expect(sources.length).toBeGreaterThan(30);
		const offenders = sources.flatMap(file => moduleLevelRegExps(fs.readFileSync(path.join(root, file), "utf8")).map(line => `${file}: ${line}`));
		expect(offenders).toEqual([]);
	});
});

describe("modules that must not run at build time are imported by main only", () => {
	// The simulator's `preference` (SDK lin/preference.js) reads its file when it loads: imported by a
	// preloaded module it would run at build time and keep the build machine's saved credentials.
	it("only main.ts imports preference or file", () => {
		const importers = sources.filter(file => /from\s+"(preference|file)"/.test(fs.readFileSync(path.join(root, file), "utf8")));
		expect(importers).toEqual(["main.ts"]);
	});
});
