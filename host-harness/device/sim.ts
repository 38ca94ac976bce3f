/*
 * The Moddable simulator as a device on this PC: the app is built with
 * `mcconfig -m -p lin -t build` into build/sim (never mcconfig's default
 * target, which launches mcsim and `pkill`s every other one), and run by
 * `mcsim` under a private, headless Xvfb. Both processes are tracked by PID
 * and stopped by PID.
 *
 * The simulator is a release build: its trace() output goes to stdout,
 * line-buffered through stdbuf so the harness sees each line as it is
 * logged.
 */

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { trackPid, untrackPid } from "../lib/pids.js";
import { projectRoot } from "../lib/project.js";
import { linBuildEnvironment, type Sdk, sdkEnvironment, which } from "../lib/sdk.js";
import { builtFile } from "./built-file.js";
import { DeviceProcess } from "./device-process.js";

export const simBuildDir = path.join(projectRoot, "build", "sim");

function sleep(ms: number): Promise<void> {
	return new Promise(resolve => setTimeout(resolve, ms));
}

/** One mcconfig at a time per build folder, across processes: a lock folder holding its owner's PID. */
async function withBuildLock<T>(work: () => Promise<T> | T): Promise<T> {
	const lock = path.join(simBuildDir, ".lock");
	fs.mkdirSync(simBuildDir, { recursive: true }); // one lock for the release and the debug build folders
	for (let attempt = 0; ; attempt++) {
		try {
			fs.mkdirSync(lock);
			fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
			break;
		} catch {
			let owner = NaN;
			try {
				owner = Number(fs.readFileSync(path.join(lock, "pid"), "utf8"));
			} catch {
				// being written or removed
			}
			let alive = false;
			try {
				alive = Number.isInteger(owner) && owner > 0 && process.kill(owner, 0);
			} catch {
				alive = false;
			}
			if (!alive && attempt > 2) fs.rmSync(lock, { recursive: true, force: true });
			else if (attempt > 1200) throw new Error(`the simulator build folder is locked by process ${owner}`);
			await sleep(250);
		}
	}
	try {
		return await work();
	} finally {
		fs.rmSync(lock, { recursive: true, force: true });
	}
}

/** Another app than ours (a user's app on our libraries): the folder of its manifest, and a git-ignored build folder. */
export interface AppBuild {
	manifestDir: string;
	outDir: string;
}

/**
 * Build the app (ours, or `app`) for the simulator with these mcconfig key=value arguments and
 * return a private copy of the resulting mc.so (a later build must not
 * rewrite a library a running simulator has mapped).
 */
export async function buildForSimulator(
	sdk: Sdk,
	config: Record<string, string>,
	debug = false,
	app?: AppBuild,
	progress?: (text: string) => void,
): Promise<string> {
	const t0 = Date.now();
	const seconds = () => `${Math.round((Date.now() - t0) / 1000)} s`;
	// A line every 3 s while waiting for the lock and building, so a piped run is never silent.
	let stage = "waiting for another simulator build to finish";
	const ticker = progress ? setInterval(() => progress(`${stage}: ${seconds()}`), 3000) : undefined;
	ticker?.unref();
	return withBuildLock(async () => {
		stage = "building the app for the simulator (mcconfig)";
		// A debug build (-d) reports to an xsbug-protocol debugger (xsbug, host-harness logs) as well as to stdout.
		const outDir = app?.outDir ?? (debug ? `${simBuildDir}-debug` : simBuildDir);
		fs.mkdirSync(outDir, { recursive: true });
		const args = [...(debug ? ["-d"] : []), "-m", "-p", "lin", "-o", outDir, "-t", "build", ...Object.entries(config).map(([k, v]) => `${k}=${v}`)];
		// Asynchronous, so the progress lines keep coming while it runs.
		const result = await new Promise<{ status: number | null; output: string; error?: Error }>(resolve => {
			const child = spawn(sdk.mcconfig, args, {
				cwd: app?.manifestDir ?? projectRoot,
				env: linBuildEnvironment(sdk, projectRoot),
				stdio: ["ignore", "pipe", "pipe"],
			});
			let output = "";
			const keep = (chunk: Buffer) => {
				output = (output + chunk.toString()).slice(-256 * 1024);
			};
			child.stdout.on("data", keep);
			child.stderr.on("data", keep);
			child.once("error", error => resolve({ status: null, output, error }));
			child.once("close", status => resolve({ status, output }));
		});
		if (result.status !== 0) {
			const output = result.output.trim().split("\n").slice(-25).join("\n");
			throw new Error(`mcconfig ${args.join(" ")} failed after ${seconds()} (${result.error?.message ?? `exit ${result.status}`}); its last lines:\n${output}`);
		}
		progress?.(`built the app for the simulator in ${seconds()}`);
		const library = builtFile(path.join(outDir, "bin", "lin"), "mc.so", app?.manifestDir ?? projectRoot);
		if (!library) throw new Error(`mcconfig succeeded but left no mc.so under ${outDir}`);
		const runDir = path.join(simBuildDir, "run");
		fs.mkdirSync(runDir, { recursive: true });
		const copy = path.join(runDir, `mc-${process.pid}-${Date.now()}.so`);
		fs.copyFileSync(library, copy);
		return copy;
	}).finally(() => clearInterval(ticker));
}

export interface Display {
	display: string;
	stop(): Promise<void>;
}

/** A private headless X server; Xvfb picks a free display number itself (-displayfd). */
export async function startXvfb(): Promise<Display> {
	const xvfb = which("Xvfb");
	if (!xvfb) throw new Error("Xvfb is not installed: the simulator needs it to run headless (apt-get install xvfb)");
	const child = spawn(xvfb, ["-displayfd", "3", "-screen", "0", "640x480x24", "-nolisten", "tcp"], {
		stdio: ["ignore", "ignore", "pipe", "pipe"],
		detached: true,
	});
	trackPid(child.pid);
	const display = await new Promise<string>((resolve, reject) => {
		let text = "";
		let errors = "";
		const timer = setTimeout(() => reject(new Error(`Xvfb did not start within 10 s: ${errors.trim()}`)), 10_000);
		child.stderr?.on("data", (chunk: Buffer) => {
			errors += chunk.toString();
		});
		child.stdio[3]?.on("data", (chunk: Buffer) => {
			text += chunk.toString();
			if (text.includes("\n")) {
				clearTimeout(timer);
				resolve(`:${text.trim()}`);
			}
		});
		child.once("exit", code => {
			clearTimeout(timer);
			reject(new Error(`Xvfb exited (${code}): ${errors.trim()}`));
		});
	});
	return {
		display,
		async stop() {
			if (child.exitCode === null && child.signalCode === null) {
				const gone = new Promise<void>(resolve => child.once("exit", () => resolve()));
				child.kill("SIGTERM");
				await gone;
			}
			untrackPid(child.pid);
		},
	};
}

/**
 * A debug build (one that connects to xsbug: XSBUG_PORT in its environment)
 * runs with SIGPIPE blocked, as the release build runs with it ignored: the
 * SDK's xsbug connection (lin_xs.c fxConnect) sets SIGPIPE back to its
 * default, and the simulator's sockets (lin tcp.c) write without
 * MSG_NOSIGNAL, so the first write to a socket whose reset was already read
 * (the zero-length write that learns the budget after onError) would end
 * the simulator. A blocked signal stays pending; the write fails with EPIPE,
 * which the TCP library handles. perl (perl-base, in every Debian) blocks it
 * and execs mcsim, which keeps the mask; without perl the build runs as is.
 */
const sigpipeBlocked = ["-MPOSIX", "-e", "sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGPIPE)) or die $!; exec @ARGV or die $!"];

/** Spawn mcsim on a library under a display (inside a network namespace with `prefix`, e.g. ip netns exec ns); the caller wraps it in a DeviceProcess. */
export function spawnSimulator(sdk: Sdk, library: string, display: string, env: NodeJS.ProcessEnv = {}, prefix: string[] = []) {
	const stdbuf = which("stdbuf");
	const perl = env.XSBUG_PORT ? which("perl") : undefined;
	const [command, ...args] = [
		...prefix,
		...(perl ? [perl, ...sigpipeBlocked] : []),
		...(stdbuf ? [stdbuf, "-oL", "-eL", sdk.mcsim, library] : [sdk.mcsim, library]),
	];
	// Its own process group, as the Node-hosted device's (device/targets.ts): a terminal's Ctrl-C reaches the harness alone.
	const child = spawn(command, args, {
		env: { ...sdkEnvironment(sdk, projectRoot), ...env, DISPLAY: display },
		stdio: ["ignore", "pipe", "pipe"],
		detached: true,
	});
	trackPid(child.pid);
	child.once("exit", () => untrackPid(child.pid));
	return child;
}

/** Run mcsim on a private copy of a library under a private Xvfb (see spawnSimulator); stopping the device stops both and removes the copy. */
export async function runSimulator(
	sdk: Sdk,
	library: string,
	name: string,
	readyTimeoutMs: number,
	env: NodeJS.ProcessEnv = {},
	prefix: string[] = [],
): Promise<DeviceProcess> {
	let xvfb: Display;
	try {
		xvfb = await startXvfb();
	} catch (e) {
		fs.rmSync(library, { force: true });
		throw e;
	}
	const child = spawnSimulator(sdk, library, xvfb.display, env, prefix);
	const device = new DeviceProcess(child, name, readyTimeoutMs);
	device.onStopped(() => xvfb.stop());
	device.onStopped(() => fs.rmSync(library, { force: true }));
	return device;
}
