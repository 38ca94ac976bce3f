// Before the device suites: start the lan tiers' devices (each in a network
// namespace of its own, reached as a board is), say which tiers cannot run
// here (one line each), and make sure the Node-hosted device is built.
// The lwip tier is one more device in a namespace: the simulator over lwIP
// (host-harness/device/lwip.ts), paced as the simulator.
// After them: stop the lan devices and remove their namespaces.
import * as fs from "node:fs";
import * as path from "node:path";
import { type LanDevice, startLanDevice } from "../../host-harness/device/lan.js";
import { whyNoLwip } from "../../host-harness/device/lwip.js";
import { type LanTier, planTiers } from "../../host-harness/device/tiers.js";
import { deviceAddress, isMdnsName } from "../../host-harness/lib/mdns.js";
import { whyNoNamespaces } from "../../host-harness/lib/netns.js";
import { projectRoot } from "../../host-harness/lib/project.js";

/** Whether TARGETS (when set) asks for this lan tier. */
function wanted(name: string): boolean {
	const only = process.env.TARGETS?.split(",")
		.map(t => t.trim())
		.filter(Boolean);
	return !only || only.includes(name) || only.includes("lan");
}

/**
 * What the shared lan and lwip devices run beside the app's defaults: the
 * routes that take a body (httpUpload), which the HTTP routes suite and the
 * fuzzer's HTTP oracle drive on every tier.
 */
const LAN_CONFIG: Readonly<Record<string, string>> = { httpUpload: "true" };

export default async function setup(): Promise<() => Promise<void>> {
	const boot = path.join(projectRoot, "build", "node", "host-harness", "node-host", "boot.js");
	if (!fs.existsSync(boot)) throw new Error(`${boot} is missing: npm test builds it first ("npm run build")`);
	// DEVICE=xs-netkit.local: the board by its mDNS name, resolved once here for every suite.
	if (process.env.DEVICE && isMdnsName(process.env.DEVICE)) {
		const name = process.env.DEVICE;
		process.env.DEVICE = await deviceAddress(name);
		console.log(`board ${name} is ${process.env.DEVICE} (mDNS)`);
	}
	const lanDevices: LanDevice[] = [];
	const hostTiers = planTiers({ ...process.env, TARGETS: undefined }).tiers.map(t => t.name);
	const candidates = (["node", "sim"] as const).filter(target => hostTiers.includes(target) && wanted(`lan-${target}`));
	const why = candidates.length ? whyNoNamespaces() : undefined;
	if (why) process.env.LAN_SKIPPED = `lan tiers skipped: ${why}`;
	else {
		for (const target of candidates) {
			try {
				lanDevices.push(await startLanDevice(target, LAN_CONFIG));
			} catch (e) {
				process.env.LAN_SKIPPED = `lan-${target} tier skipped: its device did not start: ${(e as Error).message.split("\n")[0]}`;
			}
		}
	}
	const skipped: string[] = process.env.LAN_SKIPPED ? [process.env.LAN_SKIPPED] : [];
	const only = process.env.TARGETS?.split(",")
		.map(t => t.trim())
		.filter(Boolean);
	if (!only || only.includes("lwip")) {
		const whyNot = whyNoLwip();
		if (whyNot) skipped.push(`lwip tier skipped: ${whyNot}`);
		else {
			try {
				lanDevices.push(await startLanDevice("lwip", LAN_CONFIG));
			} catch (e) {
				skipped.push(`lwip tier skipped: its device did not start: ${(e as Error).message.split("\n")[0]}`);
			}
		}
	}
	if (skipped.length) process.env.LAN_SKIPPED = skipped.join("\n");
	const lanTiers: LanTier[] = lanDevices.map(device => ({
		name: device.target === "lwip" ? "lwip" : `lan-${device.target}`,
		pace: device.target === "lwip" ? "sim" : device.target,
		host: device.link.deviceAddress,
		config: device.config,
		logFile: device.logFile,
		link: { ns: device.link.ns, hostIf: device.link.hostIf, hostAddress: device.link.hostAddress },
	}));
	process.env.LAN_TIERS = JSON.stringify(lanTiers);
	const plan = planTiers();
	for (const line of plan.skipped) console.log(line);
	console.log(
		`device tiers running: ${plan.tiers.map(t => t.name).join(", ")}${lanTiers.length ? ` (${lanTiers.map(t => `${t.name} at ${t.host}`).join(", ")})` : ""}`,
	);
	return async () => {
		for (const device of lanDevices) await device.stop();
	};
}
