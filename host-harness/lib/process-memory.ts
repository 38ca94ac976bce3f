/*
 * Resident memory of a process on this PC, sampled from /proc while
 * something runs: how much a device grew while it carried a load.
 */

import * as fs from "node:fs";

export function residentBytes(pid: number): number | undefined {
	try {
		const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
		const match = /VmRSS:\s+(\d+) kB/.exec(status);
		return match ? Number(match[1]) * 1024 : undefined;
	} catch {
		return undefined;
	}
}

/** Sample a process's resident memory every intervalMs while work runs; resolves with the work's result and the peak growth. */
export async function measureGrowth<T>(
	pid: number | undefined,
	work: () => Promise<T>,
	intervalMs = 50,
): Promise<{ result: T; baseline?: number; peak?: number; growth?: number }> {
	if (!pid) return { result: await work() };
	const baseline = residentBytes(pid);
	let peak = baseline ?? 0;
	const timer = setInterval(() => {
		peak = Math.max(peak, residentBytes(pid) ?? 0);
	}, intervalMs);
	try {
		const result = await work();
		peak = Math.max(peak, residentBytes(pid) ?? 0);
		return { result, baseline, peak, growth: baseline === undefined ? undefined : peak - baseline };
	} finally {
		clearInterval(timer);
	}
}
