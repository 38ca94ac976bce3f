// One kind of private member in the device code: TypeScript `private`, never
// `#name`. XS installs a class's `#` methods and accessors on every instance
// (a slot each) and gives an instance with `#` fields one slot more
// (docs/platform-notes.md); `private` members live on the prototype.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { deviceSources, projectRoot } from "./device-sources.js";

/** Lines that declare or use a `#` private member. */
export function hashPrivates(text: string): string[] {
	const declares = /^\s+(static\s+|readonly\s+|get\s+|set\s+|async\s+)*#[A-Za-z_$]/;
	const uses = /\.#[A-Za-z_$]|(^|[\s(!])#[A-Za-z_$][\w$]*\s+in\s/;
	return text
		.split("\n")
		.filter(line => !/^\s*(\/\/|\*|\/\*)/.test(line) && (declares.test(line) || uses.test(line)))
		.map(line => line.trim());
}

describe("device classes keep their private members as TypeScript `private`", () => {
	it("the check finds the shapes it must refuse", () => {
		const text =
			"class C {\n\t#a = 1;\n\treadonly #b = 2;\n\t#run(): void {\n\t\tthis.#a++;\n\t}\n\tstatic #c = 0;\n\thas(o: object) {\n\t\treturn #a in o;\n\t}\n}\n";
		expect(hashPrivates(text)).toHaveLength(6);
		expect(hashPrivates('class D {\n\tprivate a = "#x";\n\t// #b is a comment\n\tcolor = "#fff";\n}\n')).toEqual([]);
	});

	it(`holds for all ${deviceSources.length} device sources`, () => {
		const offenders = deviceSources.flatMap(file => hashPrivates(fs.readFileSync(path.join(projectRoot, file), "utf8")).map(line => `${file}: ${line}`));
		expect(offenders).toEqual([]);
	});
});
