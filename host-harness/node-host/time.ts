/*
 * Moddable's `time` module for the Node-hosted device, and its clock.
 *
 * On a board the clock reads 1970 until something sets it (Time.set, from
 * the SNTP client); the Node-hosted device starts with the PC's time unless
 * XSNK_HOST_CLOCK gives another start (ms since 1970; "0" boots at 1970 as
 * a board does). The device's clock is the process's `Date`: Date.now() and
 * `new Date()` read real time plus an offset, which Time.set() moves. The
 * host providers in the same process (socket-tls.ts judges certificate
 * dates with it) read the same clock, as the device's own code does.
 *
 * Deviations: timezone and dst are kept as numbers and change nothing;
 * Time.ticks is Node's monotonic clock (ms), as on the simulator.
 */

import { performance } from "node:perf_hooks";

const RealDate = Date;
let offset = 0;
let installed = false;

/** Replace the global Date with the device clock (real time + offset). Idempotent. */
export function installDeviceClock(startMs?: number): void {
	if (startMs !== undefined) offset = startMs - RealDate.now();
	if (installed) return;
	installed = true;
	class DeviceDate extends RealDate {
		constructor(...args: unknown[]) {
			if (args.length === 0) super(RealDate.now() + offset);
			else super(...(args as [number]));
		}
		static override now(): number {
			return RealDate.now() + offset;
		}
	}
	globalThis.Date = DeviceDate as DateConstructor;
}

const Time = {
	/** Set the clock to `seconds` since 1970 (UTC). */
	set(seconds: number): void {
		installDeviceClock(seconds * 1000);
	},
	timezone: 0,
	dst: 0,
	get ticks(): number {
		return Math.floor(performance.now());
	},
	delta(start: number, end?: number): number {
		return (end ?? Math.floor(performance.now())) - start;
	},
};

export default Time;
