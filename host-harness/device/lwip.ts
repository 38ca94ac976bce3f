/*
 * The lwip target: the simulator build of the app (mcsim, real XS) with
 * Moddable's lwIP sockets over lwIP configured as the esp32 build configures
 * it (lwip/manifest.json, lwip/install.sh), in a network namespace of its own
 * (host-harness/lib/netns.ts), reached at its own address as a board is.
 * The kit's app, or a user's (device/app.ts): its manifest with the lwIP
 * sockets' (lwip/sockets-manifest.json), as lwip/manifest.json is the kit's
 * app's with them.
 *
 * The namespace's end of the link becomes a bridge with a TAP device on it:
 *
 *   harness (host) ── veth ── [namespace: bridge ── TAP ── lwIP in mcsim]
 *
 * The kernel inside the namespace holds no address; the device's address
 * (the link's device address) is lwIP's, on the same /30 as the host end,
 * so the harness reaches lwIP through ARP and Ethernet frames as it reaches
 * a board on a LAN, and link faults (down/up, tbf) act on the same veth.
 * Removing the namespace removes the bridge and the TAP.
 *
 * Names: the device's DNS server (lwIP's DNS client, as a board's asks its
 * router) is a DnsServer of the harness's at the link's host end, which
 * answers harnessHostName with that address and NXDOMAIN for any other name.
 */

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { DnsServer } from "../lib/dns-server.js";
import { type LanLink, whyNoNamespaces } from "../lib/netns.js";
import { projectRoot } from "../lib/project.js";
import { findSdk, which } from "../lib/sdk.js";
import { type App, appBuildDir } from "./app.js";
import type { DeviceProcess } from "./device-process.js";
import { buildForSimulator, runSimulator } from "./sim.js";

export const lwipLibrary = path.join(projectRoot, "build", "lwip", "liblwip.a");
const lwipManifestDir = path.join(projectRoot, "lwip");
const lwipSockets = path.join(lwipManifestDir, "sockets-manifest.json");
const lwipBuildDir = path.join(projectRoot, "build", "lwip-sim");
const tapName = "xsnktap";

/**
 * The PC's name as the lwip device's DNS server (host-harness/lib/dns-server.ts,
 * at the link's host end) gives it: a client suite reaches the harness's peers
 * by name on this tier with it (RFC 6761's .test: never a real name).
 */
export const harnessHostName = "harness.test";
const bridgeName = "xsnkbr";

/** Why the lwip target cannot run here, or undefined when it can. */
export function whyNoLwip(): string | undefined {
	const sdk = findSdk();
	if ("missing" in sdk) return sdk.missing;
	if (!which("Xvfb")) return "Xvfb is not installed (apt-get install xvfb); the simulator needs it to run headless";
	if (!fs.existsSync("/dev/net/tun")) return "/dev/net/tun is missing: the kernel has no TUN/TAP driver";
	if (!fs.existsSync(lwipLibrary)) return `lwIP is not built (${path.relative(projectRoot, lwipLibrary)}): run lwip/install.sh (CI's .ci/run does)`;
	return whyNoNamespaces();
}

function inside(link: LanLink, args: string[]): void {
	const result = spawnSync("ip", ["-n", link.ns, ...args], { encoding: "utf8" });
	if (result.status !== 0) throw new Error(`ip -n ${link.ns} ${args.join(" ")} failed: ${(result.stderr || result.error?.message || "").trim()}`);
}

/** Hand the link's device end to lwIP, once per link: the namespace's kernel gives up the address, a bridge joins the veth end and a TAP. */
function bridgeTap(link: LanLink): void {
	if (spawnSync("ip", ["-n", link.ns, "link", "show", tapName], { encoding: "utf8" }).status === 0) return; // done for an earlier device on this link: the TAP outlives the process that used it
	inside(link, ["addr", "flush", "dev", link.deviceIf]);
	inside(link, ["link", "add", bridgeName, "type", "bridge"]);
	inside(link, ["tuntap", "add", "dev", tapName, "mode", "tap"]);
	inside(link, ["link", "set", link.deviceIf, "master", bridgeName]);
	inside(link, ["link", "set", tapName, "master", bridgeName]);
	for (const device of [bridgeName, tapName]) inside(link, ["link", "set", device, "up"]);
}

/**
 * A user's app over lwIP: a manifest of its own in the app's build folder
 * that includes the app's manifest and the lwIP sockets', built there.
 */
function lwipAppBuild(app: App, debug: boolean): { manifestDir: string; outDir: string } {
	const outDir = appBuildDir(app, debug ? "lwip-debug" : "lwip");
	const manifestDir = path.join(outDir, app.name);
	fs.mkdirSync(manifestDir, { recursive: true });
	fs.writeFileSync(path.join(manifestDir, "manifest.json"), JSON.stringify({ include: [app.manifest, lwipSockets] }, null, "\t"));
	return { manifestDir, outDir };
}

/**
 * Build the lwip app (the kit's, or `app`; mcconfig key=value config), start
 * it in the link's namespace, and return its process (ready once its
 * services are up). xsbugPort: a debug build (mcconfig -d), which connects
 * to an xsbug-protocol debugger on this port of the namespace's 127.0.0.1
 * (a relay there: host-harness/lib/netns-relay.ts; the namespace's kernel
 * has no other address).
 */
export async function startLwipSimulator(
	config: Record<string, string>,
	link: LanLink,
	readyTimeoutMs = 60_000,
	progress?: (text: string) => void,
	app?: App,
	xsbugPort?: number,
): Promise<DeviceProcess> {
	const why = whyNoLwip();
	if (why) throw new Error(`cannot run the lwip target: ${why}`);
	const lookup = findSdk();
	if ("missing" in lookup) throw new Error(lookup.missing);
	const debug = xsbugPort !== undefined;
	const build = app ? lwipAppBuild(app, debug) : { manifestDir: lwipManifestDir, outDir: debug ? `${lwipBuildDir}-debug` : lwipBuildDir };
	const library = await buildForSimulator(lookup.sdk, config, debug, build, progress);
	bridgeTap(link);
	const env = {
		XSNK_LWIP_TAP: tapName,
		XSNK_LWIP_ADDRESS: link.deviceAddress,
		XSNK_LWIP_NETMASK: "255.255.255.252",
		XSNK_LWIP_GATEWAY: link.hostAddress,
		XSNK_LWIP_DNS: link.hostAddress,
		...(debug ? { XSBUG_HOST: "127.0.0.1", XSBUG_PORT: String(xsbugPort) } : {}),
	};
	// The device resolves names over lwIP, as a board asks its router: the harness's own name is the link's host end.
	const dns = await DnsServer.start(link.hostAddress, { [harnessHostName]: link.hostAddress });
	try {
		const device = await runSimulator(lookup.sdk, library, "lwip simulator", readyTimeoutMs, env, link.exec);
		device.onStopped(() => dns.close());
		return device;
	} catch (e) {
		await dns.close();
		throw e;
	}
}

/** lwIP's statistics now (SIGUSR2 makes the tcpip thread print them): pool name → used, max, avail, err. */
export async function lwipStats(device: DeviceProcess): Promise<Record<string, Record<string, number>>> {
	const start = device.log.length;
	if (!device.pid || device.exited) throw new Error("the lwip device is not running");
	process.kill(device.pid, "SIGUSR2");
	for (let waited = 0; waited < 3000; waited += 50) {
		const lines = device.log.slice(start).map(line => line.raw);
		const end = lines.indexOf("lwip-stats end");
		const begin = lines.indexOf("lwip-stats begin");
		if (begin >= 0 && end > begin) return parseStats(lines.slice(begin + 1, end));
		await new Promise(resolve => setTimeout(resolve, 50));
	}
	throw new Error("the lwip device printed no statistics within 3 s of SIGUSR2");
}

/** stats_display()'s text ("MEM TCP_PCB" then tab-indented "used: 2" lines) as numbers. */
export function parseStats(lines: string[]): Record<string, Record<string, number>> {
	const stats: Record<string, Record<string, number>> = {};
	let section: Record<string, number> | undefined;
	for (const line of lines) {
		const field = /^\s+(\w+): (\d+)/.exec(line);
		if (field && section) section[field[1]] = Number(field[2]);
		else if (line.trim()) stats[line.trim()] = section = {};
	}
	return stats;
}
