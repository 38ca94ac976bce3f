// The WebSocket broadcast service (app/ws-broadcast on the library's
// WebSocketServer, beside the echo on the same port), judged with real `ws`
// clients and a raw client that stops reading: fan-out to every other
// client, a slow consumer dropped with 1008 while the others keep receiving,
// a client leaving mid-broadcast, and the device whole after each.
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type WebSocket from "ws";
import { closed, openWs, wsEndpoint } from "../../host-harness/oracle/ws-echo.js";
import { hasLog, tiers, useDevice } from "./device-under-test.js";
import { judgedCases } from "./judge.js";

const PATH = "/broadcast";
const SLOW_TIMEOUT = 1000;

// The lwip tier runs the suite on a device of its own configured for it; a board (and a lan
// stand-in for one) only when flashed with the service on.
const covered = (t: (typeof tiers)[number]) => t.target !== "board" || t.name === "lwip" || !!t.board?.config.wsBroadcastPath;
const boards = tiers.filter(t => !covered(t));
for (const tier of boards) console.log(`ws-broadcast on ${tier.name} skipped: its config has no wsBroadcastPath`);

/** Messages a socket receives, as text (binary as "<n bytes>"). */
function collect(socket: WebSocket): string[] {
	const got: string[] = [];
	socket.on("message", (data, binary) => got.push(binary ? `<${(data as Buffer).length} bytes>` : data.toString()));
	return got;
}

async function until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
	const start = Date.now();
	while (!condition()) {
		if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
		await new Promise(resolve => setTimeout(resolve, 20));
	}
}

/** A client that completes the upgrade and then never reads: its socket's buffers fill, then the device's queue for it. */
function nonReadingClient(url: string): Promise<net.Socket> {
	const { host, port } = wsEndpoint(url);
	return new Promise((resolve, reject) => {
		const socket = net.connect(port, host);
		socket.once("error", reject);
		socket.once("connect", () =>
			socket.write(
				`GET ${PATH} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
					"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
			),
		);
		socket.once("data", chunk => {
			if (!chunk.toString().startsWith("HTTP/1.1 101")) return reject(new Error(`upgrade refused: ${chunk.toString().split("\r\n")[0]}`));
			socket.pause(); // never read again
			resolve(socket);
		});
	});
}

describe.each(tiers.filter(covered))("WebSocket broadcast on $name", tier => {
	const device = useDevice(
		tier,
		{ wsBroadcastPath: PATH, wsMaxClients: "6", wsBroadcastSlowTimeout: String(SLOW_TIMEOUT), wsBroadcastQueue: "16384" },
		{ ownLwip: true },
	);
	const url = () => device.endpoints.ws!.replace(/\/[^/]*$/, PATH);
	const judge = judgedCases(device, tier.pace);
	const open: WebSocket[] = [];
	const raw: net.Socket[] = [];
	const connect = async () => {
		const socket = await openWs(url());
		open.push(socket);
		return socket;
	};
	/** The case's clients leave (Close 1000 from the `ws` ones), then the device must be whole. */
	const recovered = async () => {
		await Promise.all(
			open.splice(0).map(socket => {
				const done = closed(socket, within).catch(() => undefined);
				socket.close(1000);
				return done;
			}),
		);
		for (const socket of raw.splice(0)) socket.destroy();
		await judge.recovered();
	};
	afterEach(() => {
		for (const socket of open.splice(0)) socket.terminate();
		for (const socket of raw.splice(0)) socket.destroy();
	});
	const within = tier.pace === "sim" ? 20_000 : 5_000;

	it("fans each message out to every other client (not back to its sender), text and binary, in order", async () => {
		const clients = await Promise.all([0, 1, 2, 3].map(() => connect()));
		const inboxes = clients.map(collect);
		clients[0].send("from 0: one");
		clients[0].send(Buffer.alloc(300, 7));
		clients[2].send("from 2: three");
		await until(() => inboxes[1].length === 3 && inboxes[3].length === 3 && inboxes[0].length === 1 && inboxes[2].length === 2, "fan-out", within);
		expect(inboxes[1].filter(m => m.startsWith("from 0") || m.startsWith("<"))).toEqual(["from 0: one", "<300 bytes>"]);
		expect(inboxes[3].filter(m => m.startsWith("from 0") || m.startsWith("<"))).toEqual(["from 0: one", "<300 bytes>"]);
		expect(inboxes[0]).toEqual(["from 2: three"]);
		expect(inboxes[2]).toEqual(["from 0: one", "<300 bytes>"]);
		await recovered();
	});

	it("answers a message over wsBroadcastMaxMessage with 1009, and the others stay served", async () => {
		const [big, other] = await Promise.all([connect(), connect()]);
		const inbox = collect(other);
		const done = closed(big, within);
		big.send(Buffer.alloc(1025));
		expect((await done).code).toBe(1009);
		const third = await connect();
		third.send("still here");
		await until(() => inbox.includes("still here"), "the broadcast after a 1009", within);
		await recovered();
	});

	// The simulator's own sockets move ~0.07 MB/s: filling the kernel's buffers (MBs on loopback) of a client that reads nothing
	// takes minutes. The lwip tier's sockets are lwIP's (tens of MB/s), so it runs there.
	const slowSockets = tier.pace === "sim" && tier.name !== "lwip";
	if (slowSockets)
		console.log(
			`ws-broadcast slow-consumer case on ${tier.name} skipped: at the simulator's ~0.07 MB/s, filling a non-reading client's kernel buffers takes minutes`,
		);
	it.runIf(hasLog(tier) && !slowSockets)(
		"drops a client that stopped reading with 1008 after wsBroadcastSlowTimeout, while the others receive every message",
		async () => {
			const sender = await connect();
			const listener = await connect();
			const inbox = collect(listener);
			const slow = await nonReadingClient(url());
			raw.push(slow);
			const payload = "x".repeat(1000);
			let sent = 0;
			// The slow client reads nothing, so it would not see its close: the device's log says when it is dropped.
			const droppedLine = /ws-server: Route \/broadcast: .* took no message for \d+ ms \(\d+ skipped\), dropping it/;
			const dropped = () => device.process!.log.some(line => droppedLine.test(line.raw));
			// Flood until the slow client is dropped (its queue full for SLOW_TIMEOUT ms), then a little more.
			// Bounded by bytes, not by a clock: far more than the kernel's buffers between the device and the
			// slow client hold (a few MB on loopback), however slowly a busy machine moves them.
			const bound = (64 << 20) / payload.length;
			// Paced by the listening client: at most 4 messages (well under its queue) in flight to it, so
			// what is judged is the slow one's effect on it, not the listener's own speed on a busy machine.
			while (!dropped() && sent < bound) {
				sender.send(`${sent++} ${payload}`);
				await until(() => sent - inbox.length <= 4, "the listening client to keep up", within);
			}
			expect(dropped()).toBe(true);
			for (let i = 0; i < 5; i++) sender.send(`${sent++} ${payload}`);
			await until(() => inbox.length === sent, `all ${sent} messages at the listening client`, within * 2);
			expect(inbox.map(m => Number(m.split(" ")[0]))).toEqual([...Array(sent).keys()]);
			await recovered();
		},
		300_000,
	);

	it.runIf(hasLog(tier))("keeps no client that left: six join and leave one after another (Close 1000, a reset), each one's leaving logged", async () => {
		const count = (pattern: RegExp) => device.process!.log.filter(line => pattern.test(line.raw)).length;
		const left = () => count(/ws-server: Broadcast: \S+ left, 0 listening$/);
		const joined = () => count(/ws-server: Broadcast: \S+ joined, 1 listening$/);
		const [before, joinedBefore] = [left(), joined()];
		for (let i = 0; i < 6; i++) {
			const client = await connect();
			open.splice(open.indexOf(client), 1);
			const done = closed(client, within).catch(() => undefined);
			if (i % 2) client.terminate();
			else client.close(1000);
			await done;
			await until(() => left() === before + i + 1, `client ${i + 1} to leave`, within);
		}
		expect(joined() - joinedBefore, "each joined an empty route").toBe(6);
		await recovered();
	});

	it("a client that leaves mid-broadcast (destroyed without a Close) costs the others nothing", async () => {
		const clients = await Promise.all([0, 1, 2].map(() => connect()));
		const inboxes = clients.map(collect);
		const leaver = await connect();
		for (let i = 0; i < 20; i++) {
			clients[0].send(`message ${i}`);
			if (i === 10) leaver.terminate();
		}
		await until(() => inboxes[1].length === 20 && inboxes[2].length === 20, "20 messages at both listeners", within);
		expect(inboxes[1]).toEqual([...Array(20).keys()].map(i => `message ${i}`));
		await recovered();
	});
});
