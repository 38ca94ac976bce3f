// The WebSocket server and client with the simulator's socket sizes: a
// 1536-byte read buffer and write budget (XSNK_HOST_SOCKET_BUFFER, read when
// the host provider loads, so the device modules are imported afterwards).
import { once } from "node:events";
import type { WebSocketClientSession as SessionClass } from "app/ws-client-session";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { WebSocketClient as ClientClass, WebSocketDataEvent } from "websocket/client";
import type { WebSocketConnection, WebSocketHandler } from "websocket/connection";
import { Opcode } from "websocket/constants";
import type { WebSocketServer as ServerOnly } from "websocket/server";
import WebSocket from "ws";
import { FrameReader, type ServerFrame } from "../../../host-harness/conformance/frames.js";
import type { WebSocketEchoServer as ServerClass } from "./echo-server.js";
import { concat, encode, MASK } from "./helpers.js";
import { captureLogs, patterned, RawClient, textOf, until } from "./peers.js";

let WebSocketEchoServer: typeof ServerClass;
let WebSocketClient: typeof ClientClass;
let WebSocketClientSession: typeof SessionClass;
let WebSocketServer: typeof ServerOnly;
let budget = 0;
const previous = process.env.XSNK_HOST_SOCKET_BUFFER;

beforeAll(async () => {
	process.env.XSNK_HOST_SOCKET_BUFFER = "1536";
	vi.resetModules();
	({ bufferSize: budget } = (await import("embedded:io/socket/tcp")) as unknown as { bufferSize: number });
	({ WebSocketEchoServer } = await import("./echo-server.js"));
	({ WebSocketClient } = await import("websocket/client"));
	({ WebSocketClientSession } = await import("app/ws-client-session"));
	({ WebSocketServer } = await import("websocket/server"));
});

afterAll(() => {
	if (previous === undefined) delete process.env.XSNK_HOST_SOCKET_BUFFER;
	else process.env.XSNK_HOST_SOCKET_BUFFER = previous;
});

const cleanups: (() => void)[] = [];
afterEach(() => {
	while (cleanups.length) cleanups.pop()!();
});

function startServer(): ServerClass {
	const server = new WebSocketEchoServer({ port: 0 });
	server.start();
	cleanups.push(() => server.close());
	return server;
}

async function wsClient(port: number): Promise<WebSocket> {
	const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
	ws.on("error", () => {});
	cleanups.push(() => ws.terminate());
	await once(ws, "open");
	return ws;
}

describe("with a 1536-byte socket budget", () => {
	it("uses the simulator's buffer size", () => {
		expect(budget).toBe(1536);
	});

	it("server echoes 0 B … 1 MiB text and binary through the budget with a bounded queue", async () => {
		const server = startServer();
		const ws = await wsClient(server.port);
		const sizes = [0, 125, 126, 65535, 65536, 1 << 20];
		const sent = [...sizes.map(n => textOf(n)), ...sizes.map(n => patterned(n))];
		const received: { data: Buffer; isBinary: boolean }[] = [];
		ws.on("message", (data, isBinary) => received.push({ data: data as Buffer, isBinary }));
		for (const message of sent) ws.send(message);
		await until(() => received.length === sent.length, "echoes", 10000);
		sent.forEach((message, i) => {
			expect(received[i].isBinary).toBe(typeof message !== "string");
			expect(received[i].data.equals(Buffer.from(message))).toBe(true);
		});
		expect(server.maxQueued).toBeLessThan(4096);
	});

	it('never interleaves "Async data" or pongs inside a half-echoed message', async () => {
		const server = startServer();
		const ws = await wsClient(server.port);
		const received: string[] = [];
		let closed = false;
		ws.on("close", () => (closed = true));
		ws.on("message", (data, isBinary) => received.push(isBinary ? `binary ${(data as Buffer).length}` : String(data).slice(0, 20)));
		const pongs: string[] = [];
		ws.on("pong", data => pongs.push(String(data)));
		ws.send("Trigger async");
		ws.send(patterned(1 << 19));
		ws.ping("during");
		ws.send("Trigger async");
		await until(() => received.length === 5 && pongs.length === 1, "echoes", 10000);
		expect(closed).toBe(false);
		expect(received.filter(r => r === "Async data")).toHaveLength(2);
		expect(received.filter(r => r !== "Async data")).toEqual(["Trigger async", `binary ${1 << 19}`, "Trigger async"]);
	});

	it("server: fragments with control frames in between, through a raw client", async () => {
		const server = startServer();
		const raw = await RawClient.open(server.port);
		cleanups.push(() => raw.destroy());
		const big = patterned(10000);
		const frame = (opcode: number, payload?: Uint8Array | string, fin = true) => encode({ opcode, payload, fin, mask: MASK });
		raw.write(
			concat(
				frame(Opcode.BINARY, big.subarray(0, 4000), false),
				frame(Opcode.PING, "a"),
				frame(Opcode.CONTINUATION, big.subarray(4000, 4000), false),
				frame(Opcode.PING, "b"),
				frame(Opcode.CONTINUATION, big.subarray(4000), true),
				frame(Opcode.CLOSE, Uint8Array.of(0x0f, 0xa0)), // 4000
			),
		);
		await raw.closed;
		expect(raw.messages).toHaveLength(1);
		expect(raw.messages[0].data.equals(big)).toBe(true);
		// Pong "a" may still wait for budget when ping "b" arrives: then only the latest is answered (5.5.3).
		expect([["a", "b"], ["b"]]).toContainEqual(raw.pongs);
		expect(raw.closes).toEqual([{ code: 4000, reason: "" }]);
	});

	it("client session against the device echo server, and a 200 kB round trip", async () => {
		const logs = captureLogs();
		cleanups.push(() => logs.stop());
		const server = startServer();
		const session = new WebSocketClientSession({
			uri: `ws://127.0.0.1:${server.port}/ws`,
			helloInterval: 15,
			noDataTimeout: 200,
			pingInterval: 0,
		});
		let closed: number | undefined;
		session.onClosed = code => (closed = code);
		cleanups.push(() => session.stop());
		session.start();

		const client = new WebSocketClient({ uri: `ws://127.0.0.1:${server.port}/ws`, maxMessage: 1 << 18, maxQueue: 1 << 18, reconnect: false });
		cleanups.push(() => client.close());
		const data: WebSocketDataEvent[] = [];
		client.onData = event => data.push(event);
		client.onConnected = () => client.sendBinary(patterned(200000));
		client.connect();

		await until(() => closed !== undefined && data.length === 1, "session end and echo", 8000);
		expect(closed).toBe(1000);
		expect(Buffer.from(data[0].data).equals(patterned(200000))).toBe(true);
		const lines = logs.lines.map(l => l.replace(/^\w \(\d+\) /, ""));
		expect(lines).toEqual(
			expect.arrayContaining([
				"ws-server: " + lines.find(l => l.startsWith("ws-server: Received text message of 64 bytes"))!.slice(11),
				"ws-client: Received opcode=1 len=64: " + "a".repeat(32) + "b".repeat(32),
				"ws-client: Received opcode=2 len=10 (binary)",
				"ws-client: WebSocket closed cleanly (1000)",
			]),
		);
		expect(lines.some(l => /^ws-server: Received text message of 2000 bytes from /.test(l))).toBe(true);
		expect(server.maxQueued).toBeLessThan(4096);
	});
});

describe("sending through a 1536-byte budget: frames as the route asks", () => {
	/** The frames a raw client received after the upgrade's head. */
	function framesOf(raw: RawClient): ServerFrame[] {
		return new FrameReader().push(raw.received.subarray(raw.received.indexOf("\r\n\r\n") + 4));
	}

	async function open(route: WebSocketHandler & { connection?: WebSocketConnection }, options: object): Promise<RawClient> {
		const server = new WebSocketServer({ port: 0, heartbeat: 0 });
		server.route("/r", route, options);
		server.start();
		cleanups.push(() => server.close());
		const raw = await RawClient.open(server.port, "/r");
		cleanups.push(() => raw.destroy());
		await until(() => route.connection !== undefined, "onOpen");
		return raw;
	}

	it("sends a message as one frame by default, its payload as the budget frees up, then onDrain once; a small one after it as one frame too", async () => {
		const drains: number[] = [];
		const route = {
			connection: undefined as WebSocketConnection | undefined,
			onOpen(c: WebSocketConnection) {
				this.connection = c;
			},
			onDrain(c: WebSocketConnection) {
				drains.push(c.bufferedAmount);
			},
		};
		const raw = await open(route, { maxQueue: 1 << 20 });
		const big = patterned(100000),
			small = patterned(600, 5);
		const connection = route.connection!;
		expect(connection.sendBinary(big)).toBe(true);
		expect(connection.bufferedAmount).toBeGreaterThan(big.length - budget); // the budget took a part: the rest of the frame waits
		expect(connection.sendBinary(small)).toBe(true);
		expect(connection.sendText("hi")).toBe(true);
		await until(() => raw.messages.length === 3, "three messages", 8000);
		expect(framesOf(raw).map(f => [f.opcode, f.fin, f.payload.length])).toEqual([
			[Opcode.BINARY, true, big.length],
			[Opcode.BINARY, true, small.length],
			[Opcode.TEXT, true, 2],
		]);
		expect(raw.messages[0].data.equals(big) && raw.messages[1].data.equals(small)).toBe(true);
		await until(() => drains.length === 1, "onDrain");
		expect(drains).toEqual([0]);
	});

	it("fragments at the route's sendBuffer when it sets one (5.4)", async () => {
		const route = {
			connection: undefined as WebSocketConnection | undefined,
			onOpen(c: WebSocketConnection) {
				this.connection = c;
			},
		};
		const raw = await open(route, { sendBuffer: 1000 });
		const message = patterned(2500);
		expect(route.connection!.sendBinary(message)).toBe(true);
		expect(route.connection!.sendBinary(patterned(1000))).toBe(true);
		await until(() => raw.messages.length === 2, "two messages");
		expect(framesOf(raw).map(f => [f.opcode, f.fin, f.payload.length])).toEqual([
			[Opcode.BINARY, false, 1000],
			[Opcode.CONTINUATION, false, 1000],
			[Opcode.CONTINUATION, true, 500],
			[Opcode.BINARY, true, 1000],
		]);
		expect(raw.messages[0].data.equals(message)).toBe(true);
	});
});

describe("no handler event from inside a call the handler made", () => {
	it("onDrain and the messages a resume() lets through come after the call returned", async () => {
		let inside = "";
		const events: string[] = [];
		const handler: WebSocketHandler = {
			onMessage(connection: WebSocketConnection, _type, data) {
				events.push(`message ${data.byteLength}${inside ? ` inside ${inside}` : ""}`);
				if (data.byteLength === 1) {
					// bytes that must wait for budget: onDrain follows once they are written
					inside = "sendBinary";
					connection.sendBinary(new Uint8Array(64 * 1024));
					inside = "";
					connection.pause();
					setTimeout(() => {
						inside = "resume";
						connection.resume();
						inside = "";
					}, 200);
				} else {
					// written at once: nothing waited, so no onDrain (and never one from inside the call)
					inside = "sendText";
					connection.sendText("ok");
					inside = "";
				}
			},
			onDrain() {
				events.push(`drain${inside ? ` inside ${inside}` : ""}`);
			},
		};
		const server = new WebSocketServer({ port: 0 });
		server.route("/", handler);
		server.start();
		cleanups.push(() => server.close());
		const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`);
		ws.on("error", () => {});
		cleanups.push(() => ws.terminate());
		await once(ws, "open");
		let received = 0;
		ws.on("message", (data: Buffer) => (received += data.length));
		ws.send(Buffer.alloc(1));
		await until(() => events.length >= 1, "the first message");
		ws.send(Buffer.alloc(2)); // read only once resumed
		ws.send(Buffer.alloc(3));
		await until(() => events.length >= 4 && received === 64 * 1024 + 4, "events", 5000);
		await new Promise(resolve => setTimeout(resolve, 50));
		expect(events).toEqual(["message 1", "drain", "message 2", "message 3"]);
	});
});
