// What the harness starts for a device does not outlive it: killed at its
// exit, and when a signal ends it that nothing else handles (a test runner's
// timeout sends SIGTERM; Node's default action skips the exit event).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const pids = path.resolve(import.meta.dirname, "../../build/node/host-harness/lib/pids.js");

/** Running: a zombie (killed, its parent gone before reaping it) is not. */
function alive(pid: number): boolean {
	try {
		return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
	} catch {
		return false;
	}
}

/** A Node process that starts a long `sleep`, tracks it, and prints its PID. */
async function harnessWithChild(): Promise<{ harness: ReturnType<typeof spawn>; child: number }> {
	const source = `
		const { spawn } = require("node:child_process");
		import(${JSON.stringify(pids)}).then(({ trackPid }) => {
			const sleeper = spawn("sleep", ["600"], { detached: true, stdio: "ignore" });
			trackPid(sleeper.pid);
			console.log(sleeper.pid);
			setInterval(() => {}, 1000);
		});`;
	const harness = spawn(process.execPath, ["-e", source], { stdio: ["ignore", "pipe", "inherit"] });
	const child = await new Promise<number>(resolve => harness.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim()))));
	return { harness, child };
}

describe("device processes the harness started", () => {
	for (const signal of ["SIGTERM", "SIGINT"] as const)
		it(`are killed when ${signal} ends the harness`, async () => {
			const { harness, child } = await harnessWithChild();
			expect(alive(child)).toBe(true);
			const ended = new Promise<NodeJS.Signals | null>(resolve => harness.once("exit", (_code, by) => resolve(by)));
			harness.kill(signal);
			expect(await ended).toBe(signal);
			// (A SIGKILL is delivered at once; this only bounds the wait for the kernel to show it.)
			for (let i = 0; i < 50 && alive(child); i++) await new Promise(resolve => setTimeout(resolve, 100));
			const left = alive(child);
			if (left) process.kill(child, "SIGKILL");
			expect(left).toBe(false);
		});
});
