/*
 * `timer` for the Node-hosted device, after Moddable's Timer:
 * set(callback, interval = 0, repeat?), repeat(callback, interval),
 * schedule(timer, interval?, repeat?), clear(timer), delay(ms). The callback
 * receives the timer. A one-shot timer is done after it fires; clearing it
 * then is harmless. schedule() with no interval leaves the timer unscheduled
 * but alive, as on the device.
 *
 * Deviation: Node's timer resolution (~1 ms, no 20 ms tick as on the
 * simulator's socket polling).
 */

import { invoke } from "./callbacks.js";

type TimerCallback = (timer: Timer) => void;

/** Armed timers, for the control channel's stats. */
export const liveTimers = new Set<unknown>();

class Timer {
	#callback: TimerCallback;
	#handle: NodeJS.Timeout | undefined;
	#repeat: number | undefined;

	private constructor(callback: TimerCallback) {
		this.#callback = callback;
	}

	#arm(interval: number, repeat: number | undefined): void {
		this.#disarm();
		this.#repeat = repeat;
		this.#handle = setTimeout(() => this.#fire(), Math.max(0, interval));
		liveTimers.add(this);
	}

	#disarm(): void {
		if (this.#handle) clearTimeout(this.#handle);
		this.#handle = undefined;
		liveTimers.delete(this);
	}

	#fire(): void {
		this.#handle = undefined;
		liveTimers.delete(this);
		if (this.#repeat !== undefined) this.#arm(this.#repeat, this.#repeat);
		invoke(this, this.#callback as (this: Timer, t: Timer) => void, this);
	}

	static set(callback: TimerCallback, interval = 0, repeat?: number): Timer {
		const timer = new Timer(callback);
		timer.#arm(interval, repeat);
		return timer;
	}

	static repeat(callback: TimerCallback, interval: number): Timer {
		const timer = new Timer(callback);
		timer.#arm(interval, interval);
		return timer;
	}

	static schedule(timer: Timer, interval?: number, repeat?: number): void {
		if (interval === undefined) timer.#disarm();
		else timer.#arm(interval, repeat);
	}

	static clear(timer: Timer | undefined | null): void {
		if (timer) timer.#disarm();
	}

	static delay(milliseconds: number): void {
		Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, milliseconds);
	}
}

export default Timer;
