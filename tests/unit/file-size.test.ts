// One job per file: a harness source over 450 lines says at its
// top why it is long (a line "Long because …" in its opening comment), so a
// file that grows past that by accretion shows up here.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const limit = 450;

function sources(folder: string): string[] {
	return (fs.readdirSync(path.join(root, folder), { recursive: true, encoding: "utf8" }) as string[])
		.filter(name => /\.(ts|js|mjs)$/.test(name) && !name.endsWith(".d.ts"))
		.map(name => path.join(folder, name));
}

describe("file sizes", () => {
	it(`every source over ${limit} lines says at its top why it is long`, () => {
		const files = sources("host-harness");
		expect(files.length).toBeGreaterThan(150);
		const unexplained = files.filter(file => {
			const text = fs.readFileSync(path.join(root, file), "utf8");
			if (text.split("\n").length <= limit) return false;
			const opening = /^\s*\/\*[\s\S]*?\*\//.exec(text)?.[0] ?? "";
			return !/Long because/.test(opening);
		});
		expect(unexplained).toEqual([]);
	});
});
