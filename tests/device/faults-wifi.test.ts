// WiFi faults during traffic on the Node-hosted device (its access point
// fails on demand: a test double, node-host/wifi.ts and control.ts, for
// what no real access point does on request). While the harness streams
// through the device's servers and its TCP and WebSocket clients talk to the
// harness's peers, the link drops again and again: the servers keep serving,
// the clients pause and resume with a fresh session each time, and the
// device holds no more sockets or timers afterwards than before.
import { afterEach, describe, expect, it } from "vitest";
import { type RunningDevice, startDevice } from "../../host-harness/device/targets.js";
import { deviceResources, freshClientsServed, resourcesSettled, wsEchoOnce } from "../../host-harness/oracle/health.js";
import { echoOnce, randomPayload, sha256 } from "../../host-harness/oracle/tcp-echo.js";
import { TcpPeer } from "../../host-harness/peers/tcp-peer.js";
import { WsPeer } from "../../host-harness/peers/ws-peer.js";
import { hostConfig, tiers } from "./device-under-test.js";

const drops = 5;

describe.runIf(tiers.some(t => t.target === "node"))("WiFi drops during traffic on node", () => {
	let device: RunningDevice | undefined;
	let tcpPeer: TcpPeer | undefined;
	let wsPeer: WsPeer | undefined;
	afterEach(async () => {
		await device?.stop();
		await tcpPeer?.close();
		await wsPeer?.close();
	});

	it(`${drops} drops in a row: servers serve, both clients resume each time, nothing leaks`, async () => {
		tcpPeer = await TcpPeer.start(0, "127.0.0.1");
		wsPeer = await WsPeer.start(0, "127.0.0.1");
		const config = await hostConfig({
			wifiRetryDelay: "100",
			wifiBackoffMax: "400",
			wifiConnectTimeout: "3000",
			tcpClient: "true",
			tcpClientHost: "127.0.0.1",
			tcpClientPort: String(tcpPeer.port),
			tcpClientRetryDelay: "100",
			wsClient: "true",
			wsClientUri: `ws://127.0.0.1:${wsPeer.port}/`,
			wsClientHelloCount: "100000",
			wsClientHelloInterval: "50",
			wsClientRetryDelay: "100",
			wsClientRetryMaxDelay: "400",
		});
		device = await startDevice({ target: "node", config, wifiFaults: { step: 10 }, control: true });
		const tcp = device.endpoints.tcp!;
		await (await tcpPeer.session(0)).greeting;
		await (await wsPeer.session(0)).received(1);
		const baseline = await resourcesSettled(device, await deviceResources(device), 5000);

		for (let drop = 1; drop <= drops; drop++) {
			// Traffic in flight through every server when the link goes.
			const inFlight = [
				echoOnce(tcp, randomPayload(2 << 20), 10_000).then(
					() => "completed",
					() => "cut",
				),
				wsEchoOnce(device.endpoints.ws!, 10_000).then(
					() => "completed",
					() => "cut",
				),
			];
			await new Promise(r => setTimeout(r, 10));
			await device.control!("wifi drop");
			expect(await Promise.all(inFlight)).toEqual([expect.stringMatching(/completed|cut/), expect.stringMatching(/completed|cut/)]);
			// Both clients come back with a fresh session that works end to end.
			const tcpSession = await tcpPeer.session(drop, 10_000);
			expect(await tcpSession.greeting).toBe("Hello World!");
			const payload = randomPayload(20_000);
			expect(sha256(await tcpSession.echo(payload))).toBe(sha256(payload));
			const wsSession = await wsPeer.session(drop, 10_000);
			const [hello] = await wsSession.received(1);
			expect(hello.data.toString()).toBe("hello 0000");
			// And the servers serve fresh clients.
			await freshClientsServed(device.endpoints, { withinMs: 3000 });
		}
		expect(device.process.log.filter(l => /app: link is back .*resuming TCP echo client/.test(l.raw))).toHaveLength(drops);
		expect(device.process.log.filter(l => /app: link is back .*resuming WebSocket client/.test(l.raw))).toHaveLength(drops);
		// Each client holds exactly one connection, as at the start.
		expect(await resourcesSettled(device, baseline)).toEqual(baseline);
		expect(device.process.log.filter(l => /exception|aborted/i.test(l.raw))).toEqual([]);
	}, 120_000);
});
