/*
 * How every reliability case is judged (tests/device/faults-*.test.ts): the
 * device's resources are read before the case; after it, a fresh client
 * must be served on every service within the dead-peer deadline, the
 * resources must be back where they were, and the device must not have
 * logged an exception or aborted.
 */

import { beforeEach, expect } from "vitest";
import { deviceResources, freshClientsServed, type Resources, resourcesSettled } from "../../host-harness/oracle/health.js";
import type { DeviceUnderTest } from "./device-under-test.js";

/** Dead-peer deadline: a fresh client is served within this after a fault (ms). */
export const servedWithin = { node: 1000, sim: 2000, board: 5000 } as const;

/** The device's log has no exception or abort, and the device still runs. */
export function expectDeviceWhole(device: DeviceUnderTest): void {
	if (!device.process) return;
	expect(device.process.log.filter(l => /exception|aborted/i.test(l.raw)).map(l => l.raw)).toEqual([]);
	expect(device.process.exited).toBe(false);
}

/** Around each case: the baseline before, and after it a fresh client served and resources back. */
export function judgedCases(device: DeviceUnderTest, target: keyof typeof servedWithin) {
	let baseline: Resources | undefined;
	beforeEach(async () => {
		baseline = await resourcesSettled(device.resources, await deviceResources(device.resources), 5000);
	});
	return {
		/** Fresh clients on every service within the deadline; then resources as before the case. */
		async recovered(): Promise<void> {
			await freshClientsServed(device.endpoints, { withinMs: servedWithin[target] });
			expect(await resourcesSettled(device.resources, baseline)).toEqual(baseline);
			expectDeviceWhole(device);
		},
	};
}

/** Clients that keep echoing until stopped (the served clients of a flood): how many echoes matched, and how many failed. */
export function keepEchoing<T>(clients: T[], echoOne: (client: T) => Promise<boolean>) {
	const tally = { echoes: 0, failures: 0 };
	let running = true;
	const loops = clients.map(async client => {
		while (running) {
			try {
				if (await echoOne(client)) tally.echoes++;
				else tally.failures++;
			} catch {
				tally.failures++;
				return;
			}
		}
	});
	return {
		tally,
		async stop() {
			running = false;
			await Promise.all(loops);
			return tally;
		},
	};
}
