/*
 * Peers for the WebSocket server/client tests: a raw TCP WebSocket client
 * that sends crafted bytes and decodes what comes back (with the core's
 * MessageReader, which has its own tests), a raw HTTP-ish server for
 * handshake failures, log capture and small waiting helpers.
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { generateKey, upgradeRequest } from "websocket/handshake";
import { type MessageHandler, MessageReader } from "websocket/message-reader";
import { setTraceSink } from "../../../host-harness/node-host/xs-globals.js";

export const toArrayBuffer = (b: Uint8Array): ArrayBuffer => {
	const out = new ArrayBuffer(b.length);
	new Uint8Array(out).set(b);
	return out;
};

export function patterned(length: number, seed = 3): Buffer {
	const out = Buffer.alloc(length);
	for (let i = 0; i < length; i++) out[i] = (i * 7 + seed) & 0xff;
	return out;
}

/** Printable ASCII text of a given length. */
export function textOf(length: number): string {
	let out = "";
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
	while (out.length < length) out += alphabet;
	return out.slice(0, length);
}

export const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** Poll until test() holds; throws after `timeout` ms with `what`. */
export async function until(test: () => boolean, what = "condition", timeout = 3000): Promise<void> {
	const end = Date.now() + timeout;
	while (!test()) {
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
		await sleep(5);
	}
}

/** Capture device log lines (trace output) while a test runs. */
export function captureLogs(): { lines: string[]; stop(): void } {
	const lines: string[] = [];
	let partial = "";
	setTraceSink(text => {
		partial += text;
		let at: number;
		while ((at = partial.indexOf("\n")) >= 0) {
			lines.push(partial.slice(0, at));
			partial = partial.slice(at + 1);
		}
	});
	return { lines, stop: () => setTraceSink(() => {}) };
}

/** A WebSocket client over a plain socket: the test writes raw bytes, reads decoded frames. */
export class RawClient implements MessageHandler {
	readonly socket: net.Socket;
	/** Everything received, head included. */
	received = Buffer.alloc(0);
	head: string | undefined;
	status: number | undefined;
	messages: { type: number; data: Buffer }[] = [];
	pings: string[] = [];
	pongs: string[] = [];
	closes: { code: number | undefined; reason: string }[] = [];
	errors: number[] = [];
	ended = false;
	readonly closed: Promise<void>;
	#reader = new MessageReader(this, { role: "client", maxMessage: 1 << 22 });

	private constructor(socket: net.Socket) {
		this.socket = socket;
		socket.on("error", () => {});
		this.closed = new Promise(resolve =>
			socket.on("close", () => {
				this.ended = true;
				resolve();
			}),
		);
		socket.on("data", (data: Buffer) => {
			this.received = Buffer.concat([this.received, data]);
			if (this.head === undefined) {
				const end = this.received.indexOf("\r\n\r\n");
				if (end < 0) return;
				this.head = this.received.subarray(0, end).toString("latin1");
				this.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(this.head)?.[1]);
				const rest = this.received.subarray(end + 4);
				if (this.status === 101 && rest.length) this.#reader.feed(toArrayBuffer(rest));
				return;
			}
			if (this.status === 101) this.#reader.feed(toArrayBuffer(data));
		});
	}

	static async connect(port: number): Promise<RawClient> {
		const socket = net.connect(port, "127.0.0.1");
		await once(socket, "connect");
		return new RawClient(socket);
	}

	/** Connect and send an upgrade request (path, extra headers); resolves on the response head. */
	static async open(port: number, path = "/ws", headers: [string, string][] = []): Promise<RawClient> {
		const client = await RawClient.connect(port);
		client.write(upgradeRequest({ host: `127.0.0.1:${port}`, path, key: generateKey(), headers }));
		await until(() => client.head !== undefined || client.ended, "response head");
		return client;
	}

	write(data: Uint8Array | ArrayBuffer | string): void {
		this.socket.write(typeof data === "string" ? data : Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data));
	}

	/** Body of an HTTP response (after the head). */
	get body(): string {
		const end = this.received.indexOf("\r\n\r\n");
		return end < 0 ? "" : this.received.subarray(end + 4).toString();
	}

	destroy(): void {
		this.socket.destroy();
	}

	onMessage(type: number, data: ArrayBuffer) {
		this.messages.push({ type, data: Buffer.from(data) });
	}
	onPing(payload: ArrayBuffer) {
		this.pings.push(Buffer.from(payload).toString());
	}
	onPong(payload: ArrayBuffer) {
		this.pongs.push(Buffer.from(payload).toString());
	}
	onCloseFrame(code: number | undefined, reason: string) {
		this.closes.push({ code, reason });
	}
	onProtocolError(code: number) {
		this.errors.push(code);
	}
}

/** A TCP server answering each connection with `respond` (raw bytes), for client handshake tests. */
export async function rawServer(respond: (socket: net.Socket, request: string) => void): Promise<{ port: number; server: net.Server }> {
	const server = net.createServer(socket => {
		socket.on("error", () => {});
		let text = "";
		socket.on("data", (data: Buffer) => {
			if (text.includes("\r\n\r\n")) return;
			text += data.toString("latin1");
			if (text.includes("\r\n\r\n")) respond(socket, text);
		});
	});
	server.listen(0, "127.0.0.1");
	await once(server, "listening");
	return { port: (server.address() as AddressInfo).port, server };
}
