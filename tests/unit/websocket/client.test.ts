// WebSocketClient and WebSocketClientSession (device modules) over the Node
// host providers, against the real `ws` server and raw TCP servers.
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { WebSocketClientSession } from "app/ws-client-session";
import { isDottedQuad } from "modules/resolve";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocketClient, type WebSocketClientOptions, type WebSocketDataEvent } from "websocket/client";
import { Opcode } from "websocket/constants";
import { FrameParser } from "websocket/frame-parser";
import { acceptResponse } from "websocket/handshake";
import { WebSocketServer, type WebSocket as WsSocket } from "ws";
import Net from "../../../host-harness/node-host/net.js";
import { FrameRecorder } from "./helpers.js";
import { captureLogs, patterned, rawServer, sleep, toArrayBuffer, until } from "./peers.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
	while (cleanups.length) cleanups.pop()!();
});

interface Received {
	data: Buffer;
	isBinary: boolean;
}

/** A ws echo server recording what it receives. */
async function echoServer(options: { port?: number; autoPong?: boolean; greeting?: string } = {}) {
	const wss = new WebSocketServer({ host: "127.0.0.1", port: options.port ?? 0, autoPong: options.autoPong ?? true });
	await once(wss, "listening");
	const state = {
		wss,
		port: (wss.address() as AddressInfo).port,
		received: [] as Received[],
		closes: [] as { code: number; reason: string }[],
		pings: 0,
		sockets: [] as WsSocket[],
	};
	wss.on("connection", ws => {
		state.sockets.push(ws);
		if (options.greeting) ws.send(options.greeting);
		ws.on("ping", () => state.pings++);
		ws.on("message", (data, isBinary) => {
			state.received.push({ data: data as Buffer, isBinary });
			ws.send(data, { binary: isBinary });
		});
		ws.on("close", (code, reason) => state.closes.push({ code, reason: reason.toString() }));
	});
	const close = () => {
		for (const ws of wss.clients) ws.terminate();
		wss.close();
	};
	cleanups.push(close);
	return {
		...state,
		close,
		get received() {
			return state.received;
		},
		get closes() {
			return state.closes;
		},
		get pings() {
			return state.pings;
		},
	};
}

/** A client with its events recorded. */
function recordedClient(options: WebSocketClientOptions) {
	const client = new WebSocketClient({ pingInterval: 0, ...options });
	const events = {
		client,
		connected: 0,
		data: [] as WebSocketDataEvent[],
		errors: [] as string[],
		disconnected: [] as string[],
		closed: [] as [number, string][],
	};
	client.onConnected = () => events.connected++;
	client.onData = event => events.data.push(event);
	client.onError = error => events.errors.push(error.message);
	client.onDisconnected = reason => events.disconnected.push(reason);
	client.onClosed = (code, reason) => events.closed.push([code, reason]);
	cleanups.push(() => client.close());
	return events;
}

const text = (event: WebSocketDataEvent) => Buffer.from(event.data).toString();

describe("WebSocketClientSession against a ws echo server", () => {
	it("runs the ESP-IDF example session and closes cleanly with 1000", async () => {
		const logs = captureLogs();
		cleanups.push(() => logs.stop());
		const server = await echoServer({
			greeting: JSON.stringify([
				{ id: 1, name: "alpha" },
				{ id: 2, name: "beta" },
			]),
		});
		const session = new WebSocketClientSession({
			uri: `ws://127.0.0.1:${server.port}/`,
			helloInterval: 20,
			noDataTimeout: 250,
			pingInterval: 0,
		});
		let closed: [number, string] | undefined;
		session.onClosed = (code, reason) => (closed = [code, reason]);
		cleanups.push(() => session.stop());
		session.start();
		await until(() => closed !== undefined, "session end", 5000);
		expect(closed).toEqual([1000, ""]);

		const got = server.received.map(r => (r.isBinary ? r.data.toString("hex") : r.data.toString()));
		expect(got).toEqual([
			"hello 0000",
			"hello 0001",
			"hello 0002",
			"hello 0003",
			"hello 0004",
			"a".repeat(32) + "b".repeat(32),
			"00000000000101010101",
			"a".repeat(2000),
		]);
		expect(server.received.map(r => r.isBinary)).toEqual([false, false, false, false, false, false, true, false]);
		await until(() => server.closes.length === 1, "server saw the close");
		expect(server.closes[0].code).toBe(1000);

		const lines = logs.lines.filter(l => l.includes("ws-client:")).map(l => l.replace(/^\w \(\d+\) ws-client: /, ""));
		expect(lines).toEqual(
			expect.arrayContaining([
				"Received opcode=1 len=10: hello 0000",
				"Received opcode=1 len=10: hello 0004",
				"Json={'id': '1', 'name': 'alpha'}",
				"Json={'id': '2', 'name': 'beta'}",
				`Received opcode=1 len=64: ${"a".repeat(32)}${"b".repeat(32)}`,
				"Received opcode=2 len=10 (binary)",
				`Received opcode=1 len=2000: ${"a".repeat(64)}…`,
				"WebSocket closed cleanly (1000)",
			]),
		);
	});
});

describe("WebSocketClient", () => {
	it("exchanges messages, fragments by sendBuffer, masks every frame", async () => {
		// A raw server records frame headers: the client must fragment at sendBuffer and mask.
		const recorder = new FrameRecorder();
		const parser = new FrameParser(recorder, { role: "server" });
		const { port, server } = await rawServer((socket, request) => {
			const key = /Sec-WebSocket-Key: (\S+)/i.exec(request)![1];
			socket.write(acceptResponse(key));
			const head = request.indexOf("\r\n\r\n") + 4;
			if (head < request.length) parser.feed(toArrayBuffer(Buffer.from(request.slice(head), "latin1")));
			socket.on("data", (data: Buffer) => parser.feed(toArrayBuffer(data)));
		});
		cleanups.push(() => server.close());
		const events = recordedClient({ uri: `ws://127.0.0.1:${port}/x`, sendBuffer: 1000, reconnect: false });
		events.client.connect();
		await until(() => events.client.isConnected, "connected");
		const big = patterned(2500);
		expect(events.client.sendBinary(big)).toBe(true);
		expect(events.client.sendText("small")).toBe(true);
		await until(() => recorder.events.length === 8, "frames");
		expect(recorder.events.filter(e => (e as { start?: number }).start !== undefined)).toEqual([
			{ start: Opcode.BINARY, fin: false, length: 1000, rsv: 0 },
			{ start: Opcode.CONTINUATION, fin: false, length: 1000, rsv: 0 },
			{ start: Opcode.CONTINUATION, fin: true, length: 500, rsv: 0 },
			{ start: Opcode.TEXT, fin: true, length: 5, rsv: 0 },
		]);
		const payload = recorder.events.filter(e => (e as { data?: string }).data !== undefined).map(e => (e as { data: string }).data);
		expect(payload.slice(0, 3).join("")).toBe(big.toString("hex")); // unmasked correctly by the server-role parser
		expect(events.client.bufferedAmount).toBe(0);
	});

	it("round-trips text, binary, fragmented and large messages with a ws server", async () => {
		const server = await echoServer();
		const events = recordedClient({ uri: `ws://127.0.0.1:${server.port}`, reconnect: false, maxMessage: 1 << 20, maxQueue: 1 << 20 });
		events.client.connect();
		await until(() => events.connected === 1, "connected");
		const big = patterned(300000);
		events.client.sendText("héllo 𝄞");
		events.client.sendBinary(big);
		events.client.sendPiece(Opcode.TEXT, Buffer.from("€").subarray(0, 1), false); // UTF-8 split across frames
		events.client.sendPiece(Opcode.TEXT, Buffer.from("€").subarray(1), false);
		events.client.sendPiece(Opcode.TEXT, "!", true);
		events.client.sendPiece(Opcode.BINARY, "x", false);
		// A whole message sent while a message goes in pieces waits for its last piece (5.4), as on a server's connection.
		expect(events.client.sendText("after the pieces")).toBe(true);
		events.client.sendPiece(Opcode.TEXT, "y", true); // continues the binary message, whatever its type
		await until(() => events.data.length === 5, "echoes");
		expect(events.data.map(e => e.opcode)).toEqual([Opcode.TEXT, Opcode.BINARY, Opcode.TEXT, Opcode.BINARY, Opcode.TEXT]);
		expect(text(events.data[0])).toBe("héllo 𝄞");
		expect(Buffer.from(events.data[1].data).equals(big)).toBe(true);
		expect(Object.keys(events.data[1]).sort()).toEqual(["data", "opcode"]);
		expect(text(events.data[2])).toBe("€!");
		expect(text(events.data[3])).toBe("xy");
		expect(text(events.data[4])).toBe("after the pieces");
		events.client.close(1000, "bye");
		await until(() => events.closed.length === 1, "closed");
		expect(events.closed).toEqual([[1000, "bye"]]);
		await until(() => server.closes.length === 1, "server saw the close"); // its close event follows our FIN
		expect(server.closes).toEqual([{ code: 1000, reason: "bye" }]);
		expect(events.disconnected).toEqual([]);
		expect(events.client.isConnected).toBe(false);
	});

	it("refuses sends beyond maxQueue and reports onDrain", async () => {
		const server = await echoServer();
		const events = recordedClient({ uri: `ws://127.0.0.1:${server.port}`, reconnect: false, maxQueue: 4000, sendBuffer: 512, maxMessage: 200000 });
		let drained = 0;
		events.client.onDrain = () => drained++;
		expect(events.client.sendText("not yet")).toBe(false);
		events.client.connect();
		await until(() => events.connected === 1, "connected");
		// The first message fits an empty queue whatever its size; the next must fit maxQueue.
		expect(events.client.sendBinary(patterned(100000))).toBe(true);
		expect(events.client.sendBinary(patterned(100))).toBe(false);
		await until(() => drained === 1, "drain");
		expect(events.client.sendBinary(patterned(100))).toBe(true);
		await until(() => events.data.length === 2, "echoes");
		expect(events.data.map(e => e.data.byteLength)).toEqual([100000, 100]);
	});

	it("fails the handshake on a Sec-WebSocket-Accept mismatch", async () => {
		const { port, server } = await rawServer(socket =>
			socket.write(
				"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
			),
		);
		cleanups.push(() => server.close());
		const events = recordedClient({ uri: `ws://127.0.0.1:${port}/`, reconnect: false });
		events.client.connect();
		await until(() => events.disconnected.length === 1, "disconnected");
		expect(events.errors).toEqual([expect.stringMatching(/Sec-WebSocket-Accept mismatch/)]);
		expect(events.connected).toBe(0);
		expect(events.disconnected).toEqual(["handshake failed"]);
	});

	it("reports a refused handshake (non-101) as an error; refuses wss:// without a CA", async () => {
		const { port, server } = await rawServer(socket => socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
		cleanups.push(() => server.close());
		const events = recordedClient({ uri: `ws://127.0.0.1:${port}/nope`, reconnect: false });
		events.client.connect();
		await until(() => events.disconnected.length === 1, "disconnected");
		expect(events.errors).toEqual([expect.stringMatching(/unexpected status 404/)]);

		// Never an unverified TLS connection: no CA, no client (tests/device/ws-client-tls.test.ts runs wss).
		expect(() => recordedClient({ uri: "wss://127.0.0.1:1/" })).toThrow(/wss:\/\/ needs the CA/);
		expect(() => new WebSocketClient({ uri: "http://x/" })).toThrow(URIError);
	});

	it("resolves host names with Net.resolve (localhost directly), reports a failed lookup", async () => {
		const server = await echoServer();
		const resolve = vi
			.spyOn(Net, "resolve")
			.mockImplementation((name, callback) => setTimeout(() => callback(name, name === "echo.test" ? "127.0.0.1" : undefined), 1));
		cleanups.push(() => resolve.mockRestore());
		for (const host of ["echo.test", "localhost"]) {
			const events = recordedClient({ uri: `ws://${host}:${server.port}/`, reconnect: false });
			events.client.connect();
			await until(() => events.connected === 1, "connected");
			events.client.sendText(`to ${host}`);
			await until(() => events.data.length === 1, "echo");
			expect(text(events.data[0])).toBe(`to ${host}`);
		}
		expect(resolve.mock.calls.map(call => call[0])).toEqual(["echo.test"]);
		const failing = recordedClient({ uri: `ws://nowhere.test:${server.port}/`, reconnect: false });
		failing.client.connect();
		await until(() => failing.disconnected.length === 1, "lookup failure");
		expect(failing.errors).toEqual(["DNS lookup failed for nowhere.test"]);
	});

	it("reconnects with backoff after the server goes away, not after close()", async () => {
		const first = await echoServer();
		const port = first.port;
		const events = recordedClient({ uri: `ws://127.0.0.1:${port}/`, reconnect: { initialDelay: 30, maxDelay: 120 } });
		events.client.connect();
		await until(() => events.connected === 1, "connected");
		first.close(); // terminate: no closing handshake
		await until(() => events.disconnected.length >= 2, "failed attempts while the server is down");
		const second = await echoServer({ port });
		await until(() => events.connected === 2, "reconnected", 3000);
		events.client.sendText("again");
		await until(() => events.data.length === 1, "echo");
		expect(text(events.data[0])).toBe("again");
		expect(events.disconnected[0]).toBe("peer closed or reset");
		expect(events.disconnected).toContain("connection refused or unreachable");

		// A server-initiated close is clean, and the client comes back.
		second.sockets[0].close(1001, "restart");
		await until(() => events.closed.length === 1 && events.connected === 3, "clean close then reconnect");
		expect(events.closed[0]).toEqual([1001, "restart"]);

		events.client.close();
		await until(() => events.closed.length === 2, "closed by us");
		await sleep(200);
		expect(events.connected).toBe(3);
	});

	it("times out a silent handshake (networkTimeout) and an unanswered close (closeTimeout)", async () => {
		const silent = await rawServer(() => {});
		cleanups.push(() => silent.server.close());
		const events = recordedClient({ uri: `ws://127.0.0.1:${silent.port}/`, networkTimeout: 80, reconnect: false });
		events.client.connect();
		await until(() => events.disconnected.length === 1, "network timeout");
		expect(events.disconnected).toEqual(["network timeout"]);
		expect(events.errors).toEqual([expect.stringMatching(/within 80 ms/)]);

		// Accepts the handshake, then ignores every frame.
		const deaf = await rawServer((socket, request) => socket.write(acceptResponse(/Sec-WebSocket-Key: (\S+)/i.exec(request)![1])));
		cleanups.push(() => deaf.server.close());
		const closing = recordedClient({ uri: `ws://127.0.0.1:${deaf.port}/`, closeTimeout: 80, reconnect: false });
		closing.client.connect();
		await until(() => closing.connected === 1, "connected");
		const started = Date.now();
		closing.client.close(1000);
		await until(() => closing.disconnected.length === 1, "close timeout");
		expect(Date.now() - started).toBeGreaterThanOrEqual(60);
		expect(closing.disconnected).toEqual(["close timeout"]);
		expect(closing.closed).toEqual([]);
	});

	it("gives up after maxAttempts", async () => {
		const unused = net.createServer();
		unused.listen(0, "127.0.0.1");
		await once(unused, "listening");
		const port = (unused.address() as AddressInfo).port;
		unused.close();
		const events = recordedClient({ uri: `ws://127.0.0.1:${port}/`, reconnect: { initialDelay: 10, maxAttempts: 2 } });
		events.client.connect();
		await until(() => events.errors.some(e => e.includes("giving up")), "gave up");
		expect(events.disconnected).toEqual(["connection refused or unreachable", "connection refused or unreachable", "connection refused or unreachable"]);
		// Each refused attempt is an error, then the client gives up.
		expect(events.errors).toEqual([
			...Array(3).fill(`no connection to 127.0.0.1:${port}: connection refused or unreachable`),
			expect.stringMatching(/giving up .* after 2 attempts/),
		]);
	});

	it("pings the server, and drops the connection when pongs stop", async () => {
		const server = await echoServer({ autoPong: false });
		const events = recordedClient({ uri: `ws://127.0.0.1:${server.port}/`, pingInterval: 30, pongTimeout: 80, reconnect: false });
		events.client.connect();
		await until(() => events.disconnected.length === 1, "pong timeout");
		expect(server.pings).toBeGreaterThanOrEqual(2);
		expect(events.disconnected).toEqual(["pong timeout"]);
		expect(events.errors).toEqual([expect.stringMatching(/no pong/)]);

		const healthy = await echoServer();
		const ok = recordedClient({ uri: `ws://127.0.0.1:${healthy.port}/`, pingInterval: 20, pongTimeout: 50, reconnect: false });
		ok.client.connect();
		await sleep(200);
		expect(ok.client.isConnected).toBe(true);
		expect(healthy.pings).toBeGreaterThanOrEqual(5);
	});

	it("fails with 1009 on a message over maxMessage", async () => {
		const server = await echoServer();
		const events = recordedClient({ uri: `ws://127.0.0.1:${server.port}/`, maxMessage: 1000, reconnect: false });
		events.client.connect();
		await until(() => events.connected === 1, "connected");
		events.client.sendBinary(patterned(1001));
		await until(() => server.closes.length === 1, "server saw the close");
		expect(server.closes[0].code).toBe(1009);
		expect(events.errors).toEqual([expect.stringMatching(/over 1000 bytes/)]);
	});

	it("runs two clients at once, each with its own echoes", async () => {
		const server = await echoServer();
		const a = recordedClient({ uri: `ws://127.0.0.1:${server.port}/a`, reconnect: false });
		const b = recordedClient({ uri: `ws://127.0.0.1:${server.port}/b`, reconnect: false });
		a.client.connect();
		b.client.connect();
		await until(() => a.connected === 1 && b.connected === 1, "both connected");
		for (let i = 0; i < 5; i++) {
			a.client.sendText(`a${i}`);
			b.client.sendBinary(patterned(3000, i));
		}
		await until(() => a.data.length === 5 && b.data.length === 5, "echoes");
		expect(a.data.map(text)).toEqual(["a0", "a1", "a2", "a3", "a4"]);
		b.data.forEach((e, i) => expect(Buffer.from(e.data).equals(patterned(3000, i))).toBe(true));
		a.client.close();
		b.client.close(4000, "done");
		await until(() => a.closed.length === 1 && b.closed.length === 1, "both closed");
		expect(b.closed).toEqual([[4000, "done"]]);
	});
});

describe("isDottedQuad (parsed by hand: no module-level RegExp in a preloaded module)", () => {
	it("agrees with the regular expression it replaced", () => {
		const dottedQuad = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
		const cases = [
			"127.0.0.1",
			"198.18.0.1",
			"1.2.3",
			"1.2.3.4.5",
			"1234.1.1.1",
			"1..1.1",
			".1.1.1",
			"1.1.1.",
			"a.b.c.d",
			"",
			"1.1.1.1a",
			"localhost",
			"0.0.0.0",
			"999.999.999.999",
		];
		for (let i = 0; i < 2000; i++) {
			let s = "";
			for (let n = Math.floor(Math.random() * 12); n > 0; n--) s += "0123456789.x"[Math.floor(Math.random() * 12)];
			cases.push(s);
		}
		for (const c of cases) expect(isDottedQuad(c), c).toBe(dottedQuad.test(c));
	});
});
