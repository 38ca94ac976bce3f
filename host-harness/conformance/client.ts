/*
 * A raw WebSocket client over node:net for the conformance suite: it writes
 * exactly the bytes a case crafts (split into chosen chunks, with chosen
 * delays), and records everything the server does: its HTTP answer, its
 * frames as events (FrameReader + MessageAssembler), any rule it broke, and
 * when it closed TCP.
 *
 * Like any client (and like Autobahn's), it answers the server's Pings with
 * Pongs and the server's Close with a Close echoing the code (5.5.1), stops
 * sending once the server's Close arrived, and leaves closing TCP to the
 * server (7.1.1). A Pong goes out between two of the case's frames, never
 * inside one it is writing in pieces (a server's heartbeat Ping may come at
 * any time).
 */
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import type * as tlsTypes from "node:tls";
import { connect as tlsConnect } from "node:tls";
import { closeBody, FrameReader, FrameViolation, frame, Op, OutgoingFrames } from "./frames.js";
import { type HttpHead, parseHttpHead } from "./http-head.js";
import { MessageAssembler, type ServerEvent } from "./messages.js";
import { caseWireLogs, WireLog } from "./wire-log.js";

/** Appended to Sec-WebSocket-Key before hashing (1.3). */
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export const acceptFor = (key: string): string =>
	createHash("sha1")
		.update(key + GUID)
		.digest("base64");
export const newKey = (): string => randomBytes(16).toString("base64");
export const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));
const nextTurn = () => new Promise<void>(resolve => setImmediate(resolve));

export type { HttpHead } from "./http-head.js";

/** The standard opening handshake request (4.1), with extra header lines. */
export function upgradeRequest(url: URL, key: string, extra: string[] = [], path = url.pathname + url.search): string {
	return [
		`GET ${path || "/"} HTTP/1.1`,
		`Host: ${url.host}`,
		"Upgrade: websocket",
		"Connection: Upgrade",
		`Sec-WebSocket-Key: ${key}`,
		"Sec-WebSocket-Version: 13",
		...extra,
		"",
		"",
	].join("\r\n");
}

/** Why a 101 answer does not complete the handshake (4.1 client rules), or undefined. */
export function checkUpgrade(head: Pick<HttpHead, "status" | "headers">, key: string, offered: string[] = []): string | undefined {
	if (head.status !== 101) return `HTTP ${head.status}`;
	const token = (name: string, value: string) =>
		(head.headers.get(name) ?? "")
			.toLowerCase()
			.split(",")
			.some(t => t.trim() === value);
	if (!token("upgrade", "websocket")) return "101 without Upgrade: websocket";
	if (!token("connection", "upgrade")) return "101 without Connection: Upgrade";
	if (head.headers.get("sec-websocket-accept") !== acceptFor(key)) return "101 with a wrong Sec-WebSocket-Accept";
	if (head.headers.has("sec-websocket-extensions")) return "101 selects an extension that was not offered";
	const protocol = head.headers.get("sec-websocket-protocol");
	if (protocol !== undefined && !offered.includes(protocol)) return `101 selects subprotocol "${protocol}", not offered`;
	return undefined;
}

export interface WriteOptions {
	/** Write in pieces of this many bytes (default: all at once). */
	chunk?: number;
	/** Wait this long between pieces (default: one event-loop turn). */
	delayMs?: number;
}

/** wss://: the CA (PEM) the server's certificate must chain to. */
export interface TlsTrust {
	ca: string | Buffer;
}

/**
 * A connected socket (its error listener removed: the owner adds its own), or the connect's error or timeout.
 * With `tls`, a TLS connection once its handshake is done (TLS 1.2 and 1.3 offered, the server's certificate checked).
 */
export function connectSocket(options: net.NetConnectOpts & { host: string; port: number }, timeoutMs: number, tls?: TlsTrust): Promise<net.Socket> {
	return new Promise((resolve, reject) => {
		const socket = tls ? tlsConnect({ ...(options as tlsTypes.ConnectionOptions), ca: tls.ca }) : net.connect(options);
		const timer = setTimeout(() => {
			socket.destroy();
			reject(new Error(`TCP connect to ${options.host}:${options.port} timed out after ${timeoutMs} ms`));
		}, timeoutMs);
		socket.once(tls ? "secureConnect" : "connect", () => {
			clearTimeout(timer);
			socket.removeAllListeners("error");
			resolve(socket);
		});
		socket.once("error", e => {
			clearTimeout(timer);
			reject(e);
		});
	});
}

/** Promises on a raw socket's state: each is tested again whenever the owner notifies (data arrived) or, if asked, on drain. */
export class SocketWaiters {
	readonly #socket: net.Socket;
	readonly #waiting = new Set<() => void>();

	constructor(socket: net.Socket) {
		this.#socket = socket;
	}

	/** Resolve true once test() holds, false after timeoutMs. */
	waitFor(test: () => boolean, timeoutMs: number, onDrain = false): Promise<boolean> {
		if (test()) return Promise.resolve(true);
		return new Promise(resolve => {
			const check = () => {
				if (test()) finish(true);
			};
			const finish = (result: boolean) => {
				clearTimeout(timer);
				this.#waiting.delete(check);
				this.#socket.off("drain", check);
				resolve(result);
			};
			const timer = setTimeout(() => finish(test()), timeoutMs);
			this.#waiting.add(check);
			if (onDrain) this.#socket.on("drain", check);
		});
	}

	notify(): void {
		for (const waiter of [...this.#waiting]) waiter();
	}
}

export class RawConnection {
	readonly socket: net.Socket;
	head: HttpHead | undefined;
	/** The server's frames as events, in order. */
	readonly events: ServerEvent[] = [];
	/** The first rule the server broke, if any. */
	violation: string | undefined;
	/** The server's Close, once received. */
	serverClose: { code: number | undefined; reason: Buffer; at: number } | undefined;
	closeSent = false;
	tcpClosed = false;
	tcpClosedAt = 0;
	reset = false;
	readonly reader = new FrameReader();
	readonly assembler = new MessageAssembler();
	/** What crossed the wire, for the report (wire-log.ts). */
	readonly wire = new WireLog();
	/** Each frame the server sends, as it arrives (host-harness ws shows them). */
	onFrame?: (frame: { fin: boolean; opcode: number; payload: Buffer }) => void;
	#headBytes: Buffer = Buffer.alloc(0);
	#body = false;
	#waiters: SocketWaiters;
	/** The frames written since the 101 (bytes written before it are the handshake's). */
	#outgoing: OutgoingFrames | undefined;
	/** Pongs owed while a frame of ours is half written. */
	#owed: Buffer[] = [];

	private constructor(socket: net.Socket) {
		this.socket = socket;
		caseWireLogs.getStore()?.push(this.wire);
		this.#waiters = new SocketWaiters(socket);
		socket.setNoDelay(true);
		socket.on("data", chunk => this.#received(chunk));
		socket.on("error", e => {
			if ((e as NodeJS.ErrnoException).code === "ECONNRESET") this.reset = true;
		});
		const closed = () => {
			if (!this.tcpClosed) {
				this.wire.add("·", this.reset ? "TCP reset by the server" : "TCP closed by the server");
				this.tcpClosed = true;
				this.tcpClosedAt = Date.now();
				this.#notify();
			}
		};
		socket.on("end", closed);
		socket.on("close", closed);
	}

	/** A TCP connection to the URL's host and port; for wss://, a TLS connection trusting `tls.ca`. */
	static async connect(url: URL, timeoutMs: number, tls?: TlsTrust): Promise<RawConnection> {
		const secure = url.protocol === "wss:";
		if (secure && !tls) throw new Error(`${url.href}: wss:// needs the CA to trust (tls.ca)`);
		return new RawConnection(
			await connectSocket({ host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || (secure ? 443 : 80)) }, timeoutMs, secure ? tls : undefined),
		);
	}

	/** Connect and complete the standard handshake; throws with the reason it failed. */
	static async open(url: URL, timeoutMs: number, tls?: TlsTrust): Promise<RawConnection> {
		const connection = await RawConnection.connect(url, timeoutMs, tls);
		const key = newKey();
		await connection.write(Buffer.from(upgradeRequest(url, key)));
		const head = await connection.readHead(timeoutMs);
		const problem = head
			? checkUpgrade(head, key)
			: connection.tcpClosed
				? `closed without an HTTP answer${connection.reset ? " (reset)" : ""}`
				: `no HTTP answer within ${timeoutMs} ms`;
		if (problem) {
			connection.destroy();
			throw new Error(`handshake failed: ${problem}`);
		}
		return connection;
	}

	/** Wait for the server's HTTP head (undefined: none within the time, or TCP closed first). */
	async readHead(timeoutMs: number): Promise<HttpHead | undefined> {
		await this.waitFor(() => this.head !== undefined || this.tcpClosed || !!this.violation, timeoutMs);
		return this.head;
	}

	/** Bytes as given, in chunks; false when it stopped early because the server closed. */
	async write(data: Uint8Array, options: WriteOptions = {}): Promise<boolean> {
		this.wire.sent(data, options);
		const size = Math.max(1, options.chunk ?? data.length);
		for (let at = 0; at < data.length; at += size) {
			if (at > 0) {
				if (options.delayMs) await sleep(options.delayMs);
				else await nextTurn();
			}
			if (this.serverClose || this.tcpClosed || this.socket.destroyed) return false;
			const piece = data.subarray(at, at + size);
			this.#outgoing?.push(piece);
			const flushed = this.socket.write(piece);
			this.#payOwed();
			if (!flushed) await this.waitFor(() => this.socket.writableLength === 0 || this.tcpClosed || this.socket.destroyed, 30_000, "drain");
		}
		return true;
	}

	/** Send our Close (once). */
	sendClose(code?: number, reason = ""): void {
		if (this.closeSent || this.tcpClosed) return;
		this.closeSent = true;
		const close = frame(Op.CLOSE, closeBody(code, reason));
		this.wire.sent(close);
		this.#outgoing?.push(close);
		this.socket.write(close);
	}

	/** A whole control frame of ours: now when between frames, else once the frame being written is complete. */
	#sendControl(bytes: Buffer): void {
		if (this.#outgoing && !this.#outgoing.between) {
			this.#owed.push(bytes);
			return;
		}
		this.wire.sent(bytes);
		this.#outgoing?.push(bytes);
		this.socket.write(bytes);
	}

	#payOwed(): void {
		while (this.#owed.length && this.#outgoing!.between && !this.closeSent && !this.tcpClosed) this.#sendControl(this.#owed.shift()!);
	}

	/** Resolve true once test() holds, false after timeoutMs. */
	waitFor(test: () => boolean, timeoutMs: number, event: "data" | "drain" = "data"): Promise<boolean> {
		return this.#waiters.waitFor(test, timeoutMs, event === "drain");
	}

	destroy(): void {
		this.socket.destroy();
	}

	/* ------------------------------------------------------------------ input */

	#received(chunk: Buffer): void {
		if (this.head === undefined) chunk = this.#readHeadBytes(chunk);
		if (this.#body || !chunk.length || this.violation) return this.#notify();
		try {
			for (const f of this.reader.push(chunk)) {
				this.wire.received(f);
				this.onFrame?.(f);
				const event = this.assembler.accept(f);
				if (event) this.#event(event);
			}
		} catch (e) {
			if (!(e instanceof FrameViolation)) throw e;
			this.violation = e.message;
			this.wire.add("·", `the server broke a rule: ${e.message}`);
		}
		this.#notify();
	}

	/** Collect the HTTP head; return what follows it (frames after a 101). */
	#readHeadBytes(chunk: Buffer): Buffer {
		const all = (this.#headBytes = Buffer.concat([this.#headBytes, chunk]));
		const end = all.indexOf("\r\n\r\n");
		if (end < 0) {
			if (all.length > 16384) this.violation = "HTTP head over 16 KiB";
			return Buffer.alloc(0);
		}
		const head = (this.head = parseHttpHead(all.subarray(0, end).toString("latin1")));
		this.wire.add("←", `${head.statusLine}${head.headers.size ? ` (${head.headers.size} headers)` : ""}`);
		this.#body = this.head.status !== 101;
		if (!this.#body) this.#outgoing = new OutgoingFrames();
		this.#headBytes = Buffer.alloc(0);
		return all.subarray(end + 4);
	}

	#event(event: ServerEvent): void {
		this.events.push(event);
		if (event.kind === "ping" && !this.closeSent && !this.serverClose) {
			this.#sendControl(frame(Op.PONG, event.payload));
		} else if (event.kind === "close") {
			this.serverClose = { code: event.code, reason: event.reason, at: Date.now() };
			// Answer the server's Close, echoing its code (5.5.1); the server then closes TCP (7.1.1).
			this.sendClose(event.code);
		}
	}

	#notify(): void {
		this.#waiters.notify();
	}
}
