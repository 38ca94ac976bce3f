// shareOut (tests/device-suites.mjs): how the device suites' files are shared between the vitest runs
// npm test starts at once.
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module of the test command, without types
import { shareOut } from "../device-suites.mjs";

type Share = { files: string[]; seconds: number };

describe("shareOut", () => {
	it("gives each file, longest first, to the run with the least so far", () => {
		const shares: Share[] = shareOut(["a", "b", "c", "d", "e"], { a: 100, b: 60, c: 50, d: 40, e: 10 }, 2);
		expect(shares.map(s => s.files)).toEqual([
			["a", "d"],
			["b", "c", "e"],
		]);
		expect(shares.map(s => s.seconds)).toEqual([140, 120]);
	});

	it("weighs a file with no duration at the median of the known ones", () => {
		const shares: Share[] = shareOut(["new", "x", "y", "z"], { x: 30, y: 20, z: 10 }, 2);
		expect(shares.flatMap(s => s.files).sort()).toEqual(["new", "x", "y", "z"]);
		expect(shares.find(s => s.files.includes("new"))).toEqual({ files: ["new", "y"], seconds: 20 + 20 });
	});

	it("makes no empty run", () => {
		expect((shareOut(["only"], {}, 2) as Share[]).map(s => s.files)).toEqual([["only"]]);
	});
});
