/*
 * Every process the harness starts for a device is recorded here by PID, so
 * that if the harness itself is stopped mid-run nothing it started outlives
 * it: on exit, or on a signal nothing else handles (SIGTERM from a timeout,
 * SIGINT, SIGHUP), it kills exactly those PIDs, never anything by name.
 *
 * The record lives on `process`, not in this module: test runners load a
 * fresh copy of the module per test file, and one exit hook is enough.
 */

const key = Symbol.for("xs-netkit.device-pids");

function live(): Set<number> {
	const holder = process as unknown as Record<symbol, Set<number> | undefined>;
	let pids = holder[key];
	if (!pids) {
		pids = holder[key] = new Set<number>();
		const all = pids;
		const killAll = () => {
			for (const pid of all) {
				try {
					process.kill(pid, "SIGKILL");
				} catch {
					// already gone
				}
			}
		};
		process.once("exit", killAll);
		// A signal's default action ends Node without its exit event: where nothing else handles
		// the signal (a command that stops cleanly does, then exits), kill them, then die of it.
		for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
			const onSignal = () => {
				if (process.listenerCount(signal) > 1) return;
				killAll();
				process.off(signal, onSignal);
				process.kill(process.pid, signal);
			};
			process.on(signal, onSignal);
		}
	}
	return pids;
}

export function trackPid(pid: number | undefined): void {
	if (pid) live().add(pid);
}

export function untrackPid(pid: number | undefined): void {
	if (pid) live().delete(pid);
}
