/*
 * Which device targets the suites run against here and now: the
 * Node-hosted device always; the simulator when the Moddable SDK is
 * installed; a real board when DEVICE=<ip> is set (DEVICE_CONFIG holds the
 * key=value pairs it was flashed with, space-separated); and the `lan`
 * tiers, node and sim devices the test run started in network namespaces of
 * their own (tests/device/global-setup.ts, host-harness/device/lan.ts),
 * which the suites reach exactly as they reach a board, and the lwip tier,
 * the simulator over lwIP in a namespace the same way
 * (host-harness/device/lwip.ts). LAN_TIERS carries them from the setup to
 * the suites.
 */

import { parseConfigArgs } from "../lib/project.js";
import { findSdk, which } from "../lib/sdk.js";
import type { TargetName } from "./targets.js";

export interface Tier {
	/** The code path: a device this PC starts and owns (node, sim), or one reached by address (board). */
	target: TargetName;
	/** What the suites call it: node, sim, board, lan-node, lan-sim, lwip. */
	name: string;
	/** Whose volumes and waits apply (tests/device/knobs.ts): a board in a namespace is a node or a simulator underneath. */
	pace: TargetName;
	/** For a board: its address and the config it was flashed with. */
	board?: { host: string; config: Record<string, string> };
	/** Where its log is read, for a board whose log the run carries (check --logs, the lan tiers). */
	logFile?: string;
	/** For a lan tier: the link the harness can fail (host-harness/lib/netns.ts). */
	link?: { ns: string; hostIf: string; hostAddress: string };
}

/** A lan tier as global-setup hands it to the suites in LAN_TIERS. */
export interface LanTier {
	name: string;
	pace: "node" | "sim";
	host: string;
	config: Record<string, string>;
	logFile: string;
	link: { ns: string; hostIf: string; hostAddress: string };
}

export interface TierPlan {
	tiers: Tier[];
	/** One line per tier that cannot run here, saying why. */
	skipped: string[];
}

export function planTiers(env: NodeJS.ProcessEnv = process.env): TierPlan {
	const tiers: Tier[] = [{ target: "node", name: "node", pace: "node" }];
	const skipped: string[] = [];
	const only = env.TARGETS?.split(",")
		.map(t => t.trim())
		.filter(Boolean);
	const sdk = findSdk(env);
	if (!("sdk" in sdk)) skipped.push(`sim tier skipped: ${sdk.missing}`);
	else if (!which("Xvfb", env)) skipped.push("sim tier skipped: Xvfb is not installed (apt-get install xvfb); the simulator needs it to run headless");
	else tiers.push({ target: "sim", name: "sim", pace: "sim" });
	if (env.DEVICE)
		tiers.push({
			target: "board",
			name: "board",
			// DEVICE_KNOBS=sim: a simulator stands in for the board (a test of check --device itself).
			pace: env.DEVICE_KNOBS === "sim" ? "sim" : "board",
			board: { host: env.DEVICE, config: parseConfigArgs((env.DEVICE_CONFIG ?? "").split(/\s+/).filter(Boolean)) },
			logFile: env.DEVICE_LOG_FILE || undefined,
		});
	else skipped.push("board tier skipped: DEVICE=<ip of a flashed ESP32> is not set");
	for (const lan of JSON.parse(env.LAN_TIERS || "[]") as LanTier[])
		tiers.push({ target: "board", name: lan.name, pace: lan.pace, board: { host: lan.host, config: lan.config }, logFile: lan.logFile, link: lan.link });
	if (env.LAN_SKIPPED) skipped.push(...env.LAN_SKIPPED.split("\n"));
	if (only) {
		// Only the tiers asked for, and only their skip lines: `check --target node` says nothing of a board.
		const asked = (name: string) => only.includes(name) || (only.includes("lan") && name.startsWith("lan-"));
		return {
			tiers: tiers.filter(t => asked(t.name) || (only.includes(t.target) && t.name === t.target)),
			skipped: skipped.filter(line => asked(line.slice(0, line.indexOf(" ")))),
		};
	}
	return { tiers, skipped };
}
