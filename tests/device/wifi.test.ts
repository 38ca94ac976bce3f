// WiFi station management. On the Node-hosted device the simulated access
// point fails on demand (a test double: node-host/wifi.ts and control.ts);
// on the simulator, its own timer-driven WiFi fake shows the boot sequence
// and a rejected password as far as it models them.

import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { LogLine } from "../../host-harness/device/log-line.js";
import { type RunningDevice, startDevice } from "../../host-harness/device/targets.js";
import { echoOnce, randomPayload, sha256 } from "../../host-harness/oracle/tcp-echo.js";
import { TcpPeer } from "../../host-harness/peers/tcp-peer.js";
import { hostConfig, tiers } from "./device-under-test.js";

const fast = { wifiRetryDelay: "100", wifiBackoffMax: "400", wifiConnectTimeout: "3000" };

function lines(device: RunningDevice, pattern: RegExp): LogLine[] {
	return device.process.log.filter(l => pattern.test(l.raw));
}

function refused(port: number): Promise<boolean> {
	return new Promise(resolve => {
		const socket = net.connect({ host: "127.0.0.1", port });
		socket.once("connect", () => {
			socket.destroy();
			resolve(false);
		});
		socket.once("error", () => resolve(true));
	});
}

describe("WiFi station on node (simulated access point with faults)", () => {
	let device: RunningDevice | undefined;
	let peer: TcpPeer | undefined;
	afterEach(async () => {
		await device?.stop();
		await peer?.close();
		device = undefined;
		peer = undefined;
	});

	it("retries a failing join quickly wifiRetries times, then backs off, capped, and starts services once it joins", async () => {
		device = await startDevice({ target: "node", config: await hostConfig(fast), wifiFaults: { step: 10, joinFailures: 7 } });
		const attempts = lines(device, /wifi: connecting to "simulated-wifi" \(attempt \d+/);
		expect(attempts.map(l => Number(/attempt (\d+)/.exec(l.raw)![1]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
		expect(lines(device, /wifi: join failed/)).toHaveLength(7);
		expect(lines(device, /wifi: giving up quick retries after 5 attempts; backing off/)).toHaveLength(1);
		expect(lines(device, /wifi: next join in \d+ ms/).map(l => Number(/in (\d+) ms/.exec(l.raw)![1]))).toEqual([200, 400, 400]);
		// never sooner than scheduled: the quick retries 100 ms apart, then the backoff
		for (let i = 1; i < attempts.length; i++) expect(attempts[i].time! - attempts[i - 1].time!).toBeGreaterThanOrEqual(i < 5 ? 100 : 200);
		const gotIP = device.process.log.findIndex(l => /wifi: got IP: 127\.0\.0\.1/.test(l.raw));
		const up = device.process.log.findIndex(l => /app: services up/.test(l.raw));
		expect(gotIP).toBeGreaterThan(0);
		expect(up).toBeGreaterThan(gotIP);
	});

	it("a rejected password is retried with backoff, never in a busy loop, and the device joins once the network accepts it", async () => {
		device = await startDevice({
			target: "node",
			config: await hostConfig({ ...fast, password: "wrong" }),
			wifiFaults: { step: 10, password: "right" },
			control: true,
			noWait: true,
		});
		await device.process.waitForLog(/wifi: next join in 400 ms/, 10_000);
		await new Promise(r => setTimeout(r, 1000));
		const failures = lines(device, /wifi: join failed: password rejected/).length;
		expect(failures).toBeGreaterThanOrEqual(6);
		expect(failures).toBeLessThanOrEqual(12); // ~2.4 s of 100 ms retries then 400 ms backoff: a busy loop would be thousands
		expect(lines(device, /app: services up/)).toEqual([]);
		await device.control!(`wifi set {"password":"wrong"}`);
		await device.process.waitForLog(/app: services up/, 15_000);
	});

	it("slow DHCP: services come up only after the address", async () => {
		const config = await hostConfig(fast);
		device = await startDevice({ target: "node", config, wifiFaults: { step: 10, dhcpDelay: 1500 }, noWait: true });
		await device.process.waitForLog(/wifi: connected to "simulated-wifi", waiting for an address/, 15_000);
		expect(await refused(Number(config.tcpPort))).toBe(true);
		await device.process.waitForLog(/app: services up/, 15_000);
		const connected = lines(device, /wifi: connected to/)[0].time!;
		const gotIP = lines(device, /wifi: got IP/)[0].time!;
		expect(gotIP - connected).toBeGreaterThanOrEqual(1500);
		expect((await echoOnce({ host: "127.0.0.1", port: Number(config.tcpPort) }, Buffer.from("after DHCP"))).toString()).toBe("after DHCP");
	});

	it("a drop while traffic flows: servers keep serving, the client pauses and resumes, and nothing leaks across drops", async () => {
		peer = await TcpPeer.start(0, "127.0.0.1");
		const config = await hostConfig({ ...fast, tcpClient: "true", tcpClientHost: "127.0.0.1", tcpClientPort: String(peer.port), tcpClientRetryDelay: "100" });
		device = await startDevice({ target: "node", config, wifiFaults: { step: 10 }, control: true });
		const tcp = device.endpoints.tcp!;
		const first = await peer.session(0);
		expect(await first.greeting).toBe("Hello World!");
		const before = await device.control!("stats");

		for (let drop = 1; drop <= 3; drop++) {
			const streaming = echoOnce(tcp, randomPayload(4 << 20), 10_000).then(
				() => "completed",
				() => "cut",
			);
			await new Promise(r => setTimeout(r, 20));
			await device.control!("wifi drop");
			await device.process.waitForLog(/app: link is down \(disconnected\): pausing TCP echo client/, 15_000, 0);
			expect(await streaming).toMatch(/completed|cut/); // the link took the connection with it, or it was done already
			const session = await peer.session(drop, 10_000);
			expect(await session.greeting).toBe("Hello World!");
			const payload = randomPayload(20_000);
			expect(sha256(await session.echo(payload))).toBe(sha256(payload));
			const text = Buffer.from(`served after drop ${drop}`);
			expect((await echoOnce(tcp, text)).toString()).toBe(text.toString());
		}
		expect(lines(device, /app: link is back \(127\.0\.0\.1\): resuming TCP echo client/)).toHaveLength(3);
		await expect.poll(() => device!.control!("stats"), { timeout: 15_000 }).toEqual(before);
		expect(device.process.log.filter(l => /exception|aborted/i.test(l.raw))).toEqual([]);
	}, 60_000);

	it("while the network is gone the station keeps trying with capped backoff, and rejoins when it is back", async () => {
		device = await startDevice({ target: "node", config: await hostConfig(fast), wifiFaults: { step: 10 }, control: true });
		const mark = device.process.log.length;
		await device.control!(`wifi set {"apDown":true}`);
		await device.control!("wifi drop");
		await device.process.waitForLog(/wifi: link lost \(disconnected\)/, 15_000, mark);
		await new Promise(r => setTimeout(r, 2000));
		const delays = device.process.log
			.slice(mark)
			.filter(l => /next join in/.test(l.raw))
			.map(l => Number(/in (\d+) ms/.exec(l.raw)![1]));
		expect(delays.length).toBeGreaterThanOrEqual(1);
		expect(Math.max(...delays)).toBe(400);
		await device.control!(`wifi set {"apDown":false}`);
		await device.process.waitForLog(/wifi: got IP/, 15_000, mark);
	}, 30_000);
});

describe.each(tiers.filter(t => t.target === "sim"))("WiFi station on the simulator's WiFi fake", () => {
	let device: RunningDevice | undefined;
	afterEach(async () => {
		await device?.stop();
	});

	it("logs the boot sequence in order: started, connecting, connected, got IP, services up", async () => {
		device = await startDevice({ target: "sim", config: await hostConfig() });
		const order = [
			/wifi: station started/,
			/wifi: connecting to "simulated-wifi" \(attempt 1, start\)/,
			/wifi: connected to "simulated-wifi"/,
			/wifi: got IP: /,
			/app: services up/,
		].map(p => device!.process.log.findIndex(l => p.test(l.raw)));
		expect(order.every(i => i >= 0)).toBe(true);
		expect([...order].sort((a, b) => a - b)).toEqual(order);
	}, 240_000); // a build of the simulator for this configuration first: a minute on a busy machine

	it('a rejected password (the fake\'s "invalid!") is retried, and nothing starts', async () => {
		device = await startDevice({ target: "sim", config: await hostConfig({ password: "invalid!", wifiRetryDelay: "200" }), noWait: true });
		await device.process.waitForLog(/wifi: join failed: disconnected \(2 failed\)/, 20_000);
		expect(lines(device, /app: services up/)).toEqual([]);
	}, 240_000);
});
