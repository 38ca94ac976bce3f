/*
 * The device a suite talks to, per tier: booted before the suite with
 * loopback ports of its own (node, sim) or reached by address (board),
 * stopped after it. Log lines are available where the harness owns the
 * device's output (node, sim); a board's log is read with xsbug.
 */

import { afterAll, beforeAll } from "vitest";
import { type LanDevice, startLanDevice } from "../../host-harness/device/lan.js";
import { type DeviceLog, LogFile } from "../../host-harness/device/log-file.js";
import { boardEndpoints, type Endpoints, type RunningDevice, startDevice } from "../../host-harness/device/targets.js";
import { planTiers, type Tier } from "../../host-harness/device/tiers.js";
import { freeServicePorts } from "../../host-harness/lib/ports.js";
import type { ResourceSource } from "../../host-harness/oracle/health.js";

export const tiers: Tier[] = planTiers().tiers;

/** Whether the suites can read this tier's log: the host targets always; a board when the run carries it (check --logs, the lan tiers). */
export function hasLog(tier: Tier): boolean {
	return tier.target !== "board" || !!tier.logFile;
}

export interface DeviceUnderTest {
	target: Tier["target"];
	endpoints: Endpoints;
	/** The device's log: its process output (node, sim), or a board's through host-harness check --logs. */
	process?: DeviceLog;
	running?: RunningDevice;
	/** Where its resources are read (control channel on node, /proc on sim; nothing on a board). */
	resources: ResourceSource;
}

/** Host-target config with fresh loopback ports; `extra` adds or overrides keys. */
export async function hostConfig(extra: Record<string, string> = {}): Promise<Record<string, string>> {
	return {
		...(await freeServicePorts()),
		...extra,
	};
}

export interface UseDeviceOptions {
	/**
	 * On the lwip tier, a device of the suite's own with `extra` as its config,
	 * in a namespace of its own, instead of the tier's shared one (whose config
	 * is fixed, as a board's is): for a suite that needs a service the shared
	 * device does not run.
	 */
	ownLwip?: boolean;
}

/** Boot (or reach) the device for this tier around the enclosing describe. */
export function useDevice(tier: Tier, extra: Record<string, string> = {}, options: UseDeviceOptions = {}): DeviceUnderTest {
	const dut: DeviceUnderTest = { target: tier.target, endpoints: { target: tier.target }, resources: { target: tier.target } };
	let own: LanDevice | undefined;
	beforeAll(async () => {
		if (tier.name === "lwip" && options.ownLwip) {
			own = await startLanDevice("lwip", extra);
			dut.endpoints = own.endpoints;
			dut.process = new LogFile(own.logFile);
			return;
		}
		if (tier.target === "board") {
			dut.endpoints = boardEndpoints(tier.board!.host, tier.board!.config);
			if (tier.logFile) dut.process = new LogFile(tier.logFile);
			return;
		}
		const running = await startDevice({ target: tier.target, config: await hostConfig(extra), control: tier.target === "node" });
		dut.running = running;
		dut.resources = { target: tier.target, pid: running.process.pid, control: running.control };
		dut.process = running.process;
		dut.endpoints = running.endpoints;
	});
	afterAll(async () => {
		await dut.running?.stop();
		await own?.stop();
	});
	return dut;
}
