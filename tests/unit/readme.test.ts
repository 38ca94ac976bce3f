// The README's configuration table is the user's reference: every key of the
// schema appears in it with its real default and documentation, and nothing else.
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import { schema } from "app/config-schema";

const readme = fs.readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const section = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("### Ports"));
const rows = new Map([...section.matchAll(/^\| `(\w+)` \| (.*?) \| (.*?) \|$/gm)].map(m => [m[1], { value: m[2], doc: m[3] }]));

describe("README configuration table", () => {
	it.each(Object.entries(schema))("documents %s with its default", (key, spec) => {
		expect(rows.get(key)).toEqual({ value: JSON.stringify(spec.default), doc: spec.doc });
	});

	it("documents no key the schema lacks", () => {
		expect([...rows.keys()].filter(k => !(k in schema))).toEqual([]);
	});

	it("shows the two commands and the test command CI runs", () => {
		expect(readme).toContain("npm install && npm start");
		expect(readme).toContain("npm test");
		expect(fs.readFileSync(new URL("../../.ci/run", import.meta.url), "utf8")).toMatch(/^npm test$/m);
		expect(fs.readFileSync(new URL("../../.ci/install", import.meta.url), "utf8")).toMatch(/^if ! npm ci /m);
	});

	it("never sends our own bin through the registry, and keeps npm's banner off the device line", () => {
		// npx host-harness can fall back to the registry (404 for host-harness); npm run without -s prints "> xs-netkit@…" on stdout.
		expect(readme).not.toMatch(/npx host-harness|npx (?!--no-install |vitest)\S/);
		expect(readme).not.toMatch(/npm run (device|harness)\b/);
		expect(readme).toContain("npm run -s harness -- ");
		expect(readme).toContain("npm run -s device -- --target node");
	});
});
