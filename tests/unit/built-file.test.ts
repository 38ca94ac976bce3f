// builtFile (host-harness/device/built-file.ts): which mc.so a simulator build folder hands the
// simulator (and which makefile an esp32 build runs), read from a folder this test makes as mcconfig lays one out.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { builtFile } from "../../host-harness/device/built-file.js";

const bin = fs.mkdtempSync(path.join(os.tmpdir(), "sim-bin-"));
function library(app: string, age: number): string {
	const file = path.join(bin, "mc", "release", app, "mc.so");
	fs.mkdirSync(path.dirname(file), { recursive: true });
	fs.writeFileSync(file, app);
	const when = new Date(Date.now() - age * 1000);
	fs.utimesSync(file, when, when);
	return file;
}

afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

describe("builtFile", () => {
	it("takes the library named after the app's folder, even when another checkout's is newer", () => {
		const ours = library("kit", 60);
		library("other-checkout", 0);
		expect(builtFile(bin, "mc.so", "/work/kit")).toBe(ours);
	});

	it("takes the newest when none is named after the app", () => {
		expect(builtFile(bin, "mc.so", "/work/renamed")).toBe(path.join(bin, "mc", "release", "other-checkout", "mc.so"));
	});

	it("finds nothing in a folder that has no build", () => {
		expect(builtFile(path.join(bin, "absent"), "mc.so", "/work/kit")).toBeUndefined();
	});
});
