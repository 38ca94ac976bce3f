// spawn() for the device suites, as node:child_process's, with one thing more:
// every process a suite file starts and that still runs when the file ends is
// stopped then (SIGTERM, as a user would; SIGKILL if it is still there after
// stopAfterMs), whichever step failed before the suite's own kill. A command
// left running (a device, serve, logs) holds ports, devices and CPU for the
// suites after it, and outlives the run. A detached child leads a process
// group of its own: the signal goes to the whole group.
import * as childProcess from "node:child_process";
import { afterAll } from "vitest";

/** How long a process left running has to stop on SIGTERM before SIGKILL (ms). */
const stopAfterMs = 10_000;

const running = new Map<childProcess.ChildProcess, { group: boolean }>();

function tracking<F extends (...args: never[]) => childProcess.ChildProcess>(start: F): F {
	return ((...args: Parameters<F>) => {
		const child = start(...args);
		const options = args.find(a => typeof a === "object" && a !== null && !Array.isArray(a)) as childProcess.SpawnOptions | undefined;
		running.set(child, { group: options?.detached === true });
		child.once("exit", () => running.delete(child));
		child.once("error", () => running.delete(child));
		return child;
	}) as F;
}

export const spawn = tracking(childProcess.spawn);

function signal(child: childProcess.ChildProcess, group: boolean, name: NodeJS.Signals): void {
	try {
		if (group && child.pid) process.kill(-child.pid, name);
		else child.kill(name);
	} catch {
		// gone already
	}
}

afterAll(async () => {
	const left = [...running];
	if (!left.length) return;
	console.log(`stopping ${left.length} process(es) this file left running: ${left.map(([c]) => c.spawnargs.slice(0, 4).join(" ")).join("; ")}`);
	await Promise.all(
		left.map(
			([child, { group }]) =>
				new Promise<void>(resolve => {
					if (child.exitCode !== null || child.signalCode !== null) return resolve();
					const timer = setTimeout(() => {
						signal(child, group, "SIGKILL");
						resolve();
					}, stopAfterMs);
					child.once("exit", () => {
						clearTimeout(timer);
						resolve();
					});
					signal(child, group, "SIGTERM");
				}),
		),
	);
}, stopAfterMs + 5000);
