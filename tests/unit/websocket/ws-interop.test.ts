// Interoperability with the `ws` library over real loopback sockets: our
// client core against a ws server, and a ws client against our server core.
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { CloseCode, Opcode } from "websocket/constants";
import { FrameWriter } from "websocket/frame-writer";
import {
	acceptResponse,
	generateKey,
	RequestHeadParser,
	ResponseHeadParser,
	rejectionResponse,
	upgradeRequest,
	validateUpgradeRequest,
	validateUpgradeResponse,
} from "websocket/handshake";
import { type MessageHandler, MessageReader } from "websocket/message-reader";
import { WebSocket, WebSocketServer } from "ws";

const toArrayBuffer = (b: Buffer): ArrayBuffer => {
	const out = new ArrayBuffer(b.length);
	new Uint8Array(out).set(b);
	return out;
};
const send = (socket: net.Socket, data: ArrayBuffer | string) => socket.write(typeof data === "string" ? data : Buffer.from(data));

function patterned(length: number): Buffer {
	const out = Buffer.alloc(length);
	for (let i = 0; i < length; i++) out[i] = (i * 7 + 3) & 0xff;
	return out;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
	while (cleanups.length) cleanups.pop()!();
});

/** Collects whole messages and control events from a MessageReader. */
class Inbox implements MessageHandler {
	messages: { type: number; data: Buffer }[] = [];
	pongs: string[] = [];
	closes: { code: number | undefined; reason: string }[] = [];
	errors: number[] = [];
	waiters: (() => void)[] = [];
	onMessage(type: number, data: ArrayBuffer) {
		this.messages.push({ type, data: Buffer.from(data) });
		this.wake();
	}
	onPong(payload: ArrayBuffer) {
		this.pongs.push(Buffer.from(payload).toString());
		this.wake();
	}
	onCloseFrame(code: number | undefined, reason: string) {
		this.closes.push({ code, reason });
		this.wake();
	}
	onProtocolError(code: number) {
		this.errors.push(code);
		this.wake();
	}
	private wake() {
		for (const w of this.waiters.splice(0)) w();
	}
	async until(test: () => boolean): Promise<void> {
		while (!test()) await new Promise<void>(resolve => this.waiters.push(resolve));
	}
}

describe("our client core ↔ ws server", () => {
	it("handshakes, exchanges text/binary/fragmented/large messages, pings and closes", async () => {
		const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/echo", maxPayload: 1 << 21 });
		cleanups.push(() => wss.close());
		await once(wss, "listening");
		const serverClosed = new Promise<{ code: number; reason: string }>(resolve => {
			wss.on("connection", ws => {
				ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
				ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
			});
		});
		const { port } = wss.address() as AddressInfo;
		const socket = net.connect(port, "127.0.0.1");
		cleanups.push(() => socket.destroy());
		await once(socket, "connect");

		const key = generateKey();
		send(socket, upgradeRequest({ host: `127.0.0.1:${port}`, path: "/echo", key }));
		const head = new ResponseHeadParser();
		const inbox = new Inbox();
		const reader = new MessageReader(inbox, { role: "client", maxMessage: 1 << 21 });
		let upgraded = false;
		socket.on("data", (data: Buffer) => {
			if (!upgraded) {
				if (!head.feed(toArrayBuffer(data))) return;
				expect(head.error).toBeUndefined();
				expect(validateUpgradeResponse(head.head!, key)).toEqual({ ok: true, protocol: undefined });
				upgraded = true;
				if (head.rest) reader.feed(head.rest);
				return;
			}
			reader.feed(toArrayBuffer(data));
		});

		const writer = new FrameWriter({ role: "client" });
		send(socket, writer.text("héllo 𝄞"));
		send(socket, writer.binary(patterned(300)));
		send(socket, writer.text("frag", false));
		send(socket, writer.ping("mid"));
		send(socket, writer.continuation("men", false));
		send(socket, writer.continuation("ted"));
		// 1 MiB streamed as one frame: header, then masked pieces.
		const big = patterned(1 << 20);
		send(socket, writer.header(Opcode.BINARY, true, big.length));
		for (let at = 0; at < big.length; at += 1000) send(socket, writer.payload(big.subarray(at, at + 1000)));
		await inbox.until(() => inbox.messages.length === 4);

		expect(inbox.messages[0]).toEqual({ type: Opcode.TEXT, data: Buffer.from("héllo 𝄞") });
		expect(inbox.messages[1]).toEqual({ type: Opcode.BINARY, data: patterned(300) });
		expect(inbox.messages[2]).toEqual({ type: Opcode.TEXT, data: Buffer.from("fragmented") });
		expect(inbox.messages[3].data.equals(big)).toBe(true);
		expect(inbox.pongs).toEqual(["mid"]);

		send(socket, writer.close(CloseCode.NORMAL, "bye"));
		await inbox.until(() => inbox.closes.length === 1);
		expect(inbox.closes).toEqual([{ code: 1000, reason: "bye" }]);
		expect(await serverClosed).toEqual({ code: 1000, reason: "bye" });
		expect(inbox.errors).toEqual([]);
	});
});

describe("ws client ↔ our server core", () => {
	async function startServer(streaming: boolean) {
		const server = net.createServer(socket => {
			const head = new RequestHeadParser();
			const writer = new FrameWriter({ role: "server" });
			let reader: MessageReader | undefined;
			let type = 0;
			let length: number | undefined;
			let pieces: ArrayBuffer[] = [];
			const handler: MessageHandler = {
				// Echo: a single-frame binary message streams back as one frame of the same
				// length; anything else is echoed piece by piece as fragments, so a text
				// message found invalid midway leaves no half-sent frame before the Close.
				onMessageStart(t, l) {
					type = t;
					length = t === Opcode.BINARY ? l : undefined;
					pieces = [];
					if (length !== undefined) send(socket, writer.header(type, true, length));
				},
				onMessageData(piece) {
					if (length !== undefined) send(socket, writer.payload(piece));
					else {
						send(socket, writer.frame(pieces.length ? Opcode.CONTINUATION : type, piece, false));
						pieces.push(piece);
					}
				},
				onMessageEnd() {
					if (length === undefined) send(socket, writer.frame(pieces.length ? Opcode.CONTINUATION : type, new ArrayBuffer(0), true));
				},
				onMessage(t, data) {
					send(socket, writer.frame(t, data));
				},
				onPing(payload) {
					send(socket, writer.pong(payload));
				},
				onCloseFrame(code, reason) {
					if (reason === "close me") send(socket, writer.close(4000, "as you wish"));
					else send(socket, writer.close(code, code === undefined ? undefined : reason));
					socket.end();
				},
				onProtocolError(code, reason) {
					send(socket, writer.close(code, reason));
					socket.end();
				},
			};
			socket.on("data", (data: Buffer) => {
				if (reader) {
					reader.feed(toArrayBuffer(data));
					return;
				}
				if (!head.feed(toArrayBuffer(data))) return;
				const result = head.error ?? validateUpgradeRequest(head.head!, { path: "/ws" });
				if (!("ok" in result) || !result.ok) {
					send(socket, rejectionResponse(result as never));
					socket.end();
					return;
				}
				send(socket, acceptResponse(result.key));
				reader = new MessageReader(handler, { role: "server", streaming, maxMessage: 1 << 21 });
				if (head.rest) reader.feed(head.rest);
			});
			socket.on("error", () => {});
		});
		cleanups.push(() => server.close());
		server.listen(0, "127.0.0.1");
		await once(server, "listening");
		return (server.address() as AddressInfo).port;
	}

	for (const streaming of [false, true]) {
		it(`echoes ws messages (${streaming ? "streaming" : "whole"} mode) and closes cleanly`, async () => {
			const port = await startServer(streaming);
			const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { maxPayload: 1 << 21 });
			cleanups.push(() => ws.terminate());
			await once(ws, "open");
			const received: { data: Buffer; isBinary: boolean }[] = [];
			ws.on("message", (data, isBinary) => received.push({ data: data as Buffer, isBinary }));
			const pong = once(ws, "pong");
			const big = patterned(1 << 20);
			ws.send("hello from ws");
			ws.send(patterned(70000));
			ws.send(big);
			ws.send("", { binary: false });
			ws.send("frag", { fin: false });
			ws.send("ment", { fin: true });
			ws.ping("are you there");
			expect(String((await pong)[0])).toBe("are you there");
			while (received.length < 5) await once(ws, "message");
			expect(received[0]).toEqual({ data: Buffer.from("hello from ws"), isBinary: false });
			expect(received[1].isBinary).toBe(true);
			expect(received[1].data.equals(patterned(70000))).toBe(true);
			expect(received[2].data.equals(big)).toBe(true);
			expect(received[3]).toEqual({ data: Buffer.alloc(0), isBinary: false });
			expect(received[4]).toEqual({ data: Buffer.from("fragment"), isBinary: false });
			const closed = once(ws, "close");
			ws.close(1000, "close me");
			const [code, reason] = await closed;
			expect(code).toBe(4000);
			expect(String(reason)).toBe("as you wish");
		});
	}

	it("ws sees our 1007 close for invalid UTF-8 and our 426/404 refusals", async () => {
		const port = await startServer(true);
		// Invalid UTF-8 in a text frame, sent raw by a net socket speaking as a client.
		const raw = net.connect(port, "127.0.0.1");
		cleanups.push(() => raw.destroy());
		await once(raw, "connect");
		const key = generateKey();
		send(raw, upgradeRequest({ host: "x", path: "/ws", key }));
		const chunks: Buffer[] = [];
		raw.on("data", (d: Buffer) => chunks.push(d));
		const w = new FrameWriter({ role: "client" });
		send(raw, w.frame(Opcode.TEXT, Uint8Array.of(0x41, 0xed, 0xa0, 0x80)));
		await once(raw, "end");
		const all = Buffer.concat(chunks);
		const headEnd = all.indexOf("\r\n\r\n") + 4;
		const inbox = new Inbox();
		new MessageReader(inbox, { role: "client" }).feed(toArrayBuffer(all.subarray(headEnd)));
		expect(inbox.closes.map(c => c.code)).toEqual([1007]);

		const refused = async (path: string, protocolVersion: number) => {
			const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { protocolVersion });
			cleanups.push(() => ws.terminate());
			const [, response] = await once(ws, "unexpected-response");
			ws.on("error", () => {});
			return { status: response.statusCode, version: response.headers["sec-websocket-version"] };
		};
		expect(await refused("/ws", 8)).toEqual({ status: 426, version: "13" });
		expect(await refused("/other", 13)).toEqual({ status: 404, version: undefined });
	});
});
