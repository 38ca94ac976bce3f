/*
 * Every process the harness starts for a device is recorded here by PID, so
 * that if the harness itself is stopped mid-run nothing it started outlives
 * it: on exit it kills exactly those PIDs, never anything by name.
 */

const live = new Set<number>();
let hooked = false;

export function trackPid(pid: number | undefined): void {
	if (!pid)
		return;
	live.add(pid);
	if (!hooked) {
		hooked = true;
		process.once("exit", () => {
			for (const p of live) {
				try {
					process.kill(p, "SIGKILL");
				}
				catch {
					// already gone
				}
			}
		});
	}
}

export function untrackPid(pid: number | undefined): void {
	if (pid)
		live.delete(pid);
}
