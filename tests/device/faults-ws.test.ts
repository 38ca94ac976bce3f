// Reliability of the WebSocket echo server under faults: clients that
// reset, FIN or vanish in the middle of a frame (with their echo read or
// backed up), clients destroyed without a Close, upgrade floods, trickled
// and silent handshakes, clients that stop reading, and clients gone mute
// that only the heartbeat can find. Every case ends by proving that a fresh
// client is served on every service within the dead-peer deadline and that
// the device holds no more sockets or timers than before.
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { silent } from "../../host-harness/faults/tcp.js";
import { closedByServer, type Ending, endMidFrame, floodUpgrades, mute, trickleHandshake } from "../../host-harness/faults/ws.js";
import { freshWsClientServed, openServedWs, wsEchoOnce } from "../../host-harness/oracle/health.js";
import { randomPayload, sha256 } from "../../host-harness/oracle/tcp-echo.js";
import { closed, nextMessage, openWs, wsEndpoint } from "../../host-harness/oracle/ws-echo.js";
import { hasLog, tiers, useDevice } from "./device-under-test.js";
import { judgedCases, keepEchoing, servedWithin } from "./judge.js";

const volume = {
	node: { endsInARow: 1000 },
	sim: { endsInARow: 100 },
	board: { endsInARow: 100 },
};

const endings: Ending[] = ["reset", "fin", "destroy"];

describe.each(tiers)("WebSocket echo server under faults on $name", tier => {
	const device = useDevice(tier);
	const url = () => device.endpoints.ws!;
	const judge = judgedCases(device, tier.pace);
	const v = volume[tier.pace];

	describe.each(endings)("clients that end TCP with a %s in the middle of a frame", ending => {
		it("5 at once, after the header only", async () => {
			await Promise.all(Array.from({ length: 5 }, () => endMidFrame(url(), { sendBytes: 6, ending })));
			await judge.recovered();
		});

		it("5 at once, part-way through the payload while it is echoed", async () => {
			await Promise.all(Array.from({ length: 5 }, () => endMidFrame(url(), { sendBytes: 20_000, ending, afterMs: 100 })));
			await judge.recovered();
		});

		it("5 at once, the echo unread and backed up", async () => {
			await Promise.all(Array.from({ length: 5 }, () => endMidFrame(url(), { sendBytes: 60_000, ending, unread: true, afterMs: 300 })));
			await judge.recovered();
		});
	});

	it("8 clients at once (maxClients served, the rest 503), then all destroyed without a Close", async () => {
		const opened = await Promise.all(Array.from({ length: 8 }, () => openWs(url()).catch(() => undefined)));
		expect(opened.filter(Boolean)).toHaveLength(4);
		for (const socket of opened) socket?.terminate();
		await judge.recovered();
	});

	it(`${v.endsInARow} abrupt ends in a row, then a fresh client is served`, async () => {
		for (let i = 0; i < v.endsInARow; i += 4) {
			await Promise.all(
				[0, 1, 2, 3].map(j =>
					endMidFrame(url(), {
						sendBytes: [6, 300, 5000, 40_000][(i + j) % 4],
						ending: endings[(i + j) % 3],
						unread: (i + j) % 2 === 0,
						afterMs: 0,
					}),
				),
			);
		}
		await judge.recovered();
	}, 300_000);

	it("a flood of maxClients + 50 upgrades: served clients keep echoing throughout, the rest get 503 or are closed", async () => {
		const within = servedWithin[tier.pace];
		const served = [await openServedWs(url(), within), await openServedWs(url(), within)];
		const echoing = keepEchoing(served, async socket => {
			const payload = randomPayload(300);
			socket.send(payload);
			const back = await nextMessage(socket, tier.pace === "sim" ? 10_000 : 5000);
			return back.binary && sha256(back.data) === sha256(payload);
		});
		try {
			const before = echoing.tally.echoes;
			const result = await floodUpgrades(url(), 4 + 50, tier.pace === "sim" ? 2000 : 800);
			const during = echoing.tally.echoes - before;
			const { failures } = await echoing.stop();
			expect(failures).toBe(0);
			expect(during).toBeGreaterThan(0);
			expect(result.other).toEqual([]);
			expect(result.served).toBeLessThanOrEqual(2); // 4 slots, 2 taken by the echoing clients
			expect(result.served + result.busy + result.dropped).toBe(54);
			expect(result.busy).toBeGreaterThan(0);
		} finally {
			await echoing.stop();
			for (const socket of served) socket.terminate();
		}
		await judge.recovered();
	}, 60_000);

	it("a client that stops reading does not stall the others, and its queue stays bounded by TCP", async () => {
		const stuck = await openServedWs(url(), servedWithin[tier.pace]);
		const raw = (stuck as unknown as { _socket: import("node:net").Socket })._socket;
		raw.pause();
		const block = randomPayload(64 * 1024);
		for (let i = 0; i < 16; i++) stuck.send(block);
		try {
			for (let i = 0; i < 5; i++) await wsEchoOnce(url(), tier.pace === "sim" ? 10_000 : 5000);
		} finally {
			stuck.terminate();
		}
		await judge.recovered();
	}, 60_000);

	it("a client that connects and says nothing does not stall anyone else", async () => {
		const quiet = await silent(wsEndpoint(url()));
		expect(quiet).toBeDefined();
		try {
			await freshWsClientServed(device.endpoints, { withinMs: servedWithin[tier.pace] });
		} finally {
			quiet?.destroy();
		}
		await judge.recovered();
	});

	it.runIf(hasLog(tier))("logs the faults as closed connections with their cause, never as errors", async () => {
		const log = device.process!.log.map(l => l.raw);
		expect(log.filter(l => /ws-server: Connection closed: /.test(l)).length).toBeGreaterThan(50);
		expect(log.filter(l => /E \(\d+\) ws-server/.test(l))).toEqual([]);
	});
});

describe.each(tiers.filter(t => t.target !== "board"))("WebSocket echo server slow and silent peers on $name", tier => {
	const timeout = tier.pace === "sim" ? 1500 : 800;
	const heartbeat = tier.pace === "sim" ? 600 : 300;
	const device = useDevice(tier, { wsHandshakeTimeout: String(timeout), wsHeartbeat: String(heartbeat) });
	const url = () => device.endpoints.ws!;
	const judge = judgedCases(device, tier.pace);

	it("a handshake trickled a byte at a time slower than wsHandshakeTimeout is dropped, while others are served", async () => {
		const trickled = trickleHandshake(url(), 40, 10_000); // ~130 bytes × 40 ms: beyond the timeout
		await wsEchoOnce(url(), 5000);
		expect(await trickled).toBe(0);
		await device.process!.waitForLog(/ws-server: .*handshake timeout/);
		await judge.recovered();
	});

	it("a handshake trickled within wsHandshakeTimeout completes", async () => {
		expect(await trickleHandshake(url(), 1, 10_000)).toBe(101);
		await judge.recovered();
	});

	it("a client gone mute (reads nothing, answers no ping) is dropped by the heartbeat and frees its slot", async () => {
		const muted = await Promise.all([0, 1, 2, 3].map(() => mute(url())));
		try {
			// All four slots are held by mute clients; the heartbeat must free them.
			const freed = await Promise.all(muted.map(connection => closedByServer(connection, heartbeat * 3 + 4000)));
			expect(freed).toEqual([true, true, true, true]);
		} finally {
			for (const connection of muted) connection.destroy();
		}
		await device.process!.waitForLog(/ws-server: No pong from .* since the last ping/);
		await judge.recovered();
	}, 30_000);

	it("a live but quiet client answers the heartbeat and keeps its slot", async () => {
		const socket = await openWs(url());
		try {
			await new Promise(r => setTimeout(r, heartbeat * 4));
			expect(socket.readyState).toBe(WebSocket.OPEN);
			socket.send("still here");
			expect((await nextMessage(socket)).data.toString()).toBe("still here");
		} finally {
			socket.close();
			await closed(socket).catch(() => undefined);
		}
		await judge.recovered();
	});
});

describe.each(tiers.filter(t => t.target !== "board"))("WebSocket echo server with wsLruPurge on $name", tier => {
	const device = useDevice(tier, { wsLruPurge: "true", wsMaxClients: "2" });
	const url = () => device.endpoints.ws!;
	const judge = judgedCases(device, tier.pace);

	it("a client beyond wsMaxClients closes the longest-idle client (1001) and is served", async () => {
		const idle = await openWs(url());
		await new Promise(r => setTimeout(r, 300));
		const busy = await openWs(url());
		busy.send("busy");
		await nextMessage(busy);
		const idleClosed = closed(idle, 10_000);
		await wsEchoOnce(url(), 5000);
		expect((await idleClosed).code).toBe(1001);
		expect(busy.readyState).toBe(WebSocket.OPEN);
		busy.terminate();
		await device.process!.waitForLog(/ws-server: Purging .*, idle for \d+ ms/);
		await judge.recovered();
	});
});
