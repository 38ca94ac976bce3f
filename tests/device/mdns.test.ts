// The device's name on a LAN: mdns/responder.ts claims `<hostname>.local`
// and announces its services; the harness finds it with its own resolver
// (host-harness/lib/mdns.ts), as it must on a PC without nss-mdns.
//
// On LAN stand-ins (a namespace per device, multicast across the veth
// pair; two devices share a bridge, as boards share a WiFi network):
// - the harness resolves the name to the device's address, and `discover`
//   lists it with its services and their ports;
// - `check --device <name>.local` passes, as `--device <address>` does;
// - a second device with the same hostname ends up with another name
//   (RFC 6762 9: `xs-netkit-2.local`), and both names resolve.
// The simulator's ECMA-419 UDP socket (lin/udp.c) cannot join a multicast
// group: there the device logs one error line and announces nothing, which
// its case checks. The records carry the device's build and MAC where it
// has them, as its boot line does; the simulator has no MAC.
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type LanDevice, startLanDevice } from "../../host-harness/device/lan.js";
import { LogFile } from "../../host-harness/device/log-file.js";
import { browse, resolveMdns } from "../../host-harness/lib/mdns.js";
import { createLink, joinSegment, type LanLink, type LanSegment, whyNoNamespaces } from "../../host-harness/lib/netns.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { tiers } from "./device-under-test.js";
import { runCommand } from "./run-command.js";

const why = whyNoNamespaces();
if (why) console.log(`mDNS suite skipped: ${why}`);
const hasNode = tiers.some(t => t.target === "node");
const hasSim = tiers.some(t => t.target === "sim");
const hasLwip = tiers.some(t => t.name === "lwip");

/** The MAC the Node host and the lwip tier give a device: 02:00, then its IPv4 address's bytes (upper-case hex, as a board's Net.get("MAC")). */
function madeUpMac(address: string): string {
	return ["02", "00", ...address.split(".").map(n => Number(n).toString(16).toUpperCase().padStart(2, "0"))].join(":");
}
if (!why && !hasNode)
	console.log("mDNS suite: the name cases need the Node-hosted device (its UDP socket joins groups as a board's does); TARGETS leaves it out");

describe.runIf(!why && hasNode)("mDNS on a LAN stand-in, node device", () => {
	const devices: LanDevice[] = [];
	let segment: LanSegment | undefined;

	afterEach(async () => {
		segment?.remove();
		segment = undefined;
		for (const device of devices.splice(0)) await device.stop();
	});

	const boot = async (hostname: string, link: LanLink = createLink(), extra: Record<string, string> = {}) => {
		const device = await startLanDevice("node", { mdns: "true", hostname, ...extra }, { link });
		devices.push(device);
		return { device, log: new LogFile(device.logFile) };
	};

	it("answers to <hostname>.local and lists its services for discover, with its build and MAC", async () => {
		const { device, log } = await boot("xsnk-name", createLink(), { buildId: "b0a7" });
		// The Node-hosted device's MAC is made up from its address (host-harness/node-host/net.ts).
		const mac = madeUpMac(device.link.deviceAddress);
		await log.waitForLog(/app: xs-netkit device app starting, build b0a7$/);
		await log.waitForLog(new RegExp(`app: services up \\{"address":"[\\d.]+","mac":"${mac}"`));
		await log.waitForLog(
			/mdns: xsnk-name\.local is ours: announcing it at [\d.]+ with _xs-netkit\._tcp:80, _http\._tcp:80, _echo\._tcp:8080, _echo\._udp:9000/,
			20_000,
		);
		expect(await resolveMdns("xsnk-name.local", { interfaceAddress: device.link.hostAddress })).toBe(device.link.deviceAddress);
		expect(await resolveMdns("no-such-device.local", { interfaceAddress: device.link.hostAddress, timeoutMs: 1000 })).toBeUndefined();
		const found = await browse("_xs-netkit._tcp", { interfaceAddress: device.link.hostAddress });
		expect(found).toEqual([
			{
				instance: "xsnk-name._xs-netkit._tcp.local",
				host: "xsnk-name.local",
				address: device.link.deviceAddress,
				port: 80,
				text: { ws: "/ws", log: "/log", tcp: "8080", udp: "9000", build: "b0a7", mac },
			},
		]);
		// The harness's discover command prints the same.
		const cli = await runCommand(
			process.execPath,
			[path.join(projectRoot, "build/node/host-harness/cli.js"), "discover", "--json", "--interface", device.link.hostAddress],
			{ encoding: "utf8", timeout: 30_000 },
		);
		expect(cli.status, cli.stderr).toBe(0);
		expect(JSON.parse(cli.stdout)).toEqual(JSON.parse(JSON.stringify(found)));
	}, 120_000);

	it("is found by a discover that started before it had claimed its name: the query is asked again (RFC 6762 5.2)", async () => {
		const link = createLink();
		const browsing = browse("_xs-netkit._tcp", { interfaceAddress: link.hostAddress, timeoutMs: 8000 });
		const { log } = await boot("xsnk-late", link);
		await log.waitForLog(/mdns: xsnk-late\.local is ours/, 20_000);
		expect((await browsing).map(d => d.host)).toEqual(["xsnk-late.local"]);
	}, 120_000);

	it("check --device <name>.local passes", async () => {
		const { log } = await boot("xsnk-check");
		await log.waitForLog(/mdns: xsnk-check\.local is ours/, 20_000);
		const cli = await runCommand(
			process.execPath,
			[path.join(projectRoot, "build/node/host-harness/cli.js"), "check", "--device", "xsnk-check.local", "--only", "tcp"],
			{ encoding: "utf8", timeout: 120_000 },
		);
		expect(cli.status, `${cli.stdout}\n${cli.stderr}`).toBe(0);
		expect(cli.stderr + cli.stdout).toMatch(/xsnk-check\.local/);
	}, 180_000);

	it("gives a second device with the same hostname another name (RFC 6762 9), and both resolve", async () => {
		const first = createLink(),
			second = createLink();
		segment = joinSegment([first, second]);
		const a = await boot("xsnk-twin", first);
		await a.log.waitForLog(/mdns: xsnk-twin\.local is ours/, 20_000);
		const b = await boot("xsnk-twin", second);
		await b.log.waitForLog(
			new RegExp(
				String.raw`mdns: xsnk-twin\.local is taken: another device answers for it \(${first.deviceAddress.replace(/\./g, "\\.")}\); trying xsnk-twin-2\.local`,
			),
			20_000,
		);
		await b.log.waitForLog(/mdns: xsnk-twin-2\.local is ours/, 20_000);
		expect(await resolveMdns("xsnk-twin.local", { interfaceAddress: first.hostAddress })).toBe(first.deviceAddress);
		expect(await resolveMdns("xsnk-twin-2.local", { interfaceAddress: second.hostAddress })).toBe(second.deviceAddress);
		// The first keeps its name: it never saw a conflict.
		expect(a.log.log.some(l => /is taken|probing it again/.test(l.raw))).toBe(false);
	}, 120_000);
});

describe.runIf(!why && hasSim)("mDNS on a LAN stand-in, sim device", () => {
	let device: LanDevice | undefined;
	afterEach(async () => {
		await device?.stop();
		device = undefined;
	});

	it("says in one line that its UDP socket cannot join a multicast group, and serves on", async () => {
		device = await startLanDevice("sim", { mdns: "true", hostname: "xsnk-sim" });
		const log = new LogFile(device.logFile);
		// The simulator's net module gives no MAC: the boot line says none.
		await log.waitForLog(/app: xs-netkit device app starting$/);
		await log.waitForLog(/mdns: this platform's UDP socket cannot join a multicast group \(no add\(\)\); xsnk-sim\.local is not announced/, 30_000);
		expect(await resolveMdns("xsnk-sim.local", { interfaceAddress: device.link.hostAddress, timeoutMs: 1000 })).toBeUndefined();
	}, 180_000);
});

// The board's code path: the SDK's lwip udp.c (patched where its non-ESP32
// branch cannot join a group: lwip/patches/sdk-5) over lwIP's IGMP, on the
// lwip tier's own address.
describe.runIf(!why && hasLwip)("mDNS on the lwip tier (the SDK's lwip UDP socket over lwIP)", () => {
	let device: LanDevice | undefined;
	afterEach(async () => {
		await device?.stop();
		device = undefined;
	});

	it("answers to <hostname>.local and lists its services, over lwIP", async () => {
		device = await startLanDevice("lwip", { mdns: "true", hostname: "xsnk-lwip" });
		const log = new LogFile(device.logFile);
		await log.waitForLog(/mdns: xsnk-lwip\.local is ours: announcing it at [\d.]+ with _xs-netkit\._tcp:80/, 30_000);
		expect(await resolveMdns("xsnk-lwip.local", { interfaceAddress: device.link.hostAddress })).toBe(device.link.deviceAddress);
		const found = await browse("_xs-netkit._tcp", { interfaceAddress: device.link.hostAddress });
		expect(found.map(f => [f.instance, f.address, f.text.mac])).toEqual([
			["xsnk-lwip._xs-netkit._tcp.local", device.link.deviceAddress, madeUpMac(device.link.deviceAddress)],
		]);
		// Joining the group (the call that crashed the stock non-ESP32 branch) left it running.
		expect(device.running.process.exited).toBeFalsy();
	}, 240_000);
});
