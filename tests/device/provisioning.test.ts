// Provisioning: with no credentials (or rejected ones) the device opens its
// own access point and a page where the network is entered; the credentials
// are saved, joined, and used again after a reboot; wifiForget erases them.
import { afterEach, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startDevice, RunningDevice, HostTarget } from "../../host-harness/device/targets.js";
import { freeTcpPort } from "../../host-harness/lib/ports.js";
import { hostConfig, tiers } from "./device-under-test.js";
import { spawnSync } from "node:child_process";
import { projectRoot } from "../../host-harness/device/project.js";

interface Answer { status: number; body: string }

async function http(port: number, method: string, target: string, form?: Record<string, string>): Promise<Answer> {
	const response = await fetch(`http://127.0.0.1:${port}${target}`, {
		method,
		body: form ? new URLSearchParams(form).toString() : undefined,
		headers: form ? { "content-type": "application/x-www-form-urlencoded" } : undefined,
	});
	return { status: response.status, body: await response.text() };
}

async function portalPort(device: RunningDevice, from = 0): Promise<number> {
	const line = await device.process.waitForLog(/provisioning: provisioning portal up \{/, 20_000, from);
	return JSON.parse(/(\{.*\})/.exec(line.message)![1]).port;
}

describe.each(tiers.filter(t => t.target !== "board"))("provisioning on $target", tier => {
	const target = tier.target as HostTarget;
	const prefs = path.join(os.tmpdir(), `xsnk-prefs-${process.pid}-${target}.json`);
	let device: RunningDevice | undefined;
	afterEach(async () => {
		await device?.stop();
		device = undefined;
	});
	const boot = async (extra: Record<string, string>, wifiFaults?: Record<string, unknown>) => startDevice({
		target,
		config: await hostConfig({ ssid: "", provisionPort: String(await freeTcpPort()), wifiRetryDelay: "100", wifiBackoffMax: "400", ...extra }),
		env: { XSNK_HOST_PREFS: prefs },
		wifiFaults: target === "node" ? { step: 10, ...wifiFaults } : undefined,
		noWait: true,
	});

	it("with no credentials known, serves the page; the credentials entered are saved and joined", async () => {
		fs.rmSync(prefs, { force: true });
		device = await boot({ wifiForget: "true" });
		const port = await portalPort(device);
		await device.process.waitForLog(/no WiFi credentials known/, 1000);
		const page = await http(port, "GET", "/");
		expect(page.status).toBe(200);
		expect(page.body).toMatch(/<form method="post" action="\/join">/);
		expect((await http(port, "GET", "/status")).body).toMatch(/"state":"provisioning"/);
		expect((await http(port, "POST", "/join", { ssid: "", password: "" })).status).toBe(400);
		expect((await http(port, "POST", "/join", { ssid: "home", password: "short" })).status).toBe(400);
		expect((await http(port, "GET", "/elsewhere")).status).toBe(404);
		const joined = await http(port, "POST", "/join", { ssid: "simulated-wifi", password: "correct horse" });
		expect(joined.status).toBe(200);
		expect(joined.body).toMatch(/Joining "simulated-wifi"/);
		await device.process.waitForLog(/app: services up/, 20_000);
		await device.process.waitForLog(/provisioning: provisioning portal closed/, 1000);
	}, 60_000);

	it("after a reboot, joins with the saved credentials and no portal", async () => {
		device = await boot({});
		await device.process.waitForLog(/app: WiFi credentials saved on the device: "simulated-wifi"/, 20_000);
		await device.process.waitForLog(/app: services up/, 20_000);
		expect(device.process.log.filter(l => /portal up/.test(l.raw))).toEqual([]);
	}, 60_000);

	it("wifiForget erases the saved credentials and the device asks again", async () => {
		device = await boot({ wifiForget: "true" });
		await device.process.waitForLog(/app: saved WiFi credentials forgotten \(wifiForget\)/, 20_000);
		await portalPort(device);
	}, 60_000);
});

// The simulator's WiFi fake rejects only the password "invalid!", which the
// portal's own validation refuses (8-63 characters): the rejecting access
// point is the Node-hosted device's (a test double, node-host/wifi.ts).
describe("provisioning after rejected credentials, on node", () => {
	const prefs = path.join(os.tmpdir(), `xsnk-prefs-${process.pid}-rejected.json`);
	let device: RunningDevice | undefined;
	afterEach(async () => {
		await device?.stop();
		device = undefined;
		fs.rmSync(prefs, { force: true });
	});
	const boot = async (extra: Record<string, string>, wifiFaults?: Record<string, unknown>) => startDevice({
		target: "node",
		config: await hostConfig({ ssid: "", provisionPort: String(await freeTcpPort()), wifiRetryDelay: "100", wifiBackoffMax: "400", ...extra }),
		env: { XSNK_HOST_PREFS: prefs },
		wifiFaults: { step: 10, ...wifiFaults },
		noWait: true,
	});

	it("rejected credentials lead back to the portal after the quick retries, and corrected ones join", async () => {
		fs.writeFileSync(prefs, JSON.stringify({ wifi: { ssid: "simulated-wifi", password: "an old password" } }));
		device = await boot({}, { password: "the right one" });
		const port = await portalPort(device);
		expect(device.process.log.filter(l => /wifi: join failed: password rejected/.test(l.raw)).length).toBeGreaterThanOrEqual(5);
		await device.process.waitForLog(/"simulated-wifi" failed: password rejected/, 1000);
		expect((await http(port, "POST", "/join", { ssid: "simulated-wifi", password: "the right one" })).status).toBe(200);
		await device.process.waitForLog(/app: services up/, 10_000);
	}, 60_000);


	it("host-harness wifi status and forget talk to the provisioning page", async () => {
		fs.writeFileSync(prefs, JSON.stringify({ wifi: { ssid: "simulated-wifi", password: "an old password" } }));
		device = await boot({}, { password: "the right one" });
		const port = await portalPort(device);
		const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(projectRoot, "build/node/host-harness/cli.js"), "wifi", ...args, "--device", "127.0.0.1", "--port", String(port)], { encoding: "utf8" });
		const status = cli("status");
		expect(status.status).toBe(0);
		expect(JSON.parse(status.stdout)).toMatchObject({ state: "provisioning", ap: "xs-netkit" });
		const forget = cli("forget");
		expect(forget.stdout.trim()).toBe("forgotten");
		expect(JSON.parse(fs.readFileSync(prefs, "utf8"))).toEqual({});
		await device.process.waitForLog(/provisioning: saved credentials forgotten/, 2000);
	}, 60_000);
});
