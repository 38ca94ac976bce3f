// WebSocketEchoServer (device module) over the Node host providers, against
// the real `ws` client and raw TCP clients sending crafted frames.
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { Opcode } from "websocket/constants";
import { deafness, WebSocketServer } from "websocket/server";
import WebSocket from "ws";
import { WebSocketEchoServer, type WebSocketEchoServerOptions } from "./echo-server.js";
import { concat, encode, MASK } from "./helpers.js";
import { captureLogs, patterned, RawClient, sleep, textOf, until } from "./peers.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
	while (cleanups.length) cleanups.pop()!();
});

function startServer(options: Partial<WebSocketEchoServerOptions> = {}): WebSocketEchoServer {
	const server = new WebSocketEchoServer({ port: 0, ...options });
	server.start();
	cleanups.push(() => server.close());
	return server;
}

async function wsClient(port: number, path = "/ws", options: WebSocket.ClientOptions = {}, protocols: string[] = []): Promise<WebSocket> {
	const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocols, options);
	ws.on("error", () => {});
	cleanups.push(() => ws.terminate());
	await once(ws, "open");
	return ws;
}

async function rawClient(port: number, path?: string, headers?: [string, string][]): Promise<RawClient> {
	const raw = await RawClient.open(port, path, headers);
	cleanups.push(() => raw.destroy());
	return raw;
}

/** Send messages and collect as many echoes. */
async function echo(ws: WebSocket, messages: (string | Buffer)[]): Promise<{ data: Buffer; isBinary: boolean }[]> {
	const received: { data: Buffer; isBinary: boolean }[] = [];
	const onMessage = (data: Buffer, isBinary: boolean) => received.push({ data, isBinary });
	ws.on("message", onMessage);
	for (const message of messages) ws.send(message);
	await until(() => received.length >= messages.length, "echoes", 8000);
	ws.off("message", onMessage);
	return received;
}

/** A raw client's frames, masked as a client must. */
const frame = (opcode: number, payload?: Uint8Array | string, fin = true) => encode({ opcode, payload, fin, mask: MASK });

describe("WebSocketEchoServer: echo", () => {
	it("echoes text and binary of 0, 125, 126, 65535, 65536 and 1 MiB bytes, with bounded memory", async () => {
		const server = startServer();
		const ws = await wsClient(server.port);
		expect(server.clients).toBe(1);
		const sizes = [0, 125, 126, 65535, 65536, 1 << 20];
		const texts = sizes.map(n => textOf(n));
		const binaries = sizes.map(n => patterned(n));
		const received = await echo(ws, [...texts, ...binaries]);
		sizes.forEach((n, i) => {
			expect(received[i].isBinary).toBe(false);
			expect(received[i].data.toString()).toBe(texts[i]);
			expect(received[sizes.length + i].isBinary).toBe(true);
			expect(received[sizes.length + i].data.equals(binaries[i])).toBe(true);
		});
		// Streaming echo: the write queue stays small whatever the message size.
		expect(server.maxQueued).toBeLessThan(4096);
	});

	it("echoes multi-byte UTF-8 split across fragments, and empty fragments", async () => {
		const server = startServer();
		const raw = await rawClient(server.port);
		const euro = Buffer.from("€𝄞"); // e2 82 ac f0 9d 84 9e
		raw.write(
			concat(
				frame(Opcode.TEXT, euro.subarray(0, 2), false),
				frame(Opcode.CONTINUATION, "", false),
				frame(Opcode.CONTINUATION, euro.subarray(2, 5), false),
				frame(Opcode.CONTINUATION, euro.subarray(5), true),
				frame(Opcode.BINARY, "", false),
				frame(Opcode.CONTINUATION, "", true),
			),
		);
		await until(() => raw.messages.length === 2, "echoes");
		expect(raw.messages[0]).toEqual({ type: Opcode.TEXT, data: euro });
		expect(raw.messages[1]).toEqual({ type: Opcode.BINARY, data: Buffer.alloc(0) });
		expect(raw.errors).toEqual([]);
	});

	it("answers pings between fragments, ignores unsolicited pongs, reassembles the echo", async () => {
		const server = startServer();
		const raw = await rawClient(server.port);
		raw.write(
			concat(
				frame(Opcode.TEXT, "frag", false),
				frame(Opcode.PING, "p1"),
				frame(Opcode.CONTINUATION, "men", false),
				frame(Opcode.PONG, "unsolicited"),
				frame(Opcode.PING, ""),
				frame(Opcode.CONTINUATION, "ted", true),
				frame(Opcode.BINARY, patterned(3000).subarray(0, 1000), false),
				frame(Opcode.PING, "p2"),
				frame(Opcode.CONTINUATION, patterned(3000).subarray(1000), true),
			),
		);
		await until(() => raw.messages.length === 2 && raw.pongs.length === 3, "echoes and pongs");
		expect(raw.messages[0]).toEqual({ type: Opcode.TEXT, data: Buffer.from("fragmented") });
		expect(raw.messages[1].data.equals(patterned(3000))).toBe(true);
		expect(raw.pongs).toEqual(["p1", "", "p2"]);
		expect(raw.errors).toEqual([]);
	});

	it("ws: fragmented send, ping → pong, unsolicited pong", async () => {
		const server = startServer();
		const ws = await wsClient(server.port);
		const pong = once(ws, "pong");
		ws.ping("are you there");
		expect(String((await pong)[0])).toBe("are you there");
		ws.pong("nobody asked");
		const received: Buffer[] = [];
		ws.on("message", data => received.push(data as Buffer));
		ws.send("frag", { fin: false });
		ws.ping("mid");
		ws.send("ment", { fin: true });
		await until(() => received.length === 1, "echo");
		expect(received[0].toString()).toBe("fragment");
	});

	it('"Trigger async" gets its echo then "Async data"; "Ping" gets its echo and a ping', async () => {
		const server = startServer();
		const ws = await wsClient(server.port);
		const pinged = once(ws, "ping");
		const received = await echo(ws, ["Trigger async", "Ping"]);
		while (received.length < 3) received.push({ data: (await once(ws, "message"))[0] as Buffer, isBinary: false });
		expect(received.map(r => r.data.toString()).sort()).toEqual(["Async data", "Ping", "Trigger async"]);
		expect(received[0].data.toString()).toBe("Trigger async");
		await pinged;
	});

	it("logs handshake, messages, close and the end of the connection", async () => {
		const logs = captureLogs();
		cleanups.push(() => logs.stop());
		const server = startServer();
		const ws = await wsClient(server.port);
		await echo(ws, ["hello 0000", Buffer.alloc(7)]);
		const closed = once(ws, "close");
		ws.close(1000, "done");
		await closed;
		await until(() => server.clients === 0, "server side closed");
		const lines = logs.lines.filter(l => l.includes("ws-server:")).map(l => l.replace(/^(\w) \(\d+\) /, "$1 "));
		const peer = /peer (\d+\.\d+\.\d+\.\d+:\d+)/.exec(lines.find(l => l.includes("Handshake done"))!)![1];
		expect(lines).toEqual(
			expect.arrayContaining([
				`I ws-server: Handshake done, peer ${peer}, path /ws`,
				`D ws-server: Received text message of 10 bytes from ${peer}: hello 0000`,
				`D ws-server: Received binary message of 7 bytes from ${peer}`,
				`I ws-server: Received close 1000 "done" from ${peer}`,
				`I ws-server: Sent close 1000 "" to ${peer}`,
				`I ws-server: Connection closed: ${peer} (closed 1000)`,
			]),
		);
	});
});

describe("WebSocketEchoServer: closing", () => {
	it("answers a close with the same code; 1000 when the close had none", async () => {
		const server = startServer();
		const ws = await wsClient(server.port);
		const closed = once(ws, "close");
		ws.close(4321, "custom");
		expect((await closed)[0]).toBe(4321);

		const raw = await rawClient(server.port);
		raw.write(frame(Opcode.CLOSE));
		await raw.closed;
		expect(raw.closes).toEqual([{ code: 1000, reason: "" }]);
		await until(() => server.clients === 0, "no clients");
	});

	it("server.close() sends 1001 going away and waits for the answer", async () => {
		const server = new WebSocketEchoServer({ port: 0 });
		server.start();
		const ws1 = await wsClient(server.port);
		const ws2 = await wsClient(server.port);
		expect(server.clients).toBe(2);
		const closes = [once(ws1, "close"), once(ws2, "close")];
		server.close();
		for (const [code, reason] of await Promise.all(closes)) {
			expect(code).toBe(1001);
			expect(String(reason)).toBe("going away");
		}
		await until(() => server.clients === 0, "no clients");
	});

	it("closes TCP after closeTimeout when the peer never answers our close", async () => {
		const server = new WebSocketEchoServer({ port: 0, closeTimeout: 100 });
		server.start();
		const raw = await rawClient(server.port);
		server.close();
		await until(() => raw.closes.length === 1, "close frame");
		expect(raw.closes[0].code).toBe(1001);
		const started = Date.now();
		await raw.closed;
		expect(Date.now() - started).toBeGreaterThanOrEqual(50);
		expect(server.clients).toBe(0);
	});
});

describe("WebSocketEchoServer: protocol errors", () => {
	const cases: [string, Uint8Array, number][] = [
		["unmasked client frame", encode({ opcode: Opcode.TEXT, payload: "hi" }), 1002],
		["invalid UTF-8", frame(Opcode.TEXT, Uint8Array.of(0x41, 0xed, 0xa0, 0x80)), 1007],
		["text ending inside a UTF-8 sequence", frame(Opcode.TEXT, Uint8Array.of(0x41, 0x42, 0xe2, 0x82)), 1007],
		["reserved opcode", frame(3, "x"), 1002],
		["RSV1 without extension", encode({ opcode: Opcode.TEXT, payload: "x", rsv: 0x40, mask: MASK }), 1002],
		["continuation without a message", frame(Opcode.CONTINUATION, "x"), 1002],
		["new message inside a fragmented one", concat(frame(Opcode.TEXT, "a", false), frame(Opcode.TEXT, "b")), 1002],
		["fragmented ping", frame(Opcode.PING, "x", false), 1002],
		["close code 1005 on the wire", frame(Opcode.CLOSE, Uint8Array.of(0x03, 0xed)), 1002],
		["close reason not UTF-8", frame(Opcode.CLOSE, Uint8Array.of(0x03, 0xe8, 0xff)), 1007],
	];

	it("closes with the exact code for each violation, and serves a fresh client after each", async () => {
		const server = startServer();
		for (const [name, bytes, code] of cases) {
			const raw = await rawClient(server.port);
			expect(raw.status, name).toBe(101);
			raw.write(bytes);
			await raw.closed;
			expect(
				raw.closes.map(c => c.code),
				name,
			).toEqual([code]);
			// No text message was completed with the bad bytes.
			expect(
				raw.messages.filter(m => m.type === Opcode.TEXT && m.data.length >= 2),
				name,
			).toEqual([]);
			const ws = await wsClient(server.port);
			expect((await echo(ws, [`after ${name}`]))[0].data.toString()).toBe(`after ${name}`);
			ws.close();
		}
		await until(() => server.clients === 0, "no clients");
	});
});

describe("WebSocketEchoServer: handshake", () => {
	async function refused(port: number, path: string, options: WebSocket.ClientOptions = {}) {
		const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, options);
		ws.on("error", () => {});
		cleanups.push(() => ws.terminate());
		const [, response] = await once(ws, "unexpected-response");
		let body = "";
		response.on("data", (d: Buffer) => (body += d));
		await once(response, "end");
		return { status: response.statusCode as number, version: response.headers["sec-websocket-version"], body };
	}

	it("refuses with 404, 426, 400, 405 and 431", async () => {
		const server = startServer();
		expect(await refused(server.port, "/other")).toEqual({ status: 404, version: undefined, body: "not found\n" });
		expect((await refused(server.port, "/ws", { protocolVersion: 8 })).status).toBe(426);
		expect((await refused(server.port, "/ws", { protocolVersion: 8 })).version).toBe("13");

		const badKey = await rawClient(server.port);
		expect(badKey.status).toBe(101); // the helper sends a valid request; now craft bad ones
		const send = async (request: string) => {
			const raw = await RawClient.connect(server.port);
			cleanups.push(() => raw.destroy());
			raw.write(request);
			await raw.closed;
			return { status: raw.status, head: raw.head!, body: raw.body };
		};
		const bad = await send(
			"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n",
		);
		expect(bad.status).toBe(400);
		expect(bad.body).toBe("invalid Sec-WebSocket-Key\n");
		const post = await send("POST /ws HTTP/1.1\r\nHost: x\r\n\r\n");
		expect(post.status).toBe(405);
		expect(post.head).toMatch(/\r\nAllow: GET/);
		const large = await send(`GET /ws HTTP/1.1\r\nHost: x\r\nX-Big: ${"y".repeat(3000)}\r\n\r\n`);
		expect(large.status).toBe(431);
		const plain = await send("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
		expect(plain.status).toBe(426);
	});

	it("refuses the client beyond maxClients with 503, serves again once one leaves", async () => {
		const server = startServer({ maxClients: 2 });
		const ws1 = await wsClient(server.port);
		await wsClient(server.port);
		const third = await refused(server.port, "/ws");
		expect(third).toEqual({ status: 503, version: undefined, body: "too many clients\n" });
		ws1.close();
		await until(() => server.clients === 1, "one client left");
		const ws3 = await wsClient(server.port);
		expect((await echo(ws3, ["in"]))[0].data.toString()).toBe("in");
	});

	it("selects the first offered subprotocol it supports", async () => {
		const server = startServer({ protocols: ["chat", "superchat"] });
		const ws = await wsClient(server.port, "/ws", {}, ["v2.other", "superchat", "chat"]);
		expect(ws.protocol).toBe("superchat");
		const none = await wsClient(server.port);
		expect(none.protocol).toBe("");
	});

	it("drops a silent TCP client after handshakeTimeout, and a half-sent request too", async () => {
		const server = startServer({ handshakeTimeout: 100 });
		const silent = await RawClient.connect(server.port);
		const partial = await RawClient.connect(server.port);
		cleanups.push(
			() => silent.destroy(),
			() => partial.destroy(),
		);
		partial.write("GET /ws HTTP/1.1\r\nHost: x\r\n");
		const started = Date.now();
		await Promise.all([silent.closed, partial.closed]);
		expect(Date.now() - started).toBeGreaterThanOrEqual(60);
		expect(silent.received.length).toBe(0);
		const ws = await wsClient(server.port);
		expect((await echo(ws, ["still serving"]))[0].data.toString()).toBe("still serving");
	});
});

describe("WebSocketEchoServer: heartbeat", () => {
	it("pings clients and drops the one that does not pong", async () => {
		const server = startServer({ heartbeat: 60 });
		const lazy = await wsClient(server.port, "/ws", { autoPong: false });
		const alive = await wsClient(server.port);
		let pings = 0;
		alive.on("ping", () => pings++);
		const [code] = await once(lazy, "close");
		expect([1001, 1006]).toContain(code);
		await sleep(150);
		expect(pings).toBeGreaterThanOrEqual(2);
		expect(alive.readyState).toBe(WebSocket.OPEN);
		expect(server.clients).toBe(1);
	});
});

describe("WebSocketEchoServer: heartbeat and the app's own pings", () => {
	it("keeps a client whose Pong to a Ping of the app's is on its way when the heartbeat comes", async () => {
		const server = startServer({ heartbeat: 150 });
		const client = await wsClient(server.port, "/ws", { autoPong: false });
		// The echo pings on the text "Ping" (the app's own Ping, not the heartbeat's); this client answers 40 ms later.
		let pongs = 0;
		client.on("ping", data =>
			setTimeout(() => {
				if (client.readyState === WebSocket.OPEN) {
					client.pong(data);
					pongs++;
				}
			}, 40),
		);
		const closed = new Promise<number>(resolve => client.once("close", code => resolve(code)));
		const started = Date.now();
		while (Date.now() - started < 1000 && client.readyState === WebSocket.OPEN) {
			client.send("Ping");
			await sleep(20);
		}
		expect(client.readyState, "dropped by the heartbeat while its Pong was on the way").toBe(WebSocket.OPEN);
		expect(pongs).toBeGreaterThan(5);
		client.close(1000);
		expect(await closed).toBe(1000);
	});
});

describe("WebSocketServer: a handler that resumes reading from inside a delivery", () => {
	// resume() called while the connection is delivering a read (here from
	// onMessage; the echo does it from onDrain when a send inside a
	// delivery drains its queue) must not start a second, nested read: the
	// parser would be fed the next bytes while still inside the previous
	// ones, and messages would arrive out of order or corrupt (1002).
	it("delivers 300 messages sent in one write in order, byte-exact, with pause()/resume() on each", async () => {
		const { WebSocketServer } = await import("websocket/server");
		const server = new WebSocketServer({ port: 0, logTag: "resume-test" });
		server.route(
			"/ws",
			{
				onMessage(connection, _type, data) {
					connection.pause();
					connection.sendBinary(data);
					connection.resume();
				},
			},
			{ readSize: 64 },
		);
		server.start();
		cleanups.push(() => server.close());
		const ws = await wsClient(server.port);
		const count = 300;
		const messages = Array.from({ length: count }, (_, i) => Buffer.from(`message ${i} `.repeat(1 + (i % 7))));
		const received: Buffer[] = [];
		ws.on("message", (data: Buffer) => received.push(data));
		const closed = new Promise<number>(resolve => ws.once("close", code => resolve(code)));
		// One write: the frames reach the device together and are read 64 bytes at a time.
		const socket = (ws as unknown as { _socket: import("node:net").Socket })._socket;
		socket.write(Buffer.concat(messages.map(m => Buffer.from(frame(Opcode.BINARY, m)))));
		await until(() => received.length >= count, "all echoes", 10_000).catch(() => undefined);
		ws.close();
		const code = await closed;
		expect(received.length).toBe(count);
		expect(received.map(b => b.toString())).toEqual(messages.map(m => m.toString()));
		expect(code).toBe(1000);
	}, 20_000);
});

describe("WebSocketServer.route: a handler that cannot receive on its route", () => {
	it("is named in a warning at route(), for either delivery; one that can receive is not", () => {
		const logs = captureLogs();
		cleanups.push(() => logs.stop());
		const server = new WebSocketServer({ port: 0 });
		server.route("/whole-only", { onMessage() {} }, { streaming: true });
		server.route("/stream-only", { onMessageData() {} });
		server.route("/fine", { onMessage() {} });
		server.route("/fine-stream", { onMessageData() {} }, { streaming: true });
		server.route("/send-only", { onOpen() {} });
		const warnings = logs.lines.filter(line => line.includes("Route /"));
		expect(warnings).toHaveLength(2);
		expect(warnings[0]).toMatch(/Route \/whole-only: .*onMessage only/);
		expect(warnings[1]).toMatch(/Route \/stream-only: .*only streaming events/);
		expect(deafness({ onMessage() {} }, false)).toBeUndefined();
	});
});
