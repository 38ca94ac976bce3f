/*
 * The esp32 build, as far as it can go without ESP-IDF: `mcconfig -p esp32`
 * resolves the manifests and generates the build, then the generated
 * makefile compiles every module with xsc (tsc first for .ts) and links the
 * JS side of the image with xsl (mc.xs.c). Only the C side, which needs
 * ESP-IDF, is left out. `npm run flash` does the real thing on a machine
 * with ESP-IDF.
 */

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../lib/project.js";
import { prepareSdkSockets, type Sdk, sdkEnvironment } from "../lib/sdk.js";
import { builtFile } from "./built-file.js";
import type { AppBuild } from "./sim.js";

export const esp32BuildDir = path.join(projectRoot, "build", "esp32");

export interface Esp32JsBuild {
	/** The linked JS side of the image. */
	archive: string;
	/** Compiled modules: specifier → .xsb file. */
	modules: Map<string, string>;
	output: string;
}

/** A tool run to its end, its output returned; without blocking this process (a suite's worker must keep answering vitest while it runs). */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
		let output = "";
		const keep = (text: string) => {
			output = (output + text).slice(-64 * 1024 * 1024);
		};
		child.stdout.setEncoding("utf8").on("data", keep);
		child.stderr.setEncoding("utf8").on("data", keep);
		child.once("error", error => reject(new Error(`${path.basename(command)} ${args.join(" ")} failed (${error.message})`)));
		child.once("close", status => {
			if (status === 0) resolve(output);
			else reject(new Error(`${path.basename(command)} ${args.join(" ")} failed (exit ${status}):\n${output.trim().split("\n").slice(-25).join("\n")}`));
		});
	});
}

function listXsb(dir: string, base = dir, into = new Map<string, string>()): Map<string, string> {
	for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
		const full = path.join(dir, entry.name);
		if (entry.isDirectory()) listXsb(full, base, into);
		else if (entry.name.endsWith(".xsb")) into.set(path.relative(base, full).slice(0, -4), full);
	}
	return into;
}

/**
 * Generate the esp32 build (of our app, or of `app`) and compile and link its JS side.
 * `debug` adds -d (as npm run flash does); `env`, the tools' environment (default: sdkEnvironment).
 */
export async function buildEsp32JsSide(
	sdk: Sdk,
	config: Record<string, string> = {},
	debug = true,
	app?: AppBuild,
	env = sdkEnvironment(sdk, projectRoot),
): Promise<Esp32JsBuild> {
	const outDir = app?.outDir ?? esp32BuildDir;
	prepareSdkSockets(sdk, projectRoot); // tcp/manifest.json takes the board's TCP socket from there
	fs.mkdirSync(outDir, { recursive: true });
	const args = [...(debug ? ["-d"] : []), "-p", "esp32", "-o", outDir, ...Object.entries(config).map(([k, v]) => `${k}=${v}`)];
	let output = await run(sdk.mcconfig, args, app?.manifestDir ?? projectRoot, env);
	const makefile = builtFile(path.join(outDir, "tmp", "esp32"), "makefile", app?.manifestDir ?? projectRoot);
	if (!makefile) throw new Error(`mcconfig -p esp32 generated no makefile under ${outDir}/tmp/esp32`);
	const tmpDir = path.dirname(makefile);
	// The makefile asks ESP-IDF for its version and sdkconfig.h; neither is needed for mc.xs.c.
	const noIdf = path.join(outDir, "no-esp-idf");
	fs.mkdirSync(noIdf, { recursive: true });
	const archive = path.join(tmpDir, "mc.xs.c");
	fs.rmSync(archive, { force: true }); // xsl links again, and reports, even when every module is up to date
	output += await run("make", ["-f", makefile, `IDF_PATH=${noIdf}`, "IDF_VERSION=v5.4", "SDKCONFIG_H=", archive], tmpDir, env);
	if (!fs.existsSync(archive)) throw new Error(`xsl produced no ${archive}`);
	return { archive, modules: listXsb(path.join(tmpDir, "modules")), output };
}
