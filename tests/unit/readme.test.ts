// The README's commands are the ones that work: the two commands and CI's,
// and the harness run without the registry and without npm's banner on stdout.
// Its configuration table moved to docs/configuration.md (tests/unit/docs.test.ts).

import * as fs from "node:fs";
import { describe, expect, it } from "vitest";

const readme = fs.readFileSync(new URL("../../README.md", import.meta.url), "utf8");
describe("README", () => {
	it("shows the two commands and the test command CI runs", () => {
		expect(readme).toContain("npm install && npm start");
		expect(readme).toContain("npm test");
		// CI runs the install and the README's test command, nothing else: what the tiers need, npm test makes (tests/prepare.sh).
		const commands = fs
			.readFileSync(new URL("../../.ci/run", import.meta.url), "utf8")
			.split("\n")
			.filter(line => line && !line.startsWith("#") && !line.startsWith("set ") && !line.startsWith("cd "));
		expect(commands).toEqual([".ci/install", "npm test"]);
		expect(JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")).scripts.test).toMatch(
			/tests\/prepare\.sh && tests\/device-suites\.mjs$/,
		);
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
