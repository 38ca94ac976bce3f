/*
 * A hostile WebSocket server for the device's WebSocket client: a raw
 * node:net server that gives each connection one behaviour, taken in order
 * from a list the test chooses (connection n gets behaviours[n]); once the
 * list is used up, every connection gets the well-behaved `ws` echo peer
 * (as host-harness/peers/ws-peer.ts), so a test can show that the client
 * recovers and completes a session on the same port.
 *
 * Each behaviour breaks one rule of RFC 6455 (or of HTTP, for the opening
 * handshake), named on its definition below. The server reads the
 * client's upgrade request, answers per the behaviour and then parses the
 * client's frames (which must all be masked, 5.1, 5.3), so a test can judge
 * the Close frame the client sends back: its code, whether it came at all.
 */

import { createHash, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import * as http from "node:http";
import * as net from "node:net";
import { WebSocketServer } from "ws";
import { nthSession } from "./sessions.js";
import { WsPeerSession } from "./ws-peer.js";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export function acceptFor(key: string): string {
	return createHash("sha1")
		.update(key + GUID)
		.digest("base64");
}

/** What the server does once the client's upgrade request has arrived. */
export type HostileWsBehaviour =
	// ---- after a correct handshake (101, right Accept): one bad frame from the server
	/** 5.1: "A server MUST NOT mask any frames that it sends to the client" → the client fails with 1002. */
	| { kind: "maskedFrame"; withHandshake?: boolean }
	/** 5.6, 8.1: a text message must be valid UTF-8 (here a UTF-16 surrogate, ED A0 80) → 1007. */
	| { kind: "invalidUtf8"; withHandshake?: boolean }
	/** 7.4.1, 7.4.2: 1005 must never be sent, 999 is below the range, 1016 is not assigned → 1002. */
	| { kind: "badCloseCode"; code: number; withHandshake?: boolean }
	/** 5.5.1: a Close body is empty or starts with a 2-byte code; one byte is neither → 1002. */
	| { kind: "closeOneByte"; withHandshake?: boolean }
	/**
	 * 10.4: a message over the client's limit (1009), judged from the declared length: only the frame
	 * header (and `sent` payload bytes) go out, so a client that waits for the payload never answers.
	 */
	| { kind: "oversized"; length: number; sent?: number; withHandshake?: boolean }
	/** 5.4, 5.5: "Control frames themselves MUST NOT be fragmented" (a Ping with FIN clear) → 1002. */
	| { kind: "fragmentedControl"; withHandshake?: boolean }
	/** 5.2: RSV1-3 must be 0 unless an extension was negotiated (none is) → 1002. */
	| { kind: "reservedBits"; withHandshake?: boolean }
	/** 5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved → 1002. */
	| { kind: "unknownOpcode"; opcode: number; withHandshake?: boolean }
	// ---- a bad answer to the opening handshake (4.1: the client must fail the connection)
	/** 4.1 client step 4: Sec-WebSocket-Accept must be base64(SHA-1(key + GUID)); here it is for another key. */
	| { kind: "wrongAccept" }
	/** 4.1 client step 2: a 101 without "Upgrade: websocket". */
	| { kind: "missingUpgrade" }
	/** 4.1 client step 1: anything but 101 (200, 404, 503, …) ends the WebSocket attempt. */
	| { kind: "status"; status: number }
	/** Not HTTP at all (binary: a TLS record, as a TLS server would answer). */
	| { kind: "garbage" }
	/** Reads the request and closes the connection (FIN) without a word, as an overloaded proxy may. */
	| { kind: "hangUp" }
	/** Accepts TCP, reads the request, never answers: the client's network timeout must end the attempt. */
	| { kind: "silent" }
	// ---- well-behaved
	/** The `ws` echo peer (what every connection beyond the list gets). */
	| { kind: "echo" };

/** A frame the client sent, unmasked. */
export interface ClientFrame {
	fin: boolean;
	rsv: number;
	opcode: number;
	masked: boolean;
	payload: Buffer;
}

export interface ClientClose {
	/** undefined: the Close had no body. */
	code: number | undefined;
	reason: string;
}

/** One connection the device's client made to the hostile server. */
export class HostileWsConnection {
	readonly frames: ClientFrame[] = [];
	/** The upgrade request head as received (text), once complete. */
	request: string | undefined;
	/** The well-behaved session, for "echo". */
	session: WsPeerSession | undefined;
	/** The client's first Close frame. */
	readonly close: Promise<ClientClose>;
	/** The TCP connection ended (either side). */
	readonly ended: Promise<void>;
	/** Bytes the client sent after its Close frame (there must be none, 5.5.1). */
	bytesAfterClose = 0;
	/** Whether the client sent anything the frame parser could not read (or an unmasked frame). */
	malformed = false;
	readonly emitter = new EventEmitter<{ frame: [ClientFrame] }>();
	#resolveClose!: (close: ClientClose) => void;
	#sawClose = false;
	#input = Buffer.alloc(0);

	constructor(
		readonly index: number,
		readonly behaviour: HostileWsBehaviour,
		readonly socket: net.Socket,
	) {
		this.close = new Promise(resolve => (this.#resolveClose = resolve));
		this.close.catch(() => {});
		this.ended = new Promise(resolve => socket.once("close", () => resolve()));
	}

	/** Every frame the client sent was masked (5.1). */
	get allMasked(): boolean {
		return this.frames.every(f => f.masked) && !this.malformed;
	}

	/** Client frames after the handshake. */
	feed(chunk: Buffer): void {
		if (this.#sawClose) {
			this.bytesAfterClose += chunk.length;
			return;
		}
		this.#input = Buffer.concat([this.#input, chunk]);
		for (;;) {
			const frame = parseFrame(this.#input);
			if (!frame) return;
			if (frame === "malformed") {
				this.malformed = true;
				this.#input = Buffer.alloc(0);
				return;
			}
			this.#input = this.#input.subarray(frame.size);
			this.frames.push(frame.frame);
			this.emitter.emit("frame", frame.frame);
			if (frame.frame.opcode === 0x8) {
				this.#sawClose = true;
				const payload = frame.frame.payload;
				this.#resolveClose({
					code: payload.length >= 2 ? payload.readUInt16BE(0) : undefined,
					reason: payload.subarray(2).toString("utf8"),
				});
				this.bytesAfterClose += this.#input.length;
				this.#input = Buffer.alloc(0);
				// The client failed the connection; the server may close TCP now (7.1.1).
				this.socket.end();
				return;
			}
		}
	}

	/** The first frame with this opcode from the client, now or once it arrives. */
	frame(opcode: number, timeoutMs = 10_000): Promise<ClientFrame> {
		const found = this.frames.find(f => f.opcode === opcode);
		if (found) return Promise.resolve(found);
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.emitter.off("frame", onFrame);
				reject(new Error(`no frame with opcode ${opcode} from the client on connection #${this.index + 1} within ${timeoutMs} ms`));
			}, timeoutMs);
			const onFrame = (frame: ClientFrame) => {
				if (frame.opcode === opcode) {
					clearTimeout(timer);
					this.emitter.off("frame", onFrame);
					resolve(frame);
				}
			};
			this.emitter.on("frame", onFrame);
		});
	}
}

/** One frame from the start of `data`: undefined when incomplete. */
function parseFrame(data: Buffer): { frame: ClientFrame; size: number } | "malformed" | undefined {
	if (data.length < 2) return undefined;
	const fin = (data[0] & 0x80) !== 0;
	const rsv = (data[0] >> 4) & 0x7;
	const opcode = data[0] & 0x0f;
	const masked = (data[1] & 0x80) !== 0;
	let length = data[1] & 0x7f;
	let at = 2;
	if (length === 126) {
		if (data.length < 4) return undefined;
		length = data.readUInt16BE(2);
		at = 4;
	} else if (length === 127) {
		if (data.length < 10) return undefined;
		const big = data.readBigUInt64BE(2);
		if (big > BigInt(64 << 20)) return "malformed"; // nothing the device sends is this large
		length = Number(big);
		at = 10;
	}
	if (!masked) return "malformed";
	if (data.length < at + 4 + length) return undefined;
	const key = data.subarray(at, at + 4);
	const payload = Buffer.from(data.subarray(at + 4, at + 4 + length));
	for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
	return { frame: { fin, rsv, opcode, masked, payload }, size: at + 4 + length };
}

/** A server frame: FIN, RSV bits, opcode, optional mask, payload (or a declared length with fewer bytes sent). */
export function serverFrame(options: { fin?: boolean; rsv?: number; opcode: number; payload?: Uint8Array; mask?: boolean; declaredLength?: number }): Buffer {
	const payload = Buffer.from(options.payload ?? new Uint8Array(0));
	const length = options.declaredLength ?? payload.length;
	const head: number[] = [((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | options.opcode];
	const maskBit = options.mask ? 0x80 : 0;
	let lengthBytes: Buffer;
	if (length < 126) lengthBytes = Buffer.from([maskBit | length]);
	else if (length < 65536) {
		lengthBytes = Buffer.alloc(3);
		lengthBytes[0] = maskBit | 126;
		lengthBytes.writeUInt16BE(length, 1);
	} else {
		lengthBytes = Buffer.alloc(9);
		lengthBytes[0] = maskBit | 127;
		lengthBytes.writeBigUInt64BE(BigInt(length), 1);
	}
	let body = payload;
	let key = Buffer.alloc(0);
	if (options.mask) {
		key = randomBytes(4);
		body = Buffer.from(payload);
		for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
	}
	return Buffer.concat([Buffer.from(head), lengthBytes, key, body]);
}

/** The bytes of the one bad frame a protocol behaviour sends. */
function badFrame(behaviour: HostileWsBehaviour): Buffer {
	switch (behaviour.kind) {
		case "maskedFrame":
			return serverFrame({ opcode: 0x1, payload: Buffer.from("masked by the server"), mask: true });
		case "invalidUtf8":
			// "κόσμε" then ED A0 80 (U+D800, a surrogate: not UTF-8), then more text.
			return serverFrame({ opcode: 0x1, payload: Buffer.concat([Buffer.from("κόσμε", "utf8"), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from("edited")]) });
		case "badCloseCode": {
			const body = Buffer.alloc(2);
			body.writeUInt16BE(behaviour.code);
			return serverFrame({ opcode: 0x8, payload: Buffer.concat([body, Buffer.from("bad code")]) });
		}
		case "closeOneByte":
			return serverFrame({ opcode: 0x8, payload: Buffer.from([0x03]) });
		case "oversized": {
			const sent = Buffer.alloc(Math.min(behaviour.sent ?? 0, behaviour.length), 0x61);
			const frame = serverFrame({ opcode: 0x1, declaredLength: behaviour.length });
			return Buffer.concat([frame, sent]);
		}
		case "fragmentedControl":
			return serverFrame({ opcode: 0x9, fin: false, payload: Buffer.from("part") });
		case "reservedBits":
			return serverFrame({ opcode: 0x1, rsv: 0x4, payload: Buffer.from("rsv1 set") });
		case "unknownOpcode":
			return serverFrame({ opcode: behaviour.opcode, payload: Buffer.from("what is this") });
		default:
			throw new Error(`${behaviour.kind} sends no bad frame`);
	}
}

function accept(key: string): string {
	return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`;
}

const statusText: Record<number, string> = { 200: "OK", 301: "Moved Permanently", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable" };

export class HostileWsServer extends EventEmitter<{ session: [HostileWsConnection] }> {
	readonly connections: HostileWsConnection[] = [];
	/** Connections by index, once ready to judge (sparse while an "echo" upgrade is in progress). */
	#ready: HostileWsConnection[] = [];
	#server: net.Server;
	#behaviours: HostileWsBehaviour[];
	#http = http.createServer((_request, response) => response.writeHead(426).end());
	#wss = new WebSocketServer({ noServer: true });

	private constructor(server: net.Server, behaviours: HostileWsBehaviour[]) {
		super();
		this.#server = server;
		this.#behaviours = behaviours;
		this.#http.on("upgrade", (request: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
			const connection = this.connections.find(c => c.socket === socket);
			this.#wss.handleUpgrade(request, socket, head, ws => {
				const session = new WsPeerSession(ws, `${socket.remoteAddress?.replace(/^::ffff:/, "")}:${socket.remotePort}`);
				if (!connection) return;
				connection.session = session;
				this.#ready[connection.index] = connection;
				this.emit("session", connection);
			});
		});
		server.on("connection", socket => this.#accepted(socket));
	}

	/** Listen on host:port (0: any free port); connection n gets behaviours[n], then the well-behaved echo. */
	static start(behaviours: HostileWsBehaviour[], port = 0, host = "127.0.0.1"): Promise<HostileWsServer> {
		return new Promise((resolve, reject) => {
			const server = net.createServer({ allowHalfOpen: true });
			server.once("error", reject);
			server.listen({ port, host }, () => resolve(new HostileWsServer(server, behaviours)));
		});
	}

	get port(): number {
		return (this.#server.address() as net.AddressInfo).port;
	}

	/** Connection number `index` (0: the first) once it has arrived (for "echo", once its WebSocket is open). */
	connection(index: number, timeoutMs = 15_000): Promise<HostileWsConnection> {
		return nthSession(this, this.#ready, index, timeoutMs, () => `device WebSocket connection to the hostile server on port ${this.port}`);
	}

	#accepted(socket: net.Socket): void {
		const index = this.connections.length;
		const behaviour = this.#behaviours[index] ?? { kind: "echo" };
		const connection = new HostileWsConnection(index, behaviour, socket);
		this.connections.push(connection);
		socket.on("error", () => {});
		if (behaviour.kind === "echo") {
			this.#http.emit("connection", socket);
			return;
		}
		this.#ready[index] = connection;
		this.emit("session", connection);
		let head = Buffer.alloc(0);
		const onData = (chunk: Buffer) => {
			if (connection.request !== undefined) {
				connection.feed(chunk);
				return;
			}
			head = Buffer.concat([head, chunk]);
			const end = head.indexOf("\r\n\r\n");
			if (end < 0) return;
			connection.request = head.subarray(0, end).toString("latin1");
			const rest = head.subarray(end + 4);
			const key = /^sec-websocket-key:\s*(\S+)\s*$/im.exec(connection.request)?.[1] ?? "";
			this.#answer(connection, key);
			if (rest.length) connection.feed(rest);
		};
		socket.on("data", onData);
		// The client closing its end: close ours (the client fails, the server need not answer).
		socket.on("end", () => socket.end());
	}

	#answer(connection: HostileWsConnection, key: string): void {
		const socket = connection.socket;
		const behaviour = connection.behaviour;
		switch (behaviour.kind) {
			case "wrongAccept":
				socket.write(
					`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(randomBytes(16).toString("base64"))}\r\n\r\n`,
				);
				return;
			case "missingUpgrade":
				socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`);
				return;
			case "status": {
				const body = `${behaviour.status} from the hostile server\n`;
				socket.end(
					`HTTP/1.1 ${behaviour.status} ${statusText[behaviour.status] ?? "Whatever"}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
				);
				return;
			}
			case "garbage":
				// A TLS alert record (what a TLS server answers to plain text), then more noise; the server waits.
				socket.write(Buffer.concat([Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]), randomBytes(64)]));
				return;
			case "hangUp":
				socket.end();
				return;
			case "silent":
				return;
			case "echo":
				return;
			default: {
				const frame = badFrame(behaviour);
				if (behaviour.withHandshake)
					socket.write(Buffer.concat([Buffer.from(accept(key), "latin1"), frame])); // in one segment: the client finds it after the head
				else {
					socket.write(accept(key));
					// After the client's first message, mid-session.
					connection.frame(0x1, 10_000).then(
						() => {
							if (!socket.destroyed) socket.write(frame);
						},
						() => {},
					);
				}
			}
		}
	}

	/** Stop listening and drop every connection. */
	close(): Promise<void> {
		for (const connection of this.connections) connection.socket.destroy();
		for (const client of this.#wss.clients) client.terminate();
		return new Promise(resolve => this.#server.close(() => resolve()));
	}
}
