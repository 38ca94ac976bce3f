/*
 * A LAN stand-in for a board: a Linux network namespace of our own, joined
 * to this host by a veth pair, with addresses from the benchmarking range
 * 198.18.0.0/15 (RFC 2544) that no real network uses. A device started
 * inside it is reached at its own address, as a board on WiFi is, and the
 * link is real kernel networking, so it can fail as a radio link does:
 *
 *   down()/up()  the WiFi drop a board sees: the peer vanishes, no FIN, no RST
 *   shape(mbit)  tc tbf on both ends: WiFi-class bandwidth (ESP32 in open air
 *                is about 20 Mbit/s of TCP); this kernel has tbf, not netem
 *
 * Traffic for 198.18.0.0/15 never leaves this machine: a blackhole route
 * for the whole range sits under the links' own /30 routes, so a link that
 * is down (down(), or being removed) drops its packets here instead of
 * handing them to the default route. It is added once and left in place:
 * the range is for benchmarking and nothing else uses it.
 *
 * Names and addresses are per run (pid and a random /30), so two runs on
 * one machine do not clash; every link is removed by remove(), and by an
 * exit hook if the process ends first (normal end, failure, Ctrl-C,
 * SIGTERM). Only root can do this: where it cannot be done, why() says so.
 */

import { spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { which } from "./sdk.js";

export interface LanLink {
	/** Namespace name, for `ip netns exec`. */
	ns: string;
	/** The host end of the veth pair (in this namespace) and the device end (in ns). */
	hostIf: string;
	deviceIf: string;
	hostAddress: string;
	deviceAddress: string;
	/** argv prefix that runs a command inside the namespace. */
	exec: string[];
	down(): void;
	up(): void;
	/** Shape both directions to this rate (Mbit/s) with tc tbf. */
	shape(mbit: number): void;
	unshape(): void;
	remove(): void;
}

function ip(args: string[], allowFail = false): string {
	const result = spawnSync("ip", args, { encoding: "utf8" });
	if (result.status !== 0 && !allowFail) throw new Error(`ip ${args.join(" ")} failed: ${(result.stderr || result.error?.message || "").trim()}`);
	return result.stdout;
}

function tc(args: string[], allowFail = false): void {
	const result = spawnSync("tc", args, { encoding: "utf8" });
	if (result.status !== 0 && !allowFail) throw new Error(`tc ${args.join(" ")} failed: ${(result.stderr || result.error?.message || "").trim()}`);
}

/** Why namespaces cannot be made here, or undefined when they can. */
export function whyNoNamespaces(): string | undefined {
	if (process.platform !== "linux") return "network namespaces are a Linux feature";
	if (process.getuid?.() !== 0) return "making network namespaces needs root (CI runs as root)";
	if (!which("ip")) return "the ip command is missing (apt-get install iproute2)";
	const probe = `xsnk-probe-${process.pid}`;
	const made = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
	if (made.status !== 0) return `ip netns add failed: ${(made.stderr || "").trim()}`;
	ip(["netns", "del", probe], true);
	return undefined;
}

/** Addresses of 198.18.0.0/15 already on this machine, as /30 block numbers. */
function blocksInUse(): Set<number> {
	const used = new Set<number>();
	for (const match of ip(["-o", "-4", "addr", "show"], true).matchAll(/inet (198\.(1[89])\.(\d+)\.(\d+))\//g))
		used.add(((Number(match[2]) - 18) * 65536 + Number(match[3]) * 256 + Number(match[4])) >> 2);
	return used;
}

function address(block: number, host: number): string {
	const n = block * 4 + host;
	return `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

const live = new Set<LanLink>();
let hooked = false;

/** Segments not yet removed (joinSegment), removed with the links at exit. */
const liveSegments = new Set<{ remove(): void }>();

function removeAll(): void {
	for (const segment of [...liveSegments]) segment.remove();
	for (const link of [...live]) link.remove();
}

function hookExit(): void {
	if (hooked) return;
	hooked = true;
	process.once("exit", removeAll);
	for (const signal of ["SIGINT", "SIGTERM"] as const) {
		process.once(signal, () => {
			removeAll();
			process.kill(process.pid, signal);
		});
	}
}

let serial = 0;

/** Make a namespace and a veth pair with a fresh /30 of 198.18.0.0/15. */
export function createLink(): LanLink {
	const why = whyNoNamespaces();
	if (why) throw new Error(why);
	hookExit();
	const id = `${process.pid % 100000}${String.fromCharCode(97 + (serial++ % 26))}`;
	const ns = `xsnk-${id}`;
	const hostIf = `xsnkh${id}`;
	const deviceIf = `xsnkd${id}`;
	const used = blocksInUse();
	let block: number;
	do
		block = 1 + randomInt((1 << 17) / 4 - 2); // 198.18.0.0/15 has 32768 /30 blocks; skip the first and last
	while (used.has(block));
	const hostAddress = address(block, 1);
	const deviceAddress = address(block, 2);
	const inside = (args: string[]) => ip(["netns", "exec", ns, "ip", ...args]);
	let removed = false;
	const link: LanLink = {
		ns,
		hostIf,
		deviceIf,
		hostAddress,
		deviceAddress,
		exec: ["ip", "netns", "exec", ns],
		down() {
			ip(["link", "set", hostIf, "down"]);
		},
		up() {
			ip(["link", "set", hostIf, "up"]);
		},
		shape(mbit) {
			const args = ["root", "tbf", "rate", `${mbit}mbit`, "burst", "32kbit", "latency", "50ms"];
			tc(["qdisc", "replace", "dev", hostIf, ...args]);
			tc(["-n", ns, "qdisc", "replace", "dev", deviceIf, ...args]);
		},
		unshape() {
			tc(["qdisc", "del", "dev", hostIf, "root"], true);
			tc(["-n", ns, "qdisc", "del", "dev", deviceIf, "root"], true);
		},
		remove() {
			if (removed) return;
			removed = true;
			live.delete(link);
			ip(["link", "del", hostIf], true);
			ip(["netns", "del", ns], true);
		},
	};
	live.add(link);
	try {
		// Before any link exists: a downed link's /30 route goes, and this keeps its traffic here.
		if (!/blackhole 198\.18\.0\.0\/15/.test(ip(["route", "show", "type", "blackhole"], true))) ip(["route", "add", "blackhole", "198.18.0.0/15"], true);
		ip(["netns", "add", ns]);
		ip(["link", "add", hostIf, "type", "veth", "peer", "name", deviceIf]);
		ip(["link", "set", deviceIf, "netns", ns]);
		ip(["addr", "add", `${hostAddress}/30`, "dev", hostIf]);
		ip(["link", "set", hostIf, "up"]);
		inside(["addr", "add", `${deviceAddress}/30`, "dev", deviceIf]);
		inside(["link", "set", deviceIf, "up"]);
		inside(["link", "set", "lo", "up"]);
	} catch (e) {
		link.remove();
		throw e;
	}
	return link;
}

/** Links whose host ends share one Ethernet segment (a bridge), as boards on one WiFi network do. */
export interface LanSegment {
	bridge: string;
	remove(): void;
}

/**
 * Put the host ends of `links` on one bridge, so their devices hear each
 * other's multicast (mDNS) as boards on one network do. Each link keeps its
 * /30: the host end's address moves to the bridge, so the harness still
 * reaches every device by unicast. Remove the segment before the links.
 */
export function joinSegment(links: readonly LanLink[]): LanSegment {
	const bridge = `xsnkb${links[0].hostIf.slice(5)}`;
	ip(["link", "add", bridge, "type", "bridge"]);
	let removed = false;
	const segment: LanSegment = {
		bridge,
		remove() {
			if (removed) return;
			removed = true;
			liveSegments.delete(segment);
			ip(["link", "del", bridge], true);
		},
	};
	liveSegments.add(segment);
	try {
		ip(["link", "set", bridge, "up"]);
		for (const link of links) {
			ip(["addr", "del", `${link.hostAddress}/30`, "dev", link.hostIf]);
			ip(["link", "set", link.hostIf, "master", bridge]);
			ip(["addr", "add", `${link.hostAddress}/30`, "dev", bridge]);
		}
	} catch (e) {
		segment.remove();
		throw e;
	}
	return segment;
}
