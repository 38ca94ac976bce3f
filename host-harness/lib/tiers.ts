/*
 * Which device targets the suites run against here and now: the
 * Node-hosted device always; the simulator when the Moddable SDK is
 * installed; a real board when DEVICE=<ip> is set (DEVICE_CONFIG holds the
 * key=value pairs it was flashed with, space-separated).
 */

import { findSdk, which } from "../device/sdk.js";
import { parseConfigArgs } from "../device/project.js";
import type { TargetName } from "../device/targets.js";

export interface Tier {
	target: TargetName;
	/** For a board: its address and the config it was flashed with. */
	board?: { host: string; config: Record<string, string> };
}

export interface TierPlan {
	tiers: Tier[];
	/** One line per tier that cannot run here, saying why. */
	skipped: string[];
}

export function planTiers(env: NodeJS.ProcessEnv = process.env): TierPlan {
	const tiers: Tier[] = [{ target: "node" }];
	const skipped: string[] = [];
	const only = env.TARGETS?.split(",").map(t => t.trim()).filter(Boolean);
	const sdk = findSdk(env);
	if (!("sdk" in sdk))
		skipped.push(`sim tier skipped: ${sdk.missing}`);
	else if (!which("Xvfb", env))
		skipped.push("sim tier skipped: Xvfb is not installed (apt-get install xvfb); the simulator needs it to run headless");
	else
		tiers.push({ target: "sim" });
	if (env.DEVICE)
		tiers.push({ target: "board", board: { host: env.DEVICE, config: parseConfigArgs((env.DEVICE_CONFIG ?? "").split(/\s+/).filter(Boolean)) } });
	else
		skipped.push("board tier skipped: DEVICE=<ip of a flashed ESP32> is not set");
	if (only)
		return { tiers: tiers.filter(t => only.includes(t.target)), skipped };
	return { tiers, skipped };
}
