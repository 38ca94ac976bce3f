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
