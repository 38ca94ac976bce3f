/*
 * A repeating timer that reaches its owner without a closure, as ECMA-419
 * callbacks reach theirs through `target`: Moddable's Timer hands its
 * callback the timer, the owner rides on the timer as `target`, and the
 * callback is one preloaded function for every timer of the kit. A timer
 * and one property, about 3 slots, where a closure over its owner cost
 * about 9 on the simulator: a server's timer lives while it has
 * connections, so it counts against each connection's slots.
 */

import Timer from "timer";

/** What a timer made here calls, as its `target`. */
export interface TimerTarget {
	fired(): void;
}

type TargetTimer = Timer & { target: TimerTarget };

function fire(timer: Timer): void {
	(timer as TargetTimer).target.fired();
}

/** Timer.repeat(…, interval) calling target.fired(); Timer.clear and Timer.schedule take it as any timer. */
export function repeatFor(target: TimerTarget, interval: number): Timer {
	const timer = Timer.repeat(fire, interval) as TargetTimer;
	timer.target = target;
	return timer;
}
