// A WebSocket route's handler, as an app uses it: each event it is given,
// once, in order, for each way a connection ends; onClose last. The device
// suites hold the same contract on every tier (tests/device/contract).
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { WebSocketServer } from "websocket/server";
import { CLOSING, type WebSocketConnection, type WebSocketHandler } from "websocket/connection";
import { Opcode } from "websocket/constants";
import { MASK, encode } from "./helpers.js";
import { RawClient, until } from "./peers.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
	while (cleanups.length)
		cleanups.pop()!();
});

/** Every event the handler got, as "name" or "name:detail", in order. */
class Recorder implements WebSocketHandler {
	readonly events: string[] = [];
	onOpen(): void {
		this.events.push("open");
	}
	onMessage(connection: WebSocketConnection): void {
		this.events.push("message");
		connection.sendText("ok");
	}
	onCloseFrame(_connection: WebSocketConnection, code: number): void {
		this.events.push(`closeFrame:${code}`);
	}
	onProtocolError(_connection: WebSocketConnection, code: number): void {
		this.events.push(`protocolError:${code}`);
	}
	onClose(_connection: WebSocketConnection, cause: string): void {
		this.events.push(`close:${cause}`);
	}
}

function serve(recorder: Recorder): WebSocketServer {
	const server = new WebSocketServer({ port: 0, logTag: "route-events" });
	server.route("/r", recorder, { maxMessage: 64 });
	server.start();
	cleanups.push(() => server.close());
	return server;
}

async function client(server: WebSocketServer): Promise<WebSocket> {
	const ws = new WebSocket(`ws://127.0.0.1:${server.port}/r`);
	ws.on("error", () => {});
	cleanups.push(() => ws.terminate());
	await once(ws, "open");
	ws.send("hi");
	await once(ws, "message");
	return ws;
}

const ended = (recorder: Recorder) => until(() => recorder.events.some(e => e.startsWith("close:")), "onClose", 5000);

describe("a WebSocket route's handler gets onClose, last and once, however the connection ends", () => {
	it("the peer closes with 1000", async () => {
		const recorder = new Recorder();
		const server = serve(recorder);
		const ws = await client(server);
		ws.close(1000);
		await ended(recorder);
		expect(recorder.events).toEqual(["open", "message", "closeFrame:1000", "close:closed"]);
		expect(server.clients).toBe(0);
	});

	it("the peer closes with no code (1005)", async () => {
		const recorder = new Recorder();
		const server = serve(recorder);
		const ws = await client(server);
		ws.close();
		await ended(recorder);
		expect(recorder.events).toEqual(["open", "message", "closeFrame:1005", "close:closed"]);
	});

	it("the peer resets the connection", async () => {
		const recorder = new Recorder();
		const server = serve(recorder);
		const ws = await client(server);
		ws.terminate();
		await ended(recorder);
		expect(recorder.events.slice(0, 2)).toEqual(["open", "message"]);
		expect(recorder.events).toHaveLength(3);
		expect(recorder.events[2]).toMatch(/^close:(peer-closed|peer-gone)$/);
	});

	it("the server stops: Close 1001 answered, then onClose", async () => {
		const recorder = new Recorder();
		const server = serve(recorder);
		await client(server);
		server.close();
		await ended(recorder);
		expect(recorder.events).toEqual(["open", "message", "closeFrame:1001", "close:closed"]);
	});

	it("the peer breaks the protocol (an unmasked frame): onProtocolError, then onClose", async () => {
		const recorder = new Recorder();
		const server = serve(recorder);
		const raw = await RawClient.open(server.port, "/r");
		cleanups.push(() => raw.destroy());
		await until(() => recorder.events.length === 1, "onOpen");
		raw.write(encode({ opcode: Opcode.TEXT, payload: "unmasked", fin: true }));
		await ended(recorder);
		expect(recorder.events).toEqual(["open", "protocolError:1002", "close:protocol-error"]);
	});

	it("a message too big: onProtocolError 1009, then onClose", async () => {
		const recorder = new Recorder();
		const server = serve(recorder);
		const raw = await RawClient.open(server.port, "/r");
		cleanups.push(() => raw.destroy());
		await until(() => recorder.events.length === 1, "onOpen");
		raw.write(encode({ opcode: Opcode.BINARY, payload: new Uint8Array(65), fin: true, mask: MASK }));
		await ended(recorder);
		expect(recorder.events).toEqual(["open", "protocolError:1009", "close:protocol-error"]);
	});

	it("inside onProtocolError the connection is already failing: a send is refused, only the Close goes out", async () => {
		const recorder = new Recorder();
		const inside: [number, boolean][] = [];
		recorder.onProtocolError = (connection: WebSocketConnection, code: number) => {
			recorder.events.push(`protocolError:${code}`);
			inside.push([connection.state, connection.sendText("too late")]);
		};
		const server = serve(recorder);
		const raw = await RawClient.open(server.port, "/r");
		cleanups.push(() => raw.destroy());
		await until(() => recorder.events.length === 1, "onOpen");
		raw.write(encode({ opcode: Opcode.TEXT, payload: "unmasked", fin: true }));
		await ended(recorder);
		expect(inside).toEqual([[CLOSING, false]]);
		await until(() => raw.closes.length === 1, "the Close");
		expect(raw.closes[0].code).toBe(1002);
		expect(raw.messages).toEqual([]);
	});
});
