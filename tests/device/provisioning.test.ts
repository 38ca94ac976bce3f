// Provisioning: with no credentials (or rejected ones) the device opens its
// own access point and a page where the network is entered; the credentials
// are saved, joined, and used again after a reboot; wifiForget erases them.
// The access point's passphrase and the page's code are read from the
// device's console (its log here), as a person reads them: the access point
// refuses a wrong passphrase (the Node-hosted device's model of it), the
// page a wrong code (403, nothing saved), too many wrong codes (429), and
// one provisioning at a time (503 while the device tries a network).

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type ProvisioningSecrets, provisioningSecrets } from "../../host-harness/device/log-line.js";
import { type HostTarget, type RunningDevice, startDevice } from "../../host-harness/device/targets.js";
import { runPortalFuzz } from "../../host-harness/fuzz/run-portal.js";
import { freeTcpPort } from "../../host-harness/lib/ports.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { hostConfig, tiers } from "./device-under-test.js";
import { runCommand } from "./run-command.js";

interface Answer {
	status: number;
	body: string;
	retryAfter: string | null;
}

async function http(port: number, method: string, target: string, form?: Record<string, string>): Promise<Answer> {
	const response = await fetch(`http://127.0.0.1:${port}${target}`, {
		method,
		body: form ? new URLSearchParams(form).toString() : undefined,
		headers: form ? { "content-type": "application/x-www-form-urlencoded" } : undefined,
	});
	return { status: response.status, body: await response.text(), retryAfter: response.headers.get("retry-after") };
}

async function portalUp(device: RunningDevice, from = 0): Promise<{ port: number; security: string }> {
	const line = await device.process.waitForLog(/provisioning: provisioning portal up \{/, 20_000, from);
	return JSON.parse(/(\{.*\})/.exec(line.message)![1]);
}

/** The passphrase and code the device printed on its console at boot. */
async function secretsOf(device: RunningDevice, from = 0): Promise<ProvisioningSecrets> {
	return provisioningSecrets(await device.process.waitForLog(/provisioning: to provision, /, 20_000, from))!;
}

/** On the Node-hosted device, a phone joins the access point first (its model refuses a wrong passphrase); the simulator has no access point to join. */
async function joinAp(device: RunningDevice, secrets: ProvisioningSecrets): Promise<void> {
	if (device.control) expect(await device.control(`ap join ${JSON.stringify({ ssid: secrets.ap, password: secrets.passphrase })}`)).toEqual({ ok: true });
}

const savedNetwork = (prefs: string) => (fs.existsSync(prefs) ? JSON.parse(fs.readFileSync(prefs, "utf8")).wifi : undefined);

describe.each(tiers.filter(t => t.target === "node" || t.target === "sim"))("provisioning on $target", tier => {
	const target = tier.target as HostTarget;
	const prefs = path.join(os.tmpdir(), `xsnk-prefs-${process.pid}-${target}.json`);
	let device: RunningDevice | undefined;
	afterEach(async () => {
		await device?.stop();
		device = undefined;
	});
	const boot = async (extra: Record<string, string>) =>
		startDevice({
			target,
			config: await hostConfig({ ssid: "", provisionPort: String(await freeTcpPort()), wifiRetryDelay: "100", wifiBackoffMax: "400", ...extra }),
			env: { XSNK_HOST_PREFS: prefs },
			wifiFaults: target === "node" ? { step: 10 } : undefined,
			control: target === "node",
			noWait: true,
		});
	let first: ProvisioningSecrets | undefined;

	it("with no credentials known, serves the page; a wrong code saves nothing; the right one saves and joins", async () => {
		fs.rmSync(prefs, { force: true });
		device = await boot({ wifiForget: "true" });
		const { port, security } = await portalUp(device);
		expect(security).toBe("wpa2");
		await device.process.waitForLog(/no WiFi credentials known/, 10_000);
		first = await secretsOf(device);
		expect(first.ap).toBe("xs-netkit");
		expect(first.passphrase).toMatch(/^[2-9a-hjkmnp-z]{4}-[2-9a-hjkmnp-z]{4}-[2-9a-hjkmnp-z]{4}$/);
		expect(first.code).toMatch(/^[2-9a-hjkmnp-z]{8}$/);
		await joinAp(device, first);
		const page = await http(port, "GET", "/");
		expect(page.status).toBe(200);
		expect(page.body).toMatch(/<form method="post" action="\/join">/);
		expect(page.body).toMatch(/<input name="code"/);
		expect(page.body).not.toContain(first.code);
		expect(page.body).not.toContain(first.passphrase);
		expect((await http(port, "GET", "/status")).status).toBe(403);
		const status = await http(port, "GET", `/status?code=${first.code}`);
		expect(status.status).toBe(200);
		expect(status.body).toMatch(/"state":"provisioning"/);
		expect(status.body).not.toContain(first.code);
		// A wrong or missing code: refused, nothing saved.
		expect((await http(port, "POST", "/join", { ssid: "simulated-wifi", password: "correct horse", code: "wrongcode" })).status).toBe(403);
		expect((await http(port, "POST", "/join", { ssid: "simulated-wifi", password: "correct horse" })).status).toBe(403);
		expect(device.process.log.filter(l => /credentials for .* saved/.test(l.raw))).toEqual([]);
		if (target === "node") expect(savedNetwork(prefs)).toBeUndefined();
		// The right code, credentials WPA2 refuses.
		expect((await http(port, "POST", "/join", { ssid: "", password: "", code: first.code })).status).toBe(400);
		expect((await http(port, "POST", "/join", { ssid: "home", password: "short", code: first.code })).status).toBe(400);
		expect((await http(port, "GET", "/elsewhere")).status).toBe(404);
		expect((await http(port, "GET", "/join")).status).toBe(405);
		const joined = await http(port, "POST", "/join", { ssid: "simulated-wifi", password: "correct horse", code: first.code });
		expect(joined.status).toBe(200);
		expect(joined.body).toMatch(/Joining "simulated-wifi"/);
		await device.process.waitForLog(/app: services up/, 20_000);
		await device.process.waitForLog(/provisioning: provisioning portal closed/, 10_000);
		if (target === "node") expect(savedNetwork(prefs)).toEqual({ ssid: "simulated-wifi", password: "correct horse" });
	}, 120_000);

	it("after a reboot, joins with the saved credentials and no portal; the passphrase and code are the same (kept)", async () => {
		device = await boot({});
		await device.process.waitForLog(/app: WiFi credentials saved on the device: "simulated-wifi"/, 20_000);
		await device.process.waitForLog(/app: services up/, 20_000);
		expect(device.process.log.filter(l => /portal up/.test(l.raw))).toEqual([]);
		const again = await secretsOf(device);
		expect(again).toEqual(first);
		await device.process.waitForLog(/provisioning: to provision, .*kept since the first boot/, 10_000);
	}, 120_000);

	it("an open portal only when asked (provisionPassword=open), warned at boot; /forget takes the code; 5 wrong codes a minute, then 429", async () => {
		device = await boot({ wifiForget: "true", provisionPassword: "open" });
		await device.process.waitForLog(/W \(\d+\) provisioning: provisionPassword=open: the access point "xs-netkit" has no password/, 20_000);
		await device.process.waitForLog(/app: saved WiFi credentials forgotten \(wifiForget\)/, 20_000);
		const { port, security } = await portalUp(device);
		expect(security).toBe("open");
		const secrets = await secretsOf(device);
		expect(secrets).toEqual({ ap: "xs-netkit", passphrase: "", code: first!.code });
		if (device.control) {
			// An open access point: a phone that brings a passphrase does not match its security.
			expect(await device.control(`ap join ${JSON.stringify({ ssid: "xs-netkit", password: "some passphrase" })}`)).toHaveProperty("refused");
			await joinAp(device, secrets);
		}
		expect((await http(port, "POST", "/forget")).status).toBe(403);
		const forgotten = await http(port, "POST", "/forget", { code: secrets.code });
		expect(forgotten).toMatchObject({ status: 200, body: "nothing saved\n" });
		for (let wrong = 2; wrong <= 5; wrong++)
			expect((await http(port, "POST", "/join", { ssid: "simulated-wifi", password: "correct horse", code: `wrong-${wrong}` })).status).toBe(403);
		// The sixth within the minute: refused unread, the right code too, with how long to wait.
		const limited = await http(port, "POST", "/join", { ssid: "simulated-wifi", password: "correct horse", code: secrets.code });
		expect(limited.status).toBe(429);
		expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1);
		expect(Number(limited.retryAfter)).toBeLessThanOrEqual(60);
		expect((await http(port, "GET", `/status?code=${secrets.code}`)).status).toBe(429);
		expect(device.process.log.filter(l => /credentials for .* saved/.test(l.raw))).toEqual([]);
		await device.process.waitForLog(/provisioning: too many wrong codes/, 10_000);
	}, 120_000);

	// Seeded and bounded: mutated requests to the page (method, path, query, version, headers, Content-Length,
	// form bodies, right and wrong codes, written in pieces), each answered as the reference oracle says
	// (host-harness/fuzz/portal-oracle.ts); no /join the device would take, at most 4 wrong codes.
	const fuzzSeed = 0x9047a1;
	const fuzzCases = target === "node" ? 200 : 60;
	it(`the page's HTTP and form decoding, fuzzed: ${fuzzCases} seeded requests (seed ${fuzzSeed}) answered as the oracle says`, async () => {
		device = await boot({ wifiForget: "true" });
		const { port } = await portalUp(device);
		const secrets = await secretsOf(device);
		await joinAp(device, secrets);
		const report = await runPortalFuzz({
			host: "127.0.0.1",
			port,
			code: secrets.code,
			seed: fuzzSeed,
			cases: fuzzCases,
			timeoutMs: target === "sim" ? 15_000 : 5000,
			maxDelayMs: target === "sim" ? 25 : 3,
		});
		expect(report.mismatches).toEqual([]);
		// The run reached every kind of answer.
		expect(Object.keys(report.statuses).map(Number).sort()).toEqual(expect.arrayContaining([200, 400, 403, 404, 405, 411, 413, 431]));
		expect((await http(port, "GET", "/")).status).toBe(200);
		expect(device.process.log.filter(l => /exception|failed:/i.test(l.raw))).toEqual([]);
		expect(device.process.log.filter(l => /credentials for .* saved/.test(l.raw))).toEqual([]);
	}, 180_000);
});

// The simulator's WiFi fake has no access point to join and rejects only the
// password "invalid!", which the portal's own validation refuses (8-63
// characters): the access point a phone joins and the network that rejects
// a password are the Node-hosted device's (a test double, node-host/wifi.ts).
describe.runIf(tiers.some(t => t.target === "node"))("provisioning on node: the access point, rejected credentials, one at a time", () => {
	const prefs = path.join(os.tmpdir(), `xsnk-prefs-${process.pid}-rejected.json`);
	let device: RunningDevice | undefined;
	afterEach(async ({ task }) => {
		// A failure shows what the device said: its errors, then its last lines (the page's requests and answers, the station's tries).
		if (task.result?.state === "fail" && device) {
			const log = device.process.log;
			const errors = log.filter(l => l.level === "E").map(l => l.raw);
			console.log(
				`the device's errors:\n${errors.join("\n") || "(none)"}\nits last 40 lines:\n${log
					.slice(-40)
					.map(l => l.raw)
					.join("\n")}`,
			);
		}
		await device?.stop();
		device = undefined;
		fs.rmSync(prefs, { force: true });
	});
	const boot = async (extra: Record<string, string>, wifiFaults?: Record<string, unknown>) =>
		startDevice({
			target: "node",
			config: await hostConfig({ ssid: "", provisionPort: String(await freeTcpPort()), wifiRetryDelay: "100", wifiBackoffMax: "400", ...extra }),
			env: { XSNK_HOST_PREFS: prefs },
			wifiFaults: { step: 10, ...wifiFaults },
			control: true,
			noWait: true,
		});

	it("the access point refuses a wrong passphrase, and the page is out of reach until a phone has joined", async () => {
		device = await boot({ provisionPassword: "a passphrase of our own", provisionCode: "our-code-42" });
		const { port } = await portalUp(device);
		const secrets = await secretsOf(device);
		expect(secrets).toEqual({ ap: "xs-netkit", passphrase: "a passphrase of our own", code: "our-code-42" });
		await device.process.waitForLog(/provisioning: to provision, .*\(configured; printed on this console only\)/, 1000);
		await expect(http(port, "GET", "/")).rejects.toThrow();
		expect(await device.control!(`ap join ${JSON.stringify({ ssid: "xs-netkit", password: "a wrong passphrase" })}`)).toEqual({
			refused: "4-way handshake failed: wrong passphrase",
		});
		expect(await device.control!(`ap join ${JSON.stringify({ ssid: "xs-netkit" })}`)).toHaveProperty("refused");
		expect(await device.control!(`ap join ${JSON.stringify({ ssid: "another", password: "a passphrase of our own" })}`)).toHaveProperty("refused");
		await expect(http(port, "GET", "/")).rejects.toThrow();
		await joinAp(device, secrets);
		expect((await http(port, "GET", "/")).status).toBe(200);
		expect((await http(port, "GET", "/status?code=our-code-42")).status).toBe(200);
	}, 60_000);

	it("rejected credentials lead back to the portal; a second /join waits (503) while the device tries the first; the failure is reported and a corrected one joins", async () => {
		fs.writeFileSync(prefs, JSON.stringify({ wifi: { ssid: "simulated-wifi", password: "an old password" } }));
		device = await boot({ wifiConnectTimeout: "5000" }, { password: "the right one" });
		const { port } = await portalUp(device);
		const secrets = await secretsOf(device);
		expect(device.process.log.filter(l => /wifi: join failed: password rejected/.test(l.raw)).length).toBeGreaterThanOrEqual(5);
		await device.process.waitForLog(/"simulated-wifi" failed: password rejected/, 10_000);
		await joinAp(device, secrets);
		// The network accepts the password but gives no address: the device waits wifiConnectTimeout.
		await device.control!(`wifi set ${JSON.stringify({ dhcpDelay: 600_000 })}`);
		const from = device.process.log.length;
		expect((await http(port, "POST", "/join", { ssid: "simulated-wifi", password: "the right one", code: secrets.code })).status).toBe(200);
		const second = await http(port, "POST", "/join", { ssid: "simulated-wifi", password: "another one!", code: secrets.code });
		expect(second.status).toBe(503);
		expect(second.retryAfter).toBe("10");
		expect((await http(port, "POST", "/forget", { code: secrets.code })).status).toBe(503);
		expect(JSON.parse((await http(port, "GET", `/status?code=${secrets.code}`)).body)).toMatchObject({ joining: "simulated-wifi" });
		await device.process.waitForLog(/provisioning: "simulated-wifi" failed: no address within 5000 ms; the page takes credentials again/, 10_000, from);
		expect(JSON.parse((await http(port, "GET", `/status?code=${secrets.code}`)).body)).toMatchObject({
			state: "provisioning",
			why: '"simulated-wifi" failed: no address within 5000 ms',
		});
		await device.control!(`wifi set ${JSON.stringify({ dhcpDelay: 0 })}`);
		// The station retries the entered network on its own (wifiRetryDelay, 100 ms here), and with the
		// address now coming at once it may join before the /join below arrives; the page is then closed.
		// Either way the network joins: a /join that finds the page open is taken.
		const corrected = await http(port, "POST", "/join", { ssid: "simulated-wifi", password: "the right one", code: secrets.code }).catch((e: Error) => e);
		if (corrected instanceof Error)
			expect(
				device.process.log.slice(from).map(l => l.raw),
				`the page refused the connection: ${corrected.message}`,
			).toContainEqual(expect.stringMatching(/provisioning: provisioning portal closed/));
		else expect(corrected.status).toBe(200);
		await device.process.waitForLog(/app: services up/, 10_000);
	}, 60_000);

	it("host-harness wifi status and forget talk to the provisioning page with the code; a wrong one erases nothing", async () => {
		fs.writeFileSync(prefs, JSON.stringify({ wifi: { ssid: "simulated-wifi", password: "an old password" } }));
		device = await boot({}, { password: "the right one" });
		const { port } = await portalUp(device);
		const secrets = await secretsOf(device);
		await joinAp(device, secrets);
		const cli = (...args: string[]) =>
			runCommand(
				process.execPath,
				[path.join(projectRoot, "build/node/host-harness/cli.js"), "wifi", ...args, "--device", "127.0.0.1", "--port", String(port)],
				{ encoding: "utf8" },
			);
		expect((await cli("forget")).status).toBe(2); // --code is required
		const wrong = await cli("forget", "--code", "not-the-code");
		expect(wrong.status).toBe(1);
		expect(wrong.stderr).toMatch(/403: wrong code/);
		expect(savedNetwork(prefs)).toEqual({ ssid: "simulated-wifi", password: "an old password" });
		const status = await cli("status", "--code", secrets.code);
		expect(status.status).toBe(0);
		expect(JSON.parse(status.stdout)).toMatchObject({ state: "provisioning", ap: "xs-netkit" });
		const forget = await cli("forget", "--code", secrets.code);
		expect(forget.stdout.trim()).toBe("forgotten");
		// The network is forgotten; the device's own secrets are kept.
		const left = JSON.parse(fs.readFileSync(prefs, "utf8"));
		expect(left.wifi).toBeUndefined();
		expect(left.provision).toEqual({ passphrase: secrets.passphrase, code: secrets.code });
		await device.process.waitForLog(/provisioning: saved credentials forgotten/, 10_000);
	}, 60_000);
});
