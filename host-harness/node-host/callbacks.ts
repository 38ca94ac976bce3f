/*
 * How the host providers call into device code, as XS does on esp32 and the
 * simulator: each platform callback runs in its own host turn, with `this`
 * bound to the platform object, and an exception that escapes device code
 * aborts the device (xsEndHost → fxAbort(xsUnhandledExceptionExit): the
 * simulator quits the app, a board resets). The Node-hosted device exits
 * with status 70 after printing the exception like XS does.
 */

export const abortStatus = 70;

export function invoke<T extends object>(target: T, callback: ((this: T, ...args: never[]) => unknown) | undefined, ...args: unknown[]): void {
	if (!callback) return;
	try {
		(callback as (this: T, ...a: unknown[]) => unknown).apply(target, args);
	} catch (e) {
		abort(e);
	}
}

export function abort(e: unknown): never {
	const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
	process.stdout.write(`# exception: ${detail}\n# device aborted: unhandled exception\n`);
	process.exit(abortStatus);
}

/** Run fn in a later host turn (platform callbacks never run inside the call that caused them). */
export function later(fn: () => void): void {
	setImmediate(fn);
}
