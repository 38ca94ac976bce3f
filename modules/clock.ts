/*
 * Whether the device's clock holds the time of day. A board boots at 1970
 * and keeps it until something sets it (the SNTP client, sntp/client); the
 * simulator and the Node-hosted device start with the PC's time. Certificate
 * dates are judged against this clock, so a TLS client asks here before it
 * connects (tcp/client, websocket/client) and waits, bounded, while it reads
 * "never set".
 *
 * Stateless on purpose: preloaded modules keep no state of their own, and
 * "set" is a property of the time itself (nothing after 2020 is a clock that
 * was never set).
 */

import type { Log } from "modules/log";
import Time from "time";

/** A clock reading before this (2020-01-01T00:00:00Z) was never set. */
export const clockSetAfter = 1577836800000;

/** Whether the clock has been set (reads after 2020). */
export function clockIsSet(now = Date.now()): boolean {
	return now >= clockSetAfter;
}

/** Set the clock (ms since 1970, UTC). On esp32 this sets the system time; the simulator keeps the PC's. */
export function setClock(ms: number): void {
	Time.set(Math.floor(ms / 1000));
}

/** A monotonic millisecond count for measuring intervals across a change of the clock. */
export function ticks(): number {
	return Time.ticks;
}

/** How often a client waiting for the clock looks again (ms). */
export const clockPollInterval = 500;

/**
 * For a TLS client about to connect to `peer`, having waited `waited` ms for
 * the clock so far (0 at its start): how long to wait before it asks again,
 * or 0 to connect now (the clock is set, or `limit` ms have passed). Logs
 * when a wait begins and when it is given up, so the log says why a TLS
 * client is quiet and, later, why its certificate dates fail.
 */
export function clockWait(waited: number, limit: number, log: Log, peer: string): number {
	if (clockIsSet()) return 0;
	if (waited >= limit) {
		if (waited < limit + clockPollInterval)
			log.warn(`the clock is still not set after ${limit} ms: connecting to ${peer} anyway (its certificate dates cannot be judged)`);
		return 0;
	}
	if (waited === 0) log.info(`waiting up to ${limit} ms for the clock (SNTP) before TLS to ${peer}: it reads ${new Date().toISOString()}`);
	return clockPollInterval;
}
