// linBuildEnvironment (host-harness/lib/sdk.ts): what a simulator build's make gets, read from a PATH
// this test makes (a directory with or without an executable named ccache).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { linBuildEnvironment, type Sdk } from "../../host-harness/lib/sdk.js";

const sdk: Sdk = { root: "/sdk", bin: "/sdk/bin", mcconfig: "/sdk/bin/mcconfig", mcsim: "/sdk/bin/mcsim" };
const withCcache = fs.mkdtempSync(path.join(os.tmpdir(), "ccache-path-"));
const without = fs.mkdtempSync(path.join(os.tmpdir(), "no-ccache-path-"));
fs.writeFileSync(path.join(withCcache, "ccache"), "#!/bin/sh\n", { mode: 0o755 });

afterAll(() => {
	for (const dir of [withCcache, without]) fs.rmSync(dir, { recursive: true, force: true });
});

describe("linBuildEnvironment", () => {
	it("compiles through ccache where it is on PATH, a make job per core", () => {
		const env = linBuildEnvironment(sdk, "/kit", { PATH: withCcache });
		expect(env.CC).toBe(`${path.join(withCcache, "ccache")} cc`);
		expect(env.MAKEFLAGS).toBe(`-j${os.availableParallelism()}`);
		expect(env.MODDABLE).toBe("/sdk");
	});

	it("leaves CC and MAKEFLAGS to the caller who set them, and CC alone without ccache", () => {
		expect(linBuildEnvironment(sdk, "/kit", { PATH: withCcache, CC: "clang", MAKEFLAGS: "-j1" })).toMatchObject({ CC: "clang", MAKEFLAGS: "-j1" });
		expect(linBuildEnvironment(sdk, "/kit", { PATH: without }).CC).toBeUndefined();
	});
});
