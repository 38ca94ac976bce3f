/*
 * One WebSocket connection over an ECMA-419 TCP socket, for either end: the
 * single owner of the socket, the write queue and the closing states. It
 * reports to two delegates, never to subclasses:
 *
 * - its owner (the server in websocket/server, the client's
 *   attempt in websocket/client), which reads the HTTP handshake while
 *   CONNECTING and then calls open() or refuse(), and learns of the end
 *   (closed, with a cause: tcp/close-cause);
 * - a WebSocketHandler once OPEN: the application (an echo, a broadcast, a
 *   client's owner). Every event carries the connection, so one handler
 *   object serves every connection, with no closure per connection.
 *
 * Receiving: messages stream (onMessageStart, onMessageData pieces,
 * onMessageEnd) or arrive whole up to maxMessage (1009 beyond, judged from
 * the declared lengths, 10.4). Backpressure: pause() stops reading, so the
 * socket's buffer fills and TCP pushes back on the peer; resume() reads
 * again. At most readSize bytes are read per read.
 *
 * Sending: whole messages (sendText, sendBinary) or pieces of one
 * (sendPiece), queued up to maxQueue bytes (a send that does not fit is
 * refused with false; one of any size fits an empty queue) and framed only
 * when the write budget frees up, at most sendBuffer payload bytes a frame
 * (a longer message is fragmented, 5.4). onDrain follows whenever the queue
 * empties. A whole message sent while a streamed one is unfinished waits
 * for its last piece: data frames of two messages never interleave (5.4).
 * Control frames go ahead of data not yet framed, never inside a frame.
 * Pings are answered with a Pong of the same payload; a newer Ping replaces
 * a Pong still queued (5.5.3).
 *
 * Closing (7.1), as explicit states of CLOSING:
 * - AWAIT_CLOSE: our Close is sent; the peer's is awaited up to closeTimeout.
 * - DRAIN: failing (7.1.7), refused, or both Close frames crossed on the
 *   server: what is queued is written, then
 * - LINGER: input is read and discarded until the peer has been quiet for a
 *   moment, then TCP closes. Closing a socket with unread bytes resets it,
 *   and a reset can destroy our last frames in the peer's buffers before it
 *   reads them.
 * The server closes TCP first once both Close frames crossed; the client
 * waits for the server to do it (7.1.1), up to closeTimeout.
 *
 * Dead peers (see tcp/connection.ts for the platforms' silences): a write
 * that fails (returns no number, or throws) ends the connection at once;
 * onError first writes what the budget takes; and check(), called by the
 * owner's one timer, probes a connection the platform has owed a callback
 * for quietLimit ms with a zero-length write: refused once it is gone,
 * otherwise it returns the budget the platform has now.
 *
 * Every platform callback catches: an exception escaping one aborts XS.
 */

import type TCP from "embedded:io/socket/tcp";
import { openSocket, type TlsOptions } from "modules/secure-socket";
import Timer from "timer";
import { Log, peerName } from "modules/log";
import { CloseCause } from "tcp/close-cause";
import { CloseCode, Opcode, type MessageType, type Role } from "websocket/constants";
import { FrameWriter } from "websocket/frame-writer";
import { MessageReader, type MessageHandler, type MessageReaderOptions } from "websocket/message-reader";

/** A connection the platform owes a callback this long is probed by check() (ms): the simulator polls every 20. */
export const quietLimit = 500;
/** A lingering connection closes once the peer has been quiet this long (ms)… */
const lingerQuiet = 100;
/** …or after this long at most (ms). */
const lingerTime = 1000;

const nothing = new ArrayBuffer(0);

/** TCP connecting, or the HTTP handshake in progress. */
export const CONNECTING = 0;
/** Handshake done: messages flow. */
export const OPEN = 1;
/** Closing (see the CLOSING states below): no more data frames from us. */
export const CLOSING = 2;
/** TCP closed; the object is spent. */
export const CLOSED = 3;

/* The states of CLOSING (closingState), in bits 2-3 of flags. */
const AWAIT_CLOSE = 1;
const DRAIN = 2;
const LINGER = 3;

/* flags: the state (bits 0-1), the CLOSING state (bits 2-3), and these. One number: a slot, where a field each was six. */
const STATE_BITS = 0x3;
const CLOSING_SHIFT = 2;
const CLOSING_BITS = 0x3 << CLOSING_SHIFT;
/** We sent a Close frame. */
const CLOSE_SENT = 0x10;
/** pause(): reading stopped. */
const PAUSED = 0x20;
/** TCP connected (at once for an accepted socket). */
const CONNECTED = 0x40;
/** A message begun with sendPiece() awaits its last piece. */
const STREAMING = 0x80;
/** The owner's mark (ConnectionOwner: marked). */
const MARKED = 0x100;
/** Bytes were written since the platform last reported a budget. */
const UNCONFIRMED = 0x200;
/** pump() is running: a resume() from inside a delivery lets that loop read on rather than start a nested one. */
const PUMPING = 0x400;

/** A write failed: the connection is gone. */
class ConnectionGone extends Error {}

export type Chunk = ArrayBuffer | Uint8Array;
/** Data for a send: bytes, or a string sent as UTF-8. */
export type SendData = ArrayBuffer | Uint8Array | string;

/** An accepted socket to adopt, or an address to connect to (dotted IPv4 on the simulator), over TLS when tls is set. */
export type SocketTarget = { from: TCP } | { address: string; port: number; tls?: TlsOptions };

/** What owns a connection: the server or a client. It reads the HTTP handshake while the connection is CONNECTING. */
export interface ConnectionOwner {
	/** TCP connected (a client sends its request here). */
	connected?(connection: WebSocketEndpoint): void;
	/** Bytes received before the handshake completed: call connection.open() or connection.refuse(). */
	received(connection: WebSocketEndpoint, chunk: ArrayBuffer): void;
	/** TCP closed, before the handler's onClose. reason: a few words for a log. */
	closed(connection: WebSocketEndpoint, cause: CloseCause, reason: string): void;
}

/** The application's side of open connections; every method is optional. */
export interface WebSocketHandler {
	/** The handshake completed: messages may be sent. */
	onOpen?(connection: WebSocketConnection): void;
	/** Streaming: a message begins; length is its size when it is a single frame, else undefined. */
	onMessageStart?(connection: WebSocketConnection, type: MessageType, length: number | undefined): void;
	/**
	 * Streaming: the next piece (byteLength > 0; valid UTF-8 so far for text); last when it
	 * completes the message. A view of the bytes as read, not a copy: it stays valid (each
	 * read is a buffer of its own), so it may be queued to send as it is.
	 */
	onMessageData?(connection: WebSocketConnection, piece: Uint8Array, last: boolean): void;
	/** Streaming: the message is complete (text: its UTF-8 too). Always follows a start. */
	onMessageEnd?(connection: WebSocketConnection): void;
	/** Whole mode: a complete message (text as UTF-8: String.fromArrayBuffer(data)). */
	onMessage?(connection: WebSocketConnection, type: MessageType, data: ArrayBuffer): void;
	onPong?(connection: WebSocketConnection, payload: ArrayBuffer): void;
	/** The send queue emptied. */
	onDrain?(connection: WebSocketConnection): void;
	/** The peer's Close frame arrived: its code (1005 when it had none) and reason. The closing handshake goes on; onClose follows. */
	onCloseFrame?(connection: WebSocketConnection, code: number, reason: string): void;
	/** The peer broke the protocol; the connection is being failed with closeCode. */
	onProtocolError?(connection: WebSocketConnection, closeCode: number, reason: string): void;
	/** TCP closed: the last event, once. reason: a few words for a log. */
	onClose?(connection: WebSocketConnection, cause: CloseCause, reason: string): void;
}

export interface ConnectionOptions {
	role: Role;
	log: Log;
	owner: ConnectionOwner;
	/** How long to wait for the peer's Close, or for a closing connection's output to drain (ms). */
	closeTimeout: number;
	/** Bytes read at most per read: what one read can add to memory. Default 1024. */
	readSize?: number;
	/**
	 * The connection keeps this object (not a copy of its fields: a slot each
	 * on every connection), so a server passes one and the same to all its
	 * connections; it must not change afterwards.
	 *
	 * A server-role FrameWriter to share (websocket/server gives all its
	 * connections one: each frame is built synchronously, so one serves them
	 * all). Default: a writer of the connection's own.
	 */
	writer?: FrameWriter;
	/**
	 * Where the connections made with these options record the largest
	 * number of bytes a send queue of theirs held (diagnostics: memory stays
	 * bounded): one record for them all, not a slot on each. Default: none kept.
	 */
	queueStats?: QueueStats;
}

export interface QueueStats {
	maxQueued: number;
}

export interface OpenOptions {
	handler: WebSocketHandler;
	/** Deliver messages in pieces (true) or whole (false). */
	streaming: boolean;
	/** Largest message received (1009 beyond); whole mode holds this much. */
	maxMessage: number;
	/** Largest frame payload sent; longer messages are fragmented. */
	sendBuffer: number;
	/** Bytes that may wait to be sent; a send that does not fit is refused (one of any size fits an empty queue). */
	maxQueue: number;
	/** Subprotocol the handshake selected. */
	protocol?: string;
	/** Bytes read at most per read from now on. Default: as before. */
	readSize?: number;
	/** 4 bytes the server's parsers share for unmasking (FrameParserOptions.maskScratch). Default: the parser's own. */
	maskScratch?: Uint8Array;
	/**
	 * The connection's role, when the caller sets it: the connection's
	 * MessageReader then keeps this object as its options too (no object of
	 * its own). The connection keeps the object (not a copy of its fields: a
	 * slot each), so a server passes one per route to all its connections;
	 * it must not change afterwards.
	 */
	role?: Role;
}

/** Message bytes not yet framed. */
interface Outgoing {
	opcode: number;
	bytes: Uint8Array;
	offset: number;
	fin: boolean;
}

/* Socket callbacks, shared by every connection: the socket's `target` is its connection. */
function socketReadable(this: { target: WebSocketEndpoint }, bytes: number): void {
	this.target.socketReadable(bytes);
}
function socketWritable(this: { target: WebSocketEndpoint }, bytes: number): void {
	this.target.socketWritable(bytes);
}
function socketError(this: { target: WebSocketEndpoint }, error?: Error): void {
	this.target.socketError(error);
}

/**
 * A WebSocket connection as the application sees it: every handler event
 * carries one. What is here is what an application may read and call; the
 * rest of the connection belongs to the library.
 *
 * Ending it: close() starts the closing handshake (RFC 6455 7.1.2), the one
 * way to end a connection well; the handler's onClose follows once TCP has
 * closed. fail() is for a peer that broke the application's own rules: a
 * Close with that code, then TCP closes as soon as it is written, without
 * waiting for the peer's answer (7.1.7).
 */
export interface WebSocketConnection {
	/** "address:port" of the peer, for logs. */
	readonly peer: string;
	/** CONNECTING, OPEN, CLOSING or CLOSED. */
	readonly state: number;
	/** Subprotocol the handshake selected, if any. */
	readonly protocol: string | undefined;
	/** The application's own per-connection value. */
	context: unknown;
	/** The peer's Close code (1005 when it carried none); undefined until it arrives. */
	readonly closeCode: number | undefined;
	/** The peer's Close reason ("" until it arrives, or when it had none). */
	readonly closeReason: string;
	/** Bytes accepted for sending and not yet written. */
	readonly bufferedAmount: number;
	/** Whether reading is paused (pause()). */
	readonly paused: boolean;
	/** Time of the last byte moved either way (Date.now()). */
	readonly lastActivity: number;
	/** Send a text message; false when not open or the queue is full (onDrain follows when it empties). */
	sendText(text: string): boolean;
	/** Send a binary message; false when not open or the queue is full. The bytes must not change until written (bufferedAmount). */
	sendBinary(data: ArrayBuffer | Uint8Array): boolean;
	/** Send a whole message of `type` (MessageType.TEXT: the bytes must be UTF-8) as the bytes given, not copied. */
	sendMessage(type: MessageType, data: ArrayBuffer | Uint8Array): boolean;
	/** Stream a message in pieces: the first piece begins a message of `type`; `last` ends it. */
	sendPiece(type: MessageType, data: SendData, last: boolean): boolean;
	/** Send a Ping (payload up to 125 bytes); the peer answers with a Pong (onPong). */
	ping(payload?: ArrayBuffer | Uint8Array | string): void;
	/** Stop reading: TCP pushes back on the peer until resume(). */
	pause(): void;
	/** Read again. */
	resume(): void;
	/** End the connection: send Close (default 1000, ""), wait up to closeTimeout for the peer's, then TCP closes. */
	close(code?: number, reason?: string): void;
	/** Fail the connection (7.1.7): send Close with code and reason, close TCP once it is written. */
	fail(code: number, reason: string): void;
}

export class WebSocketEndpoint implements WebSocketConnection, MessageHandler {
	// Memory: every property is a slot on every connection, so what only a
	// closing connection, a busy one or a peer's Close needs is not declared
	// as a field but added when first set (`declare`: TypeScript emits
	// nothing), and the send queues exist only while they hold something.
	// Private members are TypeScript `private`, never `#name`: XS defines
	// each #method and #accessor on every instance (a slot each), and #fields
	// cost a slot more per instance (their list's head).
	// Hot fields first: XS finds a property by walking them in creation order.
	/** The state (CONNECTING, OPEN, CLOSING, CLOSED), the CLOSING state and the flags above. */
	private flags = CONNECTING;
	/** "address:port" of the peer, for logs. */
	readonly peer: string;
	/** Time of the last byte moved either way (for a server's longest-idle purge). */
	lastActivity = Date.now();
	/** Subprotocol in use, if any (set by open() when the handshake selected one). */
	declare protocol: string | undefined;
	/** The peer's Close: its code (1005 when it carried none), undefined until received. */
	declare closeCode: number | undefined;
	/** The application's own per-connection value. */
	declare context: unknown;

	/** What open() was given (OpenOptions, kept as given: shared by a route's connections). */
	private openOptions: OpenOptions | undefined;
	private reader: MessageReader | undefined;
	private socket: TCP | undefined;
	private readable = 0;
	private writable = 0;
	/** Time of the last platform callback. */
	private lastCallback = Date.now();
	/** Frames (or parts of one) ready to write; undefined when none. */
	private queue: Chunk[] | undefined;
	private queued = 0;
	/** Message bytes not yet framed, oldest first; undefined when none. */
	private outgoing: Outgoing[] | undefined;
	private pending = 0;
	/** role, log, owner, closeTimeout, writer: kept as given (ConnectionOptions), shared with the server's other connections. */
	private readonly options: ConnectionOptions;
	/** When the oldest unanswered Ping was sent; deleted once answered. */
	declare private pingSent: number | undefined;
	/** The Pong still waiting in the queue, if any (deleted once written). */
	declare private pongFrame: ArrayBuffer | undefined;
	/** A client's writer (a server's connections share the server's): made at its first frame. */
	declare private ownWriter: FrameWriter | undefined;
	/** Whole messages held while a streamed message is unfinished; undefined when none. */
	declare private deferred: Outgoing[] | undefined;
	/** The peer's Close reason (closeReason), once received. */
	declare private peerCloseReason: string | undefined;
	/** What closes TCP once DRAIN and LINGER are over: the cause, and its words for the log. */
	declare private endCause: CloseCause;
	declare private endReason: string;
	declare private lingerDeadline: number;
	/** One deadline at a time (handshake, close, linger): a few per connection, none per message. Deleted when disarmed. */
	declare private timer?: Timer;

	constructor(target: SocketTarget, options: ConnectionOptions) {
		this.options = options;
		if ("from" in target) {
			this.peer = peerName(target.from.remoteAddress, target.from.remotePort);
			this.flags |= CONNECTED;
		}
		else
			this.peer = peerName(target.address, target.port);
		this.socket = openSocket({
			...target,
			// A frame often goes out as two writes (header, then payload): with Nagle on,
			// the second waits for the peer's delayed ACK (~40 ms) on every small message.
			nodelay: true,
			target: this,
			onReadable: socketReadable,
			onWritable: socketWritable,
			onError: socketError,
		} as unknown as Parameters<typeof openSocket>[0]);
	}

	/** CONNECTING, OPEN, CLOSING or CLOSED. */
	get state(): number {
		return this.flags & STATE_BITS;
	}

	private setState(state: number): void {
		this.flags = (this.flags & ~STATE_BITS) | state;
	}

	/** 0, or AWAIT_CLOSE, DRAIN or LINGER while CLOSING. */
	private get closingState(): number {
		return (this.flags & CLOSING_BITS) >> CLOSING_SHIFT;
	}

	private set closingState(closing: number) {
		this.flags = (this.flags & ~CLOSING_BITS) | (closing << CLOSING_SHIFT);
	}

	/** Whether we sent a Close frame. */
	get closeSent(): boolean {
		return (this.flags & CLOSE_SENT) !== 0;
	}

	/**
	 * @internal A mark for the owner's own use, kept in the connection's flags
	 * (no slot): the server marks the connections that hold a client slot.
	 */
	get marked(): boolean {
		return (this.flags & MARKED) !== 0;
	}

	set marked(marked: boolean) {
		this.flags = marked ? this.flags | MARKED : this.flags & ~MARKED;
	}

	/** Bytes read at most per read: the route's, or the handshake's (ConnectionOptions.readSize). */
	private get readSize(): number {
		return this.openOptions?.readSize || this.options.readSize || 1024;
	}

	get role(): Role {
		return this.options.role;
	}

	get log(): Log {
		return this.options.log;
	}

	/** The frame builder: the server's shared one, or the connection's own (a client masks, 5.3). */
	get writer(): FrameWriter {
		return this.options.writer ?? (this.ownWriter ??= new FrameWriter({ role: this.options.role }));
	}

	/** The peer's Close reason ("" until its Close arrives, or when it had none). */
	get closeReason(): string {
		return this.peerCloseReason ?? "";
	}

	/** Whether the TCP connection was established (always for an accepted socket). */
	get connected(): boolean {
		return (this.flags & CONNECTED) !== 0;
	}

	/** Largest number of bytes a send queue held, of the connections sharing this one's options (ConnectionOptions.queueStats; 0 when none). */
	get maxQueued(): number {
		return this.options.queueStats?.maxQueued ?? 0;
	}

	/** Bytes accepted for sending and not yet written. */
	get bufferedAmount(): number {
		return this.queued + this.pending;
	}

	/** Whether reading is paused (pause()). */
	get paused(): boolean {
		return (this.flags & PAUSED) !== 0;
	}

	/* ------------------------------------------------------------- lifecycle */

	/** The handshake is done (called by the Handshake): messages flow to handler. */
	open(options: OpenOptions): void {
		if (this.state !== CONNECTING)
			return;
		this.disarm();
		this.setState(OPEN);
		if (options.protocol !== undefined)
			this.protocol = options.protocol;
		this.openOptions = options;
		const role = this.role;
		this.reader = new MessageReader(this, options.role === role ? options as MessageReaderOptions : {
			role, streaming: options.streaming, maxMessage: options.maxMessage, maskScratch: options.maskScratch,
		});
		options.handler.onOpen?.(this);
	}

	/** @internal Bytes that came with the handshake's head: the first of the messages. */
	received(rest: ArrayBuffer): void {
		const reader = this.reader;
		if (reader && !reader.stopped)
			reader.feed(rest);
	}

	/** Answer a handshake with `response` (an HTTP refusal) and close once it is written. */
	refuse(response: string, reason: string): void {
		if (this.state !== CONNECTING)
			return;
		this.sendRaw(ArrayBuffer.fromString(response));
		this.drainThenClose(CloseCause.REFUSED, reason);
	}

	/** Set the one deadline; when it passes the connection closes with cause and reason. */
	deadline(milliseconds: number, cause: CloseCause, reason: string): void {
		this.disarm();
		if (!(milliseconds > 0))
			return;
		this.timer = Timer.set(() => this.deadlinePassed(cause, reason), milliseconds);
	}

	/* ------------------------------------------------------------------ output */

	/** Send a text message; false when not open or the queue is full. */
	sendText(text: string): boolean {
		return this.enqueue(Opcode.TEXT, new Uint8Array(ArrayBuffer.fromString(text)), true, false);
	}

	/**
	 * Send a whole message of `type` (Opcode.TEXT: the bytes must be UTF-8) as
	 * the bytes given, not copied: the same buffer may go to many connections.
	 * False when not open or the queue is full.
	 */
	sendMessage(type: number, data: ArrayBuffer | Uint8Array): boolean {
		return this.enqueue(type, data instanceof ArrayBuffer ? new Uint8Array(data) : data, true, false);
	}

	/** Send a binary message; false when not open or the queue is full. The bytes must not change until written (bufferedAmount). */
	sendBinary(data: ArrayBuffer | Uint8Array): boolean {
		return this.enqueue(Opcode.BINARY, data instanceof ArrayBuffer ? new Uint8Array(data) : data, true, false);
	}

	/**
	 * Stream a message: the first piece after a complete message begins a new
	 * one of `type` (Opcode.TEXT or Opcode.BINARY); later pieces continue it
	 * whatever their type; `last` ends it. False when not open or the queue is full.
	 */
	sendPiece(type: number, data: SendData, last: boolean): boolean {
		const bytes = typeof data === "string" ? new Uint8Array(ArrayBuffer.fromString(data))
			: data instanceof ArrayBuffer ? new Uint8Array(data) : data;
		return this.enqueue(this.flags & STREAMING ? Opcode.CONTINUATION : type, bytes, last, true);
	}

	/** Send a Ping (payload up to 125 bytes). */
	ping(payload?: ArrayBuffer | Uint8Array | string): void {
		if (this.state !== OPEN)
			return;
		this.pingSent ??= Date.now();
		this.sendRaw(this.writer.ping(payload));
	}

	/** Whether a Ping we sent is still unanswered (any Pong answers it, 5.5.3). */
	get pingOutstanding(): boolean {
		return this.pingSent !== undefined;
	}

	/** When the oldest unanswered Ping was sent (0: none). */
	get pingSentAt(): number {
		return this.pingSent ?? 0;
	}

	private enqueue(opcode: number, bytes: Uint8Array, fin: boolean, piece: boolean): boolean {
		if (this.state !== OPEN)
			return false;
		const size = bytes.byteLength;
		const buffered = this.bufferedAmount;
		if (buffered && buffered + size > this.openOptions!.maxQueue)
			return false;
		const message: Outgoing = { opcode, bytes, offset: 0, fin };
		this.pending += size;
		if (!piece && this.flags & STREAMING)
			(this.deferred ??= []).push(message);		// after the streamed message's last piece (5.4)
		else {
			const outgoing = this.outgoing ??= [];
			outgoing.push(message);
			if (piece) {
				this.flags = fin ? this.flags & ~STREAMING : this.flags | STREAMING;
				const deferred = this.deferred;
				if (fin && deferred) {
					outgoing.push(...deferred);
					this.deferred = undefined;
				}
			}
		}
		this.flush();
		return true;
	}

	/** Queue ready bytes (a whole control frame, an HTTP response) ahead of data not yet framed. */
	sendRaw(chunk: Chunk): void {
		if (this.state === CLOSED)
			return;
		(this.queue ??= []).push(chunk);
		this.countQueued(chunk.byteLength);
		this.flush();
	}

	private countQueued(bytes: number): void {
		const total = (this.queued += bytes) + this.pending;
		const stats = this.options.queueStats;
		if (stats && total > stats.maxQueued)
			stats.maxQueued = total;
	}

	/** Next frame: at most sendBuffer bytes of the oldest message (masked by a client, 5.3). */
	private produce(): Chunk | undefined {
		const outgoing = this.outgoing;
		const message = outgoing?.[0];
		if (!message)
			return undefined;
		const length = message.bytes.byteLength, offset = message.offset;
		const count = Math.min(Math.max(1, this.openOptions!.sendBuffer), length - offset);
		const end = offset + count;
		const opcode = offset ? Opcode.CONTINUATION : message.opcode;
		const fin = message.fin && end === length;
		message.offset = end;
		this.pending -= count;
		if (end === length)
			outgoing!.shift();
		const piece = message.bytes.subarray(offset, end);
		if (this.role === "client")
			return this.writer.frame(opcode, piece, fin);
		// Unmasked: the header, then the payload as the caller's bytes (no copy when they are a whole buffer).
		const header = this.writer.header(opcode, fin, count);
		const queue = this.queue ??= [];
		queue.push(header);
		this.countQueued(header.byteLength + count);
		if (count)
			queue.push(this.writer.payloadView(piece));
		return undefined;
	}

	/** Write queued output, as much as the budget allows. Never throws. */
	flush(): void {
		try {
			this.writeQueued();
		}
		catch (e) {
			this.crash(e);
		}
	}

	private writeQueued(): void {
		const socket = this.socket;
		if (!socket || !(this.flags & CONNECTED))
			return;
		let writable = this.writable;
		while (writable > 0) {
			let queue = this.queue;
			let head: Chunk | undefined = queue?.[0];
			if (!head) {
				if (this.closeSent || this.state !== OPEN)
					break;
				const frame = this.produce();		// may make the queue
				if (frame) {
					(this.queue ??= []).push(frame);
					this.countQueued(frame.byteLength);
				}
				queue = this.queue;
				head = queue?.[0];
				if (!head)
					break;
			}
			if (head === this.pongFrame)
				delete this.pongFrame;		// being written: a newer Ping gets its own Pong
			const length = head.byteLength;
			let count = length;
			if (!length)
				queue!.shift();
			else if (length <= writable) {
				queue!.shift();
				writable = this.writeChunk(socket, head, writable, length);
			}
			else {
				count = writable;
				const view = head instanceof ArrayBuffer ? new Uint8Array(head) : head;
				queue![0] = view.subarray(count);
				writable = this.writeChunk(socket, view.subarray(0, count), writable, count);
			}
			this.queued -= count;
		}
		if (writable !== this.writable)
			this.lastActivity = Date.now();		// once per flush, not per write
		this.writable = writable;
		if (this.queue?.length || this.outgoing?.length)
			return;
		this.queue = this.outgoing = undefined;		// idle: no arrays held
		if (this.closingState === DRAIN)
			this.linger();
		else if (this.state === OPEN)
			this.openOptions!.handler.onDrain?.(this);
	}

	private writeChunk(socket: TCP, chunk: Chunk, writable: number, count: number): number {
		// esp32 and the simulator return the budget left, and nothing once the
		// connection has failed (which the simulator never reports otherwise).
		let left: unknown;
		try {
			left = socket.write(chunk);
		}
		catch (e) {
			if (count > writable || String((e as Error)?.message).includes("would block"))
				throw e;		// a budget mistake: ours, not the peer's
			throw new ConnectionGone(`write refused: ${(e as Error).message}`);
		}
		if (typeof left !== "number")
			throw new ConnectionGone("write failed");
		this.flags |= UNCONFIRMED;
		return Math.min(left, writable - count);
	}

	/* ------------------------------------------------------------------- input */

	/** Stop reading: TCP pushes back on the peer until resume(). */
	pause(): void {
		this.flags |= PAUSED;
	}

	/** Read again (at once, what the platform holds). */
	resume(): void {
		if (!(this.flags & PAUSED))
			return;
		this.flags &= ~PAUSED;
		if (this.readable > 0)
			this.pump();
	}

	private pump(): void {
		// Not re-entrant: a handler may resume() (itself, or from onDrain when a
		// send drains the queue) while the loop below is inside reader.feed();
		// a nested read would feed the parser the next bytes in the middle of
		// the previous ones. The running loop sees PAUSED cleared and reads on.
		if (this.flags & PUMPING)
			return;
		this.flags |= PUMPING;
		try {
			this.writeQueued();
			if (this.readable > 0)
				this.lastActivity = Date.now();		// once per turn of input, not per read
			const socket = this.socket;
			while (socket && this.state !== CLOSED && this.readable > 0) {
				// Paused: only while open (closing connections read on, to find the Close).
				if (this.flags & PAUSED && this.state === OPEN)
					break;
				const count = Math.min(this.readable, this.readSize);
				const chunk = socket.read(count) as ArrayBuffer | undefined;
				this.readable -= count;
				if (!chunk)
					break;
				const reader = this.reader;
				if (reader) {
					if (!reader.stopped)
						reader.feed(chunk);
				}
				else if (this.state === CONNECTING)
					this.options.owner.received(this, chunk);
				// else: refused or failing: input is discarded
				if (this.closingState === LINGER)		// the peer still sends: linger on, up to the deadline
					this.deadline(Math.max(1, Math.min(lingerQuiet, this.lingerDeadline - Date.now())), this.endCause, this.endReason);
			}
		}
		catch (e) {
			this.crash(e);
		}
		this.flags &= ~PUMPING;
	}

	/* ------------------------------------------------------ platform callbacks */

	/** @internal */
	socketReadable(bytes: number): void {
		this.lastCallback = Date.now();
		this.readable = bytes;
		this.pump();
	}

	/** @internal */
	socketWritable(bytes: number): void {
		this.lastCallback = Date.now();
		this.flags &= ~UNCONFIRMED;
		this.writable = bytes;
		if (!(this.flags & CONNECTED)) {
			this.flags |= CONNECTED;
			try {
				if (this.state === CONNECTING)
					this.options.owner.connected?.(this);
			}
			catch (e) {
				this.crash(e);
				return;
			}
		}
		this.pump();
	}

	/** @internal After onError the platform calls nothing else. cause: what a TLS socket says failed (modules/secure-socket); TCP says nothing. */
	socketError(cause?: Error): void {
		try {
			if (this.state === CLOSED)
				return;
			// Write what the budget takes now (a half-closed peer still reads), then close.
			try {
				this.learnBudget();
				this.writeQueued();
			}
			catch {
				// gone for writing too (a reset; lwip after a FIN)
			}
			if (cause)
				this.log.error(cause.message);
			if (this.state === CLOSED)
				return;
			if (this.closingState >= DRAIN)
				this.destroy(this.endCause, this.endReason);
			else if (cause)
				this.destroy(this.connected ? CloseCause.PROTOCOL_ERROR : CloseCause.CONNECT_FAILED, cause.message);		// TLS failed
			else
				this.gone();
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
		if (this.state === CLOSED || !(this.flags & CONNECTED) || now - this.lastCallback < quietLimit)
			return;
		if (!(this.queued > 0 || this.pending > 0 || (this.readable > 0 && !(this.flags & PAUSED)) || this.flags & UNCONFIRMED))
			return;
		this.lastCallback = now;		// once per quietLimit
		try {
			this.learnBudget();
			this.pump();
		}
		catch (e) {
			this.crash(e);
		}
	}

	/** A zero-length write: the budget the platform has now, or ConnectionGone. */
	private learnBudget(): void {
		const socket = this.socket;
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
		this.writable = left;
	}

	/** The platform reported the connection gone (onError): close with what that means now. */
	private gone(): void {
		if (!(this.flags & CONNECTED))
			this.destroy(CloseCause.CONNECT_FAILED, "connection failed");
		else if (this.state === CONNECTING)
			this.destroy(CloseCause.PEER_CLOSED, this.role === "client" ? "server closed during the handshake" : "peer closed or reset");
		else if (this.closeSent && this.closeCode !== undefined)
			this.destroy(CloseCause.CLOSED, `closed ${this.closeCode}`);
		else
			this.destroy(CloseCause.PEER_CLOSED, this.closeSent ? "peer closed without answering our close" : "peer closed or reset");
	}

	/* ----------------------------------------------------------------- closing */

	/** Start the closing handshake (7.1.2): send Close, wait up to closeTimeout for the peer's. */
	close(code: number = CloseCode.NORMAL, reason = ""): void {
		if (this.state === CONNECTING)
			this.destroy(CloseCause.LOCAL, "closed before the handshake completed");
		else if (this.state === OPEN) {
			this.sendClose(code, reason);
			this.closingState = AWAIT_CLOSE;
			this.deadline(this.options.closeTimeout, CloseCause.TIMEOUT, "close timeout");
		}
	}

	/** Fail the connection (7.1.7): send Close with code and reason, close TCP once it is written. */
	fail(code: number, reason: string, cause: CloseCause = CloseCause.LOCAL): void {
		if (this.state === CLOSED)
			return;
		this.reader?.stop();
		if (this.state === OPEN && !this.closeSent)
			this.sendClose(code, reason);
		this.drainThenClose(cause, reason);
	}

	/** Give up on a peer that stopped answering: a Close if the budget takes it now, then TCP closes at once. */
	abandon(code: number, reason: string, cause: CloseCause = CloseCause.LOCAL): void {
		if (this.state === CLOSED)
			return;
		if (this.state === OPEN && !this.closeSent)
			this.sendClose(code, reason);
		this.destroy(cause, reason);
	}

	private sendClose(code: number, reason: string): void {
		// What was sent before the Close goes before it, framed now: no data frame may follow a Close (5.5.1).
		while (this.outgoing?.length) {
			const frame = this.produce();
			if (frame) {
				(this.queue ??= []).push(frame);
				this.countQueued(frame.byteLength);
			}
		}
		this.outgoing = undefined;
		if (this.deferred)
			this.deferred = undefined;		// (only when a streamed message never got its last piece)
		this.pending = 0;
		this.flags |= CLOSE_SENT;
		this.setState(CLOSING);
		this.log.info(`Sent close ${code} "${reason}" to ${this.peer}`);
		this.sendRaw(this.writer.close(code, reason));
	}

	/** DRAIN: write what is queued, then LINGER, then close TCP with cause and reason; closeTimeout bounds it all. */
	private drainThenClose(cause: CloseCause, reason: string): void {
		this.setState(CLOSING);
		this.closingState = DRAIN;
		this.endCause = cause;
		this.endReason = reason;
		this.outgoing = undefined;
		if (this.deferred)
			this.deferred = undefined;
		this.pending = 0;
		this.deadline(this.options.closeTimeout, CloseCause.TIMEOUT, "close timeout");
		this.flush();
	}

	private linger(): void {
		this.closingState = LINGER;
		this.lingerDeadline = Date.now() + Math.min(this.options.closeTimeout, lingerTime);
		this.deadline(lingerQuiet, this.endCause, this.endReason);
	}

	/** Close TCP now (once); logs `Connection closed: peer (reason)`. reason: for the log; default the cause. */
	destroy(cause: CloseCause = CloseCause.LOCAL, reason: string = cause): void {
		if (this.state === CLOSED)
			return;
		this.setState(CLOSED);
		this.disarm();
		const reader = this.reader;
		if (reader) {
			reader.stop();
			this.reader = undefined;		// a spent connection holds no protocol state, whoever still refers to it
		}
		this.queue = undefined;
		this.queued = 0;
		this.outgoing = undefined;
		if (this.deferred)
			this.deferred = undefined;
		this.pending = 0;
		if (this.pongFrame)
			delete this.pongFrame;
		const socket = this.socket;
		this.socket = undefined;
		if (socket) {
			try {
				if (this.readable)
					socket.read();		// unread input would make the close a reset
				this.readable = 0;
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
			this.options.owner.closed(this, cause, reason);
			this.openOptions?.handler.onClose?.(this, cause, reason);
		}
		catch (e) {
			this.log.error(`after closing ${this.peer}: ${(e as Error).message}`);
		}
	}

	/** An unexpected exception, or a failed write: log it and drop the connection (never the app). */
	private crash(e: unknown): void {
		if (e instanceof ConnectionGone) {
			if (this.closingState >= DRAIN)
				this.destroy(this.endCause, this.endReason);
			else
				this.destroy(CloseCause.PEER_GONE, `peer gone (${e.message})`);
			return;
		}
		this.log.error(`Error on ${this.peer}: ${(e as Error)?.message ?? e}`);
		try {
			this.destroy(CloseCause.ERROR, "internal error");
		}
		catch {
			// nothing more to do
		}
	}

	private disarm(): void {
		if (this.timer) {
			Timer.clear(this.timer);
			delete this.timer;		// no property left behind on an open connection (a slot)
		}
	}

	/** @internal The deadline passed: cause and reason are what deadline() was given. */
	deadlinePassed(cause: CloseCause, reason: string): void {
		delete this.timer;
		try {
			if (this.closingState !== LINGER)
				this.log.warn(`${reason[0].toUpperCase()}${reason.slice(1)}, dropping ${this.peer}`);
			this.destroy(cause, reason);
		}
		catch (e) {
			this.crash(e);
		}
	}

	/* -------------------------------------------------- MessageReader events */

	/** @internal */
	onMessageStart(type: MessageType, length: number | undefined): void {
		const handler = this.openOptions!.handler;
		if (this.state === OPEN && handler.onMessageStart)
			handler.onMessageStart(this, type, length);
	}

	/** @internal Streaming pieces as ranges of the chunk read: a view each, no copy (the chunk is not reused). */
	onMessageRange(chunk: ArrayBuffer, start: number, end: number, last: boolean): void {
		const handler = this.openOptions!.handler;
		if (this.state === OPEN && handler.onMessageData)
			handler.onMessageData(this, new Uint8Array(chunk, start, end - start), last);
	}

	/** @internal */
	onMessageEnd(): void {
		const handler = this.openOptions!.handler;
		if (this.state === OPEN && handler.onMessageEnd)
			handler.onMessageEnd(this);
	}

	/** @internal */
	onMessage(type: MessageType, data: ArrayBuffer): void {
		const handler = this.openOptions!.handler;
		if (this.state === OPEN && handler.onMessage)
			handler.onMessage(this, type, data);
	}

	/** @internal Ping: answer with a Pong carrying the same payload (5.5.2). */
	onPing(payload: ArrayBuffer): void {
		if (this.state !== OPEN)
			return;
		const frame = this.writer.pong(payload);
		const queue = this.queue;
		const pending = this.pongFrame && queue ? queue.indexOf(this.pongFrame) : -1;
		this.pongFrame = frame;
		if (pending >= 0) {
			this.queued += frame.byteLength - queue![pending].byteLength;
			queue![pending] = frame;
		}
		else
			this.sendRaw(frame);
	}

	/** @internal */
	onPong(payload: ArrayBuffer): void {
		if (this.pingSent !== undefined)
			delete this.pingSent;		// no property left behind on an idle connection (a slot)
		const handler = this.openOptions!.handler;
		if (handler.onPong)
			handler.onPong(this, payload);
	}

	/** @internal The peer's Close (5.5.1): answer it with its code, then close TCP (7.1.1). */
	onCloseFrame(code: number | undefined, reason: string): void {
		this.closeCode = code ?? CloseCode.NO_STATUS;
		this.peerCloseReason = reason;
		this.log.info(`Received close ${this.closeCode} "${reason}" from ${this.peer}`);
		const wasOpen = this.state === OPEN;
		if (!this.closeSent)
			this.sendClose(code ?? CloseCode.NORMAL, "");
		if (wasOpen || this.closingState === AWAIT_CLOSE) {
			const handler = this.openOptions!.handler;
			if (handler.onCloseFrame)
				handler.onCloseFrame(this, this.closeCode, reason);
		}
		if (this.state === CLOSED)
			return;
		if (this.role === "server")
			this.drainThenClose(CloseCause.CLOSED, `closed ${this.closeCode}`);		// TCP closes first on the server (7.1.1), after a linger
		else {
			this.closingState = AWAIT_CLOSE;
			this.deadline(this.options.closeTimeout, CloseCause.TIMEOUT, "close timeout");		// the server closes TCP first
		}
	}

	/** @internal A protocol violation: fail the connection with the reader's close code. */
	onProtocolError(closeCode: number, reason: string): void {
		this.log.warn(`Protocol error from ${this.peer}: ${reason} (close ${closeCode})`);
		const handler = this.openOptions!.handler;
		if (handler.onProtocolError)
			handler.onProtocolError(this, closeCode, reason);
		if (this.closeSent)
			this.destroy(CloseCause.PROTOCOL_ERROR, `protocol error: ${reason}`);
		else
			this.fail(closeCode, reason, CloseCause.PROTOCOL_ERROR);
	}
}
