/*
 * Programs for a machine's <eval> (protocol.ts commands.evaluate): compiled
 * by the SDK's own compiler, xsc, as xsbug compiles what is typed in its
 * console (tools/xsbug/DebugBehavior.c PiuDebugBehavior_compile: a program,
 * eval, debug and strict flags, one XS_B atom of VERS, SYMB and CODE). The
 * machine checks that the atom's major and minor versions are its own: the
 * xsc of the SDK that built it.
 */

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findSdk } from "../lib/sdk.js";

/** A program's compiled form, for commands.evaluate. Its value is that of its last expression statement. */
export function compileProgram(source: string, env: NodeJS.ProcessEnv = process.env): Uint8Array {
	const lookup = findSdk(env);
	if (!("sdk" in lookup)) throw new Error(`cannot compile a program for the machine: ${lookup.missing}`);
	const xsc = path.join(lookup.sdk.bin, "xsc");
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xsnk-eval-"));
	try {
		const input = path.join(dir, "program.js");
		fs.writeFileSync(input, source);
		// -e: the .xsb file; -eval -p -d: a program whose value is returned, with line numbers.
		const result = spawnSync(xsc, ["-d", "-e", "-eval", "-p", input, "-o", dir], { encoding: "utf8" });
		const output = path.join(dir, "program.xsb");
		if (result.status !== 0 || !fs.existsSync(output))
			throw new Error(`xsc could not compile the program (${result.error?.message ?? `exit ${result.status}`}): ${(result.stderr || result.stdout).trim()}`);
		return new Uint8Array(fs.readFileSync(output));
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
}
