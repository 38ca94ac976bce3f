/*
 * Finds the installed Moddable SDK the way Moddable's own tools do:
 * $MODDABLE, else ~/Projects/moddable (the Getting Started default), with
 * its Linux tools built (build/bin/lin/release/mcconfig and mcsim). The
 * project never builds or ships the SDK; it only uses an installed one.
 */

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface Sdk {
	root: string;
	bin: string;
	mcconfig: string;
	mcsim: string;
}

export type SdkLookup = { sdk: Sdk } | { missing: string };

export function findSdk(env: NodeJS.ProcessEnv = process.env): SdkLookup {
	const root = env.MODDABLE || path.join(os.homedir(), "Projects", "moddable");
	const from = env.MODDABLE ? "$MODDABLE" : "~/Projects/moddable ($MODDABLE is unset)";
	if (!fs.existsSync(root)) return { missing: `no Moddable SDK at ${root} (${from})` };
	const bin = path.join(root, "build", "bin", "lin", "release");
	const mcconfig = path.join(bin, "mcconfig");
	const mcsim = path.join(bin, "mcsim");
	for (const tool of [mcconfig, mcsim]) {
		if (!fs.existsSync(tool))
			return { missing: `the Moddable SDK at ${root} has no ${path.basename(tool)}: build its Linux tools (cd $MODDABLE/build/makefiles/lin && make)` };
	}
	return { sdk: { root, bin, mcconfig, mcsim } };
}

/**
 * The environment Moddable's tools expect: MODDABLE set, the SDK's tools and
 * this project's tsc on PATH, and XSNETKIT naming this kit (the variable an
 * app's manifest includes the kit through: "$(XSNETKIT)/tcp/manifest.json").
 */
export function sdkEnvironment(sdk: Sdk, projectRoot: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
	const projectBin = path.join(projectRoot, "node_modules", ".bin");
	return { ...env, MODDABLE: sdk.root, XSNETKIT: projectRoot, PATH: [projectBin, sdk.bin, env.PATH ?? ""].join(path.delimiter) };
}

/**
 * sdkEnvironment for a Linux (simulator) build: a make job per core unless
 * the caller set MAKEFLAGS (mcconfig runs `make` with no -j), and the C
 * compiler through ccache where it is installed and CC is not set (the lin
 * makefile takes CC from the environment). A build folder's first build
 * compiles the XS engine and the SDK's modules, about 80 files that are the
 * same in every folder (the simulator's, its debug build's, lwip's, each
 * app's); ccache compiles each once (tests/prepare.sh installs it).
 * CCACHE_NOHASHDIR: a debug build's objects are shared across folders too.
 */
export function linBuildEnvironment(sdk: Sdk, projectRoot: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
	const ccache = env.CC ? undefined : which("ccache", env);
	return {
		...sdkEnvironment(sdk, projectRoot, env),
		MAKEFLAGS: env.MAKEFLAGS ?? `-j${os.availableParallelism()}`,
		...(ccache ? { CC: `${ccache} cc`, CCACHE_NOHASHDIR: env.CCACHE_NOHASHDIR ?? "true" } : {}),
	};
}

export function which(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
	for (const dir of (env.PATH ?? "").split(path.delimiter)) {
		const candidate = path.join(dir, command);
		try {
			fs.accessSync(candidate, fs.constants.X_OK);
			return candidate;
		} catch {
			// not here
		}
	}
	return undefined;
}

/**
 * The SDK's lwIP sockets with the kit's fixes, where the esp32 build and the
 * lwip tier take them from (lwip/sdk-sockets.sh: seconds the first time,
 * nothing when done). Throws with the script's one line when it cannot.
 */
export function prepareSdkSockets(sdk: Sdk, projectRoot: string): void {
	const result = spawnSync(path.join(projectRoot, "lwip", "sdk-sockets.sh"), [], { env: { ...process.env, MODDABLE: sdk.root }, encoding: "utf8" });
	if (result.status !== 0) throw new Error((result.stderr || result.error?.message || `lwip/sdk-sockets.sh exited ${result.status}`).trim());
}
