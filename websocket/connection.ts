/*
 * One WebSocket connection over an ECMA-419 TCP socket: what the server and
 * the client ends share.
 *
 * - Flow control: onReadable(bytes) is the total buffered, onWritable(bytes)
 *   the write budget; a write larger than the budget throws, so output goes
 *   through a queue written only as the budget allows. Queue entries are
 *   whole frames or pieces of frames queued together, so a control frame
 *   appended to the queue never lands inside another frame (RFC 6455 5.4).
 *   How much is read per turn is the subclass's call (readLimit), which is
 *   how the echo server stops reading while its queue is full.
 * - Closing (RFC 6455 7.1): close() sends a Close and waits for the peer's
 *   up to closeTimeout; the peer's Close is answered with its status code
 *   (1000 when it had none); fail() sends a Close with the reader's code and
 *   drops TCP once it is written (7.1.7). No frame follows a Close (5.5.1).
 *   The server closes TCP first once both Close frames crossed; the client
 *   waits for the server to do it (7.1.1), up to closeTimeout.
 * - Pings are answered with a Pong carrying the same payload; while a Pong is
 *   still queued, a newer Ping replaces it (5.5.3: only the latest needs one).
 * - Dead peers (see tcp/echo-stream.ts for the platforms' silences): a write
 *   that fails (returns no number, or throws) ends the connection at once;
 *   onError first writes what the budget takes; and a connection the
 *   platform owes a callback for quietLimit ms is probed by its owner's
 *   timer with check(): a zero-length write, refused once the connection is
 *   gone, that otherwise returns the budget the platform has now.
 * - Every platform callback catches: an exception escaping one aborts XS.
 */

import type TCP from "embedded:io/socket/tcp";
import { openSocket, type TlsOptions } from "modules/secure-socket";
import Timer from "timer";
import { Log, peerName } from "modules/log";
import { CloseCode, type Role } from "websocket/constants";
import { FrameWriter } from "websocket/frame-writer";
import { MessageReader, type MessageHandler, type MessageReaderOptions } from "websocket/message-reader";

/** A failed connection lingers after its Close is written while the peer still sends, this long at most (ms)… */
const lingerTime = 1000;
/** …and closes once the peer has been quiet this long (ms). */
const lingerQuiet = 100;

/** A connection the platform owes a callback this long is probed by check() (ms): the simulator polls every 20. */
export const quietLimit = 500;

const nothing = new ArrayBuffer(0);

/** A write failed: the connection is gone. */
class ConnectionGone extends Error {}

/** TCP connecting, or the HTTP handshake in progress. */
export const CONNECTING = 0;
/** Handshake done: messages flow. */
export const OPEN = 1;
/** A Close was sent (or the connection is being failed): no more frames from us. */
export const CLOSING = 2;
/** TCP closed; the object is spent. */
export const CLOSED = 3;

export type Chunk = ArrayBuffer | Uint8Array;

/** An accepted socket to adopt, or an address to connect to (dotted IPv4 on the simulator). */
export type SocketTarget = { from: TCP } | { address: string; port: number; tls?: TlsOptions };

export interface ConnectionOptions {
	role: Role;
	log: Log;
	/** How long to wait for the peer's Close, or for a failing connection's output to drain (ms). */
	closeTimeout: number;
}

export abstract class Connection implements MessageHandler {
	/** "address:port" of the peer, for logs. */
	readonly peer: string;
	state = CONNECTING;
	/** Whether we sent a Close frame. */
	closeSent = false;
	/** The peer's Close: its code (1005 when it carried none), undefined until received. */
	closeCode: number | undefined;
	closeReason = "";
	/** Largest number of bytes the write queue held (diagnostics). */
	maxQueued = 0;
	/** Time of the last byte moved either way (for a server's longest-idle purge). */
	lastActivity = Date.now();

	protected readonly log: Log;
	protected readonly writer: FrameWriter;
	protected reader: MessageReader | undefined;
	protected readonly closeTimeout: number;
	readonly #role: Role;
	#socket: TCP | undefined;
	#connected = false;
	#readable = 0;
	#writable = 0;
	/** Bytes written since the platform last reported a budget. */
	#unconfirmed = 0;
	/** Time of the last platform callback. */
	#lastCallback = Date.now();
	#queue: Chunk[] = [];
	#queued = 0;
	/** The Pong still waiting in the queue, if any. */
	#pong: ArrayBuffer | undefined;
	/** Set: once the queue is empty, linger (read and discard) before closing TCP, with this reason. */
	#lingerFor: string | undefined;
	#lingering = false;
	#lingerDeadline = 0;
	#lingerReason = "";
	#timer: Timer | undefined;

	constructor(target: SocketTarget, options: ConnectionOptions) {
		this.#role = options.role;
		this.log = options.log;
		this.closeTimeout = options.closeTimeout;
		this.writer = new FrameWriter({ role: options.role });
		if ("from" in target) {
			this.peer = peerName(target.from.remoteAddress, target.from.remotePort);
			this.#connected = true;
		}
		else
			this.peer = peerName(target.address, target.port);
		const connection = this;
		this.#socket = openSocket({
			...target,
			// A frame often goes out as two writes (header, then payload): with Nagle on,
			// the second waits for the peer's delayed ACK (~40 ms) on every small message.
			nodelay: true,
			onReadable(bytes: number) {
				connection.#lastCallback = Date.now();
				connection.#readable = bytes;
				connection.#pump();
			},
			onWritable(bytes: number) {
				connection.#lastCallback = Date.now();
				connection.#unconfirmed = 0;
				connection.#writable = bytes;
				if (!connection.#connected) {
					connection.#connected = true;
					connection.#guard("connect");
				}
				connection.#pump();
			},
			onError(error?: Error) {
				connection.#guard("peer gone", error);
			},
		});
	}

	/** Bytes waiting in the write queue. */
	get queued(): number {
		return this.#queued;
	}

	/** Whether the TCP connection was established (always for an accepted socket). */
	get connected(): boolean {
		return this.#connected;
	}

	/* ------------------------------------------------------------ subclass hooks */

	/** The socket connected (client: send the upgrade request). */
	protected onConnect(): void {}
	/** Bytes received before the handshake completed. */
	protected abstract handshake(chunk: ArrayBuffer): void;
	/** How many bytes to read now (0: leave them in the socket, TCP pushes back). */
	protected readLimit(): number {
		return Infinity;
	}
	/** Next frame to send when the queue is empty (the client's outgoing messages). */
	protected produce(): Chunk | undefined {
		return undefined;
	}
	/** The write queue is empty (called after writing, outside the write loop: may send). */
	protected drained(): void {}
	/** A Pong arrived. */
	protected pong(_payload: ArrayBuffer): void {}
	/** The peer broke the protocol; the connection is being failed with closeCode. */
	protected protocolError(_closeCode: number, _reason: string): void {}
	/** Why the peer's end went away (TCP FIN/reset/failed connect). */
	protected goneReason(): string {
		if (this.closeSent && this.closeCode !== undefined)
			return `closed ${this.closeCode}`;
		return this.closeSent ? "peer closed without answering our close" : "peer closed or reset";
	}
	/** TCP closed, once; reason as logged. */
	protected abstract ended(reason: string): void;

	/* ----------------------------------------------------------------- output */

	/** Queue a frame (or a piece of one, queued with the rest in the same turn) and write what the budget allows. */
	protected send(chunk: Chunk): void {
		if (this.state === CLOSED)
			return;
		this.#queue.push(chunk);
		const queued = this.#queued += chunk.byteLength;
		if (queued > this.maxQueued)
			this.maxQueued = queued;
		this.flush();
	}

	/** Write queued output, as much as the budget allows. Never throws. */
	protected flush(): void {
		try {
			this.#flush();
		}
		catch (e) {
			this.crash(e);
		}
	}

	/**
	 * Called by the owner's timer: a connection the platform owes a callback
	 * (output queued with no budget, input it has not read, or writes not
	 * yet answered with a budget) for quietLimit ms is asked whether it still
	 * exists, and moves what the budget it learns allows. Never throws.
	 */
	check(now: number): void {
		if (this.state === CLOSED || !this.#connected || now - this.#lastCallback < quietLimit)
			return;
		if (!(this.#queued > 0 || this.#readable > 0 || this.#unconfirmed > 0))
			return;
		this.#lastCallback = now;		// once per quietLimit
		try {
			this.#learnBudget();
			this.#pump();
		}
		catch (e) {
			this.crash(e);
		}
	}

	/** A zero-length write: the budget the platform has now, or ConnectionGone. */
	#learnBudget(): void {
		const socket = this.#socket;
		if (!socket)
			return;
		let left: unknown;
		try {
			left = socket.write(nothing);
		}
		catch (e) {
			throw new ConnectionGone(`write refused: ${(e as Error).message}`);
		}
		if (typeof left !== "number")
			throw new ConnectionGone("write failed");
		this.#writable = left;
	}

	#flush(): void {
		const socket = this.#socket;
		if (!socket || !this.#connected)
			return;
		const queue = this.#queue;
		let writable = this.#writable;
		while (writable > 0) {
			let head: Chunk | undefined = queue[0];
			if (!head) {
				if (this.closeSent)
					break;
				head = this.produce();
				if (!head)
					break;
				queue.push(head);
				const queued = this.#queued += head.byteLength;
				if (queued > this.maxQueued)
					this.maxQueued = queued;
			}
			if (head === this.#pong)
				this.#pong = undefined;		// being written: a newer Ping gets its own Pong
			const length = head.byteLength;
			let count = length;
			if (!length)
				queue.shift();
			else if (length <= writable) {
				queue.shift();
				writable = this.#write(socket, head, writable, length);
			}
			else {
				count = writable;
				const view = head instanceof ArrayBuffer ? new Uint8Array(head) : head;
				queue[0] = view.subarray(count);
				writable = this.#write(socket, view.subarray(0, count), writable, count);
			}
			this.#queued -= count;
		}
		if (writable !== this.#writable)
			this.lastActivity = Date.now();		// once per flush, not per write
		this.#writable = writable;
		if (!queue.length) {
			if (this.#lingerFor !== undefined) {
				const reason = this.#lingerFor;
				this.#lingerFor = undefined;
				this.#lingering = true;
				this.#lingerReason = reason;
				this.#lingerDeadline = Date.now() + Math.min(this.closeTimeout, lingerTime);
				this.arm(lingerQuiet, reason);
			}
			else if (this.state === OPEN)
				this.drained();
		}
	}

	#write(socket: TCP, chunk: Chunk, writable: number, count: number): number {
		// esp32 and the simulator return the budget left, and nothing once the
		// connection has failed (which the simulator never reports otherwise).
		let left: unknown;
		try {
			left = socket.write(chunk);
		}
		catch (e) {
			if (count > writable || /would block/.test((e as Error).message))
				throw e;		// a budget mistake: ours, not the peer's
			throw new ConnectionGone(`write refused: ${(e as Error).message}`);
		}
		if (typeof left !== "number")
			throw new ConnectionGone("write failed");
		this.#unconfirmed += count;
		return Math.min(left, writable - count);
	}

	/* ------------------------------------------------------------------ input */

	#pump(): void {
		try {
			this.#flush();
			if (this.#readable > 0)
				this.lastActivity = Date.now();		// once per turn of input, not per read
			const socket = this.#socket;
			while (socket && this.state !== CLOSED && this.#readable > 0) {
				const count = Math.min(this.#readable, this.readLimit());
				if (!(count > 0))
					break;		// TCP flow control pushes back until the queue drains
				const chunk = socket.read(count) as ArrayBuffer | undefined;
				this.#readable -= count;
				if (!chunk)
					break;
				if (this.reader) {
					if (!this.reader.stopped)
						this.reader.feed(chunk);
				}
				else if (this.state === CONNECTING)
					this.handshake(chunk);
				// else: refused or failing: input is discarded
				if (this.#lingering)		// still sending: linger on, up to the deadline
					this.arm(Math.max(1, Math.min(lingerQuiet, this.#lingerDeadline - Date.now())), this.#lingerReason);
			}
		}
		catch (e) {
			this.crash(e);
		}
	}

	/** cause: what the TLS socket says failed (modules/secure-socket); plain TCP says nothing. */
	#guard(what: "connect" | "peer gone", cause?: Error): void {
		try {
			if (this.state === CLOSED)
				return;
			if (what === "connect")
				this.onConnect();
			else {
				// After onError the platform calls nothing else: write what the budget
				// takes now (a half-closed peer still reads), then close.
				try {
					this.#learnBudget();
					this.#flush();
				}
				catch {
					// gone for writing too (a reset; lwip after a FIN)
				}
				if (cause)
					this.log.error(cause.message);
				if (this.state !== CLOSED)
					this.destroy(this.#lingering ? this.#lingerReason : cause ? cause.message : this.goneReason());
			}
		}
		catch (e) {
			this.crash(e);
		}
	}

	/** The handshake is done: messages flow through a MessageReader calling this object. */
	protected open(options: MessageReaderOptions): void {
		this.disarm();
		this.state = OPEN;
		this.reader = new MessageReader(this, options);
	}

	/* ---------------------------------------------------------------- closing */

	/** Start the closing handshake (7.1.2): send Close, wait up to closeTimeout for the peer's. */
	close(code: number, reason = ""): void {
		if (this.state === CONNECTING)
			this.destroy("closed before the handshake completed");
		else if (this.state === OPEN) {
			this.#sendClose(code, reason);
			this.arm(this.closeTimeout, "close timeout");
		}
	}

	/** Fail the connection (7.1.7): send Close with code and reason, close TCP once it is written. */
	fail(code: number, reason: string): void {
		if (this.state === CLOSED)
			return;
		this.reader?.stop();
		if (this.state === OPEN && !this.closeSent)
			this.#sendClose(code, reason);
		this.state = CLOSING;
		this.arm(this.closeTimeout, "close timeout");
		// Once the Close is out, linger: keep reading and discarding until the peer closes,
		// for a moment at most. Closing a socket with unread bytes resets it, and a reset
		// can destroy our Close in the peer's buffers before it reads the close code.
		this.#lingerFor = reason;
		this.flush();
	}

	/** Give up on a peer that stopped answering: a Close if the budget takes it now, then TCP closes at once. */
	abandon(code: number, reason: string): void {
		if (this.state === CLOSED)
			return;
		if (this.state === OPEN && !this.closeSent)
			this.#sendClose(code, reason);
		this.destroy(reason);
	}

	#sendClose(code: number, reason: string): void {
		this.closeSent = true;
		this.state = CLOSING;
		this.log.info(`Sent close ${code} "${reason}" to ${this.peer}`);
		this.send(this.writer.close(code, reason));
	}

	/** Close TCP now (once); logs `Connection closed: peer (reason)`. */
	destroy(reason: string): void {
		if (this.state === CLOSED)
			return;
		this.state = CLOSED;
		this.disarm();
		this.reader?.stop();
		this.#queue = [];
		this.#queued = 0;
		this.#pong = undefined;
		const socket = this.#socket;
		this.#socket = undefined;
		if (socket) {
			try {
				if (this.#readable)
					socket.read();		// unread input would make the close a reset
				this.#readable = 0;
			}
			catch {
				// closing anyway
			}
			try {
				socket.close();
			}
			catch {
				// already closed by the platform
			}
		}
		this.log.info(`Connection closed: ${this.peer} (${reason})`);
		try {
			this.ended(reason);
		}
		catch (e) {
			this.log.error(`after closing ${this.peer}: ${(e as Error).message}`);
		}
	}

	/** An unexpected exception, or a failed write: log it and drop the connection (never the app). */
	protected crash(e: unknown): void {
		if (e instanceof ConnectionGone) {
			this.destroy(this.#lingering ? this.#lingerReason : `peer gone (${e.message})`);
			return;
		}
		this.log.error(`Error on ${this.peer}: ${(e as Error)?.message ?? e}`);
		try {
			this.destroy("internal error");
		}
		catch {
			// nothing more to do
		}
	}

	/* ----------------------------------------------------------------- timers */

	/** One deadline per connection (handshake, close); timeout() when it passes. */
	protected arm(milliseconds: number, reason: string): void {
		this.disarm();
		if (!(milliseconds > 0))
			return;
		this.#timer = Timer.set(() => {
			this.#timer = undefined;
			try {
				this.timeout(reason);
			}
			catch (e) {
				this.crash(e);
			}
		}, milliseconds);
	}

	protected disarm(): void {
		if (this.#timer) {
			Timer.clear(this.#timer);
			this.#timer = undefined;
		}
	}

	protected timeout(reason: string): void {
		if (this.#lingering) {
			this.destroy(reason);
			return;
		}
		this.log.warn(`${reason[0].toUpperCase()}${reason.slice(1)}, dropping ${this.peer}`);
		this.destroy(reason);
	}

	/* ------------------------------------------- MessageReader events (control) */

	/** @internal Ping: answer with a Pong carrying the same payload (5.5.2). */
	onPing(payload: ArrayBuffer): void {
		if (this.state !== OPEN)
			return;
		const frame = this.writer.pong(payload);
		const pending = this.#pong ? this.#queue.indexOf(this.#pong) : -1;
		this.#pong = frame;
		if (pending >= 0) {
			this.#queued += frame.byteLength - this.#queue[pending].byteLength;
			this.#queue[pending] = frame;
		}
		else
			this.send(frame);
	}

	/** @internal */
	onPong(payload: ArrayBuffer): void {
		this.pong(payload);
	}

	/** @internal The peer's Close (5.5.1): answer it with its code, then close TCP (7.1.1). */
	onClose(code: number | undefined, reason: string): void {
		this.closeCode = code ?? CloseCode.NO_STATUS;
		this.closeReason = reason;
		this.log.info(`Received close ${this.closeCode} "${reason}" from ${this.peer}`);
		if (!this.closeSent)
			this.#sendClose(code ?? CloseCode.NORMAL, "");
		if (this.#role === "server") {
			// Close TCP once our Close is out (7.1.1), lingering as fail() does: bytes
			// the peer sent after its Close, still unread (in the kernel, beyond what
			// the platform buffers), would turn the close into a reset, and a reset
			// can destroy our last frames in the peer's buffers before it reads them.
			this.#lingerFor = `closed ${this.closeCode}`;
			this.flush();
		}
		else
			this.arm(this.closeTimeout, "close timeout");		// the server closes TCP first
	}

	/** @internal A protocol violation: fail the connection with the reader's close code. */
	onError(closeCode: number, reason: string): void {
		this.log.warn(`Protocol error from ${this.peer}: ${reason} (close ${closeCode})`);
		this.protocolError(closeCode, reason);
		if (this.closeSent)
			this.destroy(`protocol error: ${reason}`);
		else
			this.fail(closeCode, reason);
	}
}
