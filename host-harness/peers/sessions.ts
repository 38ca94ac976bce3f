/*
 * What the peers share: waiting for the device's n-th session to arrive.
 */

interface SessionSource {
	on(event: "session", listener: () => void): unknown;
	off(event: "session", listener: () => void): unknown;
}

/** Resolves with sessions[index] once it exists; `what` names the wait in the timeout error. */
export function nthSession<T>(source: SessionSource, sessions: readonly T[], index: number, timeoutMs: number, what: () => string): Promise<T> {
	if (sessions[index]) return Promise.resolve(sessions[index]);
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			source.off("session", onSession);
			reject(new Error(`no ${what()} #${index + 1} within ${timeoutMs} ms`));
		}, timeoutMs);
		const onSession = () => {
			if (sessions[index]) {
				clearTimeout(timer);
				source.off("session", onSession);
				resolve(sessions[index]);
			}
		};
		source.on("session", onSession);
	});
}
