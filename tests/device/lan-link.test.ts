// Real link faults between the harness and a device on a LAN stand-in (a
// network namespace of its own, host-harness/lib/netns.ts): the kernel link
// goes down and comes back as a board's WiFi does, so peers vanish with no
// FIN and no RST. Judged through the board path (address, log file):
// - a drop shorter than the dead-peer times loses nothing acknowledged;
// - peers that vanish are dropped within their dead-peer time (TCP idle
//   timeout, WebSocket heartbeat) and new clients are served;
// - the device's own TCP and WebSocket clients recover after a drop.
// Where namespaces cannot be made here, one line says why.

import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LanDevice, startLanDevice } from "../../host-harness/device/lan.js";
import { LogFile } from "../../host-harness/device/log-file.js";
import { tryConnect } from "../../host-harness/faults/tcp.js";
import { whyNoNamespaces } from "../../host-harness/lib/netns.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { freshClientsServed } from "../../host-harness/oracle/health.js";
import { readBytes, sha256, streamThroughEcho } from "../../host-harness/oracle/tcp-echo.js";
import { nextMessage, openWs } from "../../host-harness/oracle/ws-echo.js";
import { TcpPeer } from "../../host-harness/peers/tcp-peer.js";
import { WsPeer } from "../../host-harness/peers/ws-peer.js";
import { tiers } from "./device-under-test.js";
import { servedWithin } from "./judge.js";
import { runCommand } from "./run-command.js";

const why = whyNoNamespaces();
if (why) console.log(`lan link-fault suite skipped: ${why}`);
const hostTiers = why ? [] : tiers.filter(t => t.target === "node" || t.target === "sim" || t.name === "lwip");

function sleep(ms: number): Promise<void> {
	return new Promise(resolve => setTimeout(resolve, ms));
}

describe.each(hostTiers)("link faults on a LAN stand-in, $name device", tier => {
	const target = tier.name === "lwip" ? "lwip" : (tier.target as "node" | "sim");
	const slow = tier.pace === "sim";
	/** Dead-peer times: TCP idle timeout, WebSocket heartbeat. */
	const idleTimeout = slow ? 3000 : 1500;
	const heartbeat = slow ? 1000 : 500;
	let device: LanDevice;
	let log: LogFile;
	let tcpPeer: TcpPeer;
	let wsPeer: WsPeer;

	beforeAll(async () => {
		const { createLink } = await import("../../host-harness/lib/netns.js");
		const link = createLink();
		tcpPeer = await TcpPeer.start(0, link.hostAddress);
		wsPeer = await WsPeer.start(0, link.hostAddress);
		device = await startLanDevice(
			target,
			{
				tcpIdleTimeout: String(idleTimeout),
				wsHeartbeat: String(heartbeat),
				wsMaxClients: "2",
				tcpClient: "true",
				tcpClientHost: link.hostAddress,
				tcpClientPort: String(tcpPeer.port),
				tcpClientRetryDelay: "200",
				tcpClientRetryMaxDelay: "1000",
				wsClient: "true",
				wsClientUri: `ws://${link.hostAddress}:${wsPeer.port}/`,
				wsClientHelloCount: "100000",
				wsClientHelloInterval: "200",
				wsClientPingInterval: "300",
				wsClientPongTimeout: "1500",
				wsClientRetryDelay: "200",
				wsClientRetryMaxDelay: "1000",
				wsClientNetworkTimeout: "2000",
			},
			{ link },
		);
		log = new LogFile(device.logFile);
	}, 180_000);

	afterAll(async () => {
		await device?.stop();
		await tcpPeer?.close();
		await wsPeer?.close();
	});

	it("a drop shorter than the dead-peer times loses nothing that was sent", async () => {
		const total = slow ? 256 * 1024 : 8 * 1024 * 1024;
		const stream = streamThroughEcho(device.endpoints.tcp!, total, { pauseEvery: total / 4, pauseMs: 50, timeoutMs: 120_000 });
		const ws = await openWs(device.endpoints.ws!);
		const message = randomBytes(slow ? 16 * 1024 : 256 * 1024);
		await sleep(50);
		device.link.down();
		ws.send(message);
		await sleep(Math.min(idleTimeout, heartbeat) * 0.8);
		device.link.up();
		const echoed = await nextMessage(ws, 60_000);
		ws.close();
		expect(sha256(echoed.data)).toBe(sha256(message));
		const result = await stream;
		expect(result.received).toBe(total);
		expect(result.receivedHash).toBe(result.sentHash);
	}, 180_000);

	it("peers that vanish (no FIN, no RST) are dropped within their dead-peer time, and new clients are served", async () => {
		const mark = log.log.length;
		// Take every slot: two TCP clients, two WebSocket clients.
		const tcp = [await tryConnect(device.endpoints.tcp!), await tryConnect(device.endpoints.tcp!)];
		for (const socket of tcp) {
			const back = readBytes(socket!, 2, 10_000);
			socket!.write("hi");
			await back;
		}
		const ws = [await openWs(device.endpoints.ws!), await openWs(device.endpoints.ws!)];
		device.link.down();
		// They vanish: reset on this side while the link is down, so nothing ever reaches the device.
		for (const socket of tcp) socket!.resetAndDestroy();
		for (const socket of ws) socket.terminate();
		await sleep(idleTimeout + 2 * heartbeat + (slow ? 2000 : 1000));
		device.link.up();
		const since = log.log.slice(mark).map(l => l.raw);
		expect(since.filter(l => /tcp-server: Connection closed: .*idle for \d+ ms/.test(l))).toHaveLength(2);
		expect(since.filter(l => /ws-server: No pong from .* since the last ping/.test(l))).toHaveLength(2);
		await freshClientsServed(device.endpoints, { withinMs: servedWithin[tier.pace] });
	}, 60_000);

	it("the device's TCP and WebSocket clients recover after a drop and resume", async () => {
		const wsSessions = wsPeer.sessions.length;
		const tcpSessions = tcpPeer.sessions.length;
		expect(wsSessions).toBeGreaterThan(0);
		expect(tcpSessions).toBeGreaterThan(0);
		device.link.down();
		await sleep(3000); // beyond the WebSocket client's pong timeout
		device.link.up();
		// The WebSocket client found its connection dead and starts a new session. An attempt the
		// device gave up on as its 101 arrived (its networkTimeout, on a loaded machine) is a session
		// at the peer that never gets a message: the session judged is the first that does.
		let hello: { data: Buffer } | undefined;
		for (let index = wsSessions; !hello && index < wsSessions + 5; index++) {
			const session = await wsPeer.session(index, 30_000);
			hello = await session.received(1, 10_000).then(
				([first]) => first,
				() => undefined,
			);
		}
		expect(hello?.data.toString()).toBe("hello 0000");
		await log.waitForLog(/ws-client: .*(pong|timed out|timeout)/i, 5000);
		// The TCP client's connection survived the drop (TCP retransmits) or was made again: either way it
		// echoes. One it gave up on during the drop (its idle timeout) stays open at the peer until its FIN
		// gets through, so the session judged is the latest one that echoes, a new one given time to come.
		const payload = randomBytes(10_000);
		let echoed = false;
		for (let attempt = 0; attempt < 5 && !echoed; attempt++) {
			const latest = await tcpPeer.session(tcpPeer.sessions.length - 1);
			echoed = await latest.echo(payload, 10_000).then(
				back => sha256(back) === sha256(payload),
				() => false,
			);
			if (!echoed) await sleep(1000);
		}
		expect(echoed).toBe(true);
	}, 90_000);

	it("the board path serves through shaped WiFi-class bandwidth (tc tbf, 20 Mbit/s), and bench --device measures it", async () => {
		device.link.shape(20);
		try {
			const total = slow ? 128 * 1024 : 4 * 1024 * 1024;
			const result = await streamThroughEcho(device.endpoints.tcp!, total, { pauseEvery: total, pauseMs: 0, timeoutMs: 120_000 });
			expect(result.receivedHash).toBe(result.sentHash);
			const bench = await runCommand(
				process.execPath,
				[
					path.join(projectRoot, "build/node/host-harness/cli.js"),
					"bench",
					"tcp",
					"--device",
					device.link.deviceAddress,
					...Object.entries(device.config).map(([k, v]) => `${k}=${v}`),
					"--duration",
					"2",
					"--bytes",
					slow ? "128k" : "4m",
					"--samples",
					"50",
					"--rounds",
					"1",
					"--json",
				],
				{ cwd: projectRoot, encoding: "utf8", timeout: 120_000 },
			);
			expect(bench.status, bench.stderr).toBe(0);
			const throughput = (JSON.parse(bench.stdout) as { metrics: { key: string; device: number; reference: number }[] }).metrics.find(
				m => m.key === "tcp.throughput",
			)!;
			expect(throughput.device).toBeGreaterThan(0);
			// tbf is a hard cap: the echo crossed the link at most at about the shaped rate, while the
			// reference on loopback is not held back (the simulator's own 0.1 MB/s is far below
			// the cap, so only the node device can show it).
			if (!slow) {
				expect((total * 8) / 1e6 / result.seconds).toBeLessThan(20 * 1.5);
				expect(throughput.device * 8).toBeLessThan(20 * 1.5);
				expect(throughput.reference * 8).toBeGreaterThan(20 * 1.5);
			}
		} finally {
			device.link.unshape();
		}
	}, 180_000);
});
