/*
 * CPU time of a process on this PC, as the kernel counts it: utime + stime
 * of /proc/<pid>/stat (proc(5) fields 14 and 15), every thread of the
 * process together, in clock ticks of USER_HZ (100 on Linux: 10 ms each).
 *
 * A device is often started through launchers that exec what they run
 * (`ip netns exec`, `stdbuf`, perl's sigprocmask wrapper), so its PID is the
 * program's own once it runs; programPid checks that by name, and finds the
 * program among the PID's descendants when a launcher forked instead.
 */

import * as fs from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ). */
export const ticksPerSecond = 100;

/** The fields of /proc/<pid>/stat after the command name (field 3, the state, is [0]). */
function statFields(pid: number): string[] {
	const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
	return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** The process's CPU time so far, user and system, every thread: clock ticks (ticksPerSecond). */
export function cpuTicks(pid: number): number {
	const fields = statFields(pid);
	return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of proc(5))
}

/** The process's program name (/proc/<pid>/comm: at most 15 characters). */
export function programName(pid: number): string {
	return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
}

function childrenOf(pid: number): number[] {
	const children: number[] = [];
	for (const entry of fs.readdirSync("/proc")) {
		const child = Number(entry);
		if (!Number.isInteger(child)) continue;
		try {
			if (Number(statFields(child)[1]) === pid) children.push(child); // field 4, the parent
		} catch {
			// gone meanwhile
		}
	}
	return children;
}

/** The PID, or the first of its descendants, whose program is one of `names`: the process that runs the device, past its launchers. */
export function programPid(pid: number, names: readonly string[]): number {
	const seen: string[] = [];
	const queue = [pid];
	while (queue.length) {
		const next = queue.shift()!;
		const name = programName(next);
		if (names.includes(name)) return next;
		seen.push(`${next} ${name}`);
		queue.push(...childrenOf(next));
	}
	throw new Error(`no ${names.join(" or ")} process at or under PID ${pid} (${seen.join(", ")})`);
}
