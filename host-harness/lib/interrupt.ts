/*
 * Ctrl-C for a command that keeps what was done (conformance, soak, the
 * fleet forms): the first SIGINT says what happens now and aborts `signal`,
 * so the command winds down and reports its partial result (exit 130); a
 * second one quits at once.
 */

export interface Interrupt {
	readonly signal: AbortSignal;
	/** Whether Ctrl-C came. */
	readonly interrupted: boolean;
	/** The command is done: SIGINT is the default again. */
	release(): void;
}

/** `says`: the line printed at the first Ctrl-C, after "interrupted: " (e.g. "finishing the cases under way"). */
export function onInterrupt(command: string, says: string, onFirst?: () => void): Interrupt {
	const controller = new AbortController();
	const handler = () => {
		if (controller.signal.aborted) process.exit(130);
		process.stderr.write(`\n${command}: interrupted: ${says} (Ctrl-C again to quit now)\n`);
		controller.abort();
		onFirst?.();
	};
	process.on("SIGINT", handler);
	return {
		signal: controller.signal,
		get interrupted() {
			return controller.signal.aborted;
		},
		release() {
			process.off("SIGINT", handler);
		},
	};
}

export interface StopSignal {
	/** Resolves at the first SIGINT or SIGTERM, or at stop(). */
	readonly stopped: Promise<void>;
	/** Stop now, as a signal would (a --duration's end, a device gone). */
	stop(): void;
}

/**
 * Ctrl-C and SIGTERM for a command that runs until stopped (serve, logs, an app) and then
 * stops cleanly. The listeners are in place from this call: make it before the first line a
 * script may wait for, or a signal sent the moment it reads that line finds the default action.
 */
export function untilStopped(): StopSignal {
	let stop = () => {};
	const stopped = new Promise<void>(resolve => {
		stop = resolve;
	});
	process.once("SIGINT", stop);
	process.once("SIGTERM", stop);
	return { stopped, stop };
}
