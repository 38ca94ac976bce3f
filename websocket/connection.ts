/*
 * One WebSocket connection, for either end: the WebSocket protocol on top of
 * a TCP connection of the TCP library (tcp/connection TcpEndpoint), which
 * owns the socket, its write budget, write-or-gone, the dead-peer probe and
 * the platform's callbacks. This file keeps what is WebSocket's: framing,
 * the send queue, the closing handshake, and delivery. It reports to two
 * delegates, never to subclasses:
 *
 * - its owner (the server in websocket/server, the client's
 *   attempt in websocket/client), which reads the HTTP handshake while
 *   CONNECTING and then calls open() or refuse(), and learns of the end
 *   (closed, with a cause: tcp/close-cause);
 * - a WebSocketHandler once OPEN: the application (an echo, a broadcast, a
 *   client's owner). Every event carries the connection, so one handler
 *   object serves every connection, with no closure per connection.
 *
 * Events come from the connection's one dispatch loop (dispatch()), run by
 * the TCP connection's callbacks, never from inside a call the application
 * made: a sendText() that empties the queue, a resume() with bytes waiting,
 * a write that finds the peer gone are all handled once the call has
 * returned (in the running loop, or in a loop started on the next turn).
 *
 * Receiving: messages stream (onMessageStart, onMessageData pieces,
 * onMessageEnd) or arrive whole up to maxMessage (1009 beyond, judged from
 * the declared lengths, 10.4). Backpressure: pause() stops reading, so the
 * socket's buffer fills and TCP pushes back on the peer; resume() reads
 * again. At most readSize bytes are read per read into a buffer of its
 * own; once a whole message's buffer exists, the rest of the message is
 * read straight into it (MessageReader.pull), adding nothing.
 *
 * Sending: whole messages (sendText, sendBinary) or pieces of one
 * (sendPiece). With nothing waiting, a message (or piece) is written at
 * once as one frame, with no queue entry: a small one in one write (the
 * writer's scratch frame), a larger one as its header and then the
 * caller's bytes as far as the budget takes them, the rest of the frame
 * waiting. Otherwise it is queued up to maxQueue bytes (a send that does
 * not fit is refused with false; one of any size fits an empty queue) and
 * framed only when the write budget frees up. A route that sets sendBuffer
 * gets frames of at most that many payload bytes (a longer message is
 * fragmented, 5.4); with 0, a message is one frame. onDrain follows when
 * bytes that had to wait for budget are all written. A whole message sent while a
 * streamed one is unfinished waits for its last piece: data frames of two
 * messages never interleave (5.4). Control frames go ahead of data not yet
 * framed, never inside a frame. Pings are answered with a Pong of the same
 * payload; a newer Ping replaces a Pong still queued (5.5.3).
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
 * Dead peers: as every TCP connection (tcp/connection): a failed write ends
 * it, the peer's FIN or reset first lets it write what the budget takes, and
 * check(), called by the owner's one timer, probes one the platform has
 * owed a callback for quietLimit ms.
 */

import type TCP from "embedded:io/socket/tcp";
import type { Log } from "modules/log";
import type { TlsOptions } from "modules/secure-socket";
import type { TlsServerCredentials } from "modules/tls-credentials";
import { CloseCause } from "tcp/close-cause";
import { ConnectionGone, type TcpConnectionOwner, TcpEndpoint, type TcpHandler } from "tcp/connection";
import Timer from "timer";
import { CloseCode, type MessageType, Opcode, type Role } from "websocket/constants";
import { FrameWriter, smallPayload } from "websocket/frame-writer";
import { type MessageHandler, MessageReader } from "websocket/message-reader";

/** A lingering connection closes once the peer has been quiet this long (ms)… */
const lingerQuiet = 100;
/** The largest frame header: 2 bytes, 8 of extended length, 4 of mask (RFC 6455 5.2). */
const maxHeaderSize = 14;
/** …or after this long at most (ms). */
const lingerTime = 1000;

/** TCP connecting, or the HTTP handshake in progress (on a server, also a kept HTTP connection awaiting its next request). */
export const CONNECTING = 0;
/** Handshake done: messages flow. */
export const OPEN = 1;
/** Closing (see the CLOSING states below): no more data frames from us. */
export const CLOSING = 2;
/** TCP closed; the object is spent. */
export const CLOSED = 3;

/* The states of CLOSING (closingState). */
const AWAIT_CLOSE = 1;
const DRAIN = 2;
const LINGER = 3;

/*
 * flags: the state (bits 0-1), the CLOSING state (bits 2-3), and the marks
 * below, in one number. Packed for memory: as a field each they would be
 * nine slots more on every connection, 144 bytes each on an ESP32, where an
 * idle connection costs about 30 slots in all (the budget tests/device
 * sim-memory holds: WS_SLOT_BUDGET). Read them through the named accessors
 * (state, closingState, closeSent, paused, marked), never by bit.
 */
const STATE_BITS = 0x3;
const CLOSING_SHIFT = 2;
const CLOSING_BITS = 0x3 << CLOSING_SHIFT;
/** We sent a Close frame. */
const CLOSE_SENT = 0x10;
/** pause(): reading stopped. */
const PAUSED = 0x20;
/** Bytes wait for write budget: onDrain is owed once they are all written. */
const WAITING = 0x40;
/** A message begun with sendPiece() awaits its last piece. */
const STREAMING = 0x80;
/** The owner's mark (ConnectionOwner: marked). */
const MARKED = 0x100;
/** dispatch() is running: what a handler's call leaves to do, the running loop does. */
const DISPATCHING = 0x400;
/** Bytes that had waited for budget are all written: the handler's onDrain is owed. */
const DRAIN_OWED = 0x800;
/** A write in a call of the application's found the peer gone: the connection closes once the call returned. */
const GONE = 0x1000;
/** A dispatch is scheduled for the next turn. */
const SCHEDULED = 0x2000;
/** queue or outgoing may exist (cleared when both are dropped): the hot paths test this bit, not the absent properties. */
const QUEUED = 0x4000;

export type Chunk = ArrayBuffer | Uint8Array;
/** Data for a send: bytes, or a string sent as UTF-8. */
export type SendData = ArrayBuffer | Uint8Array | string;

/**
 * The server's route a connection was opened on, as the connection shows
 * it (websocket/route's WebSocketRoute implements it): its path, its
 * connections, and one message to all of them. Declared here so that the
 * connection needs nothing of the route's module (which needs the
 * connection's).
 */
export interface ConnectionRoute extends Iterable<WebSocketConnection> {
	/** The path served. */
	readonly path: string;
	/** Its connections: opened (onOpen) and not yet closed (onClose). */
	readonly count: number;
	/** Clients whose queue could not take the last broadcast they were sent. */
	readonly lagging: number;
	/** Broadcast deliveries skipped because a client's queue was full. */
	readonly skipped: number;
	/** A client that could take no broadcast for this long (ms) is failed with 1008; 0: never. */
	readonly slowTimeout: number;
	/** One message to every OPEN connection of the route but `except`; how many took it. */
	broadcast(type: MessageType, data: SendData, except?: WebSocketConnection): number;
}

/** An accepted socket to adopt, or an address to connect to (dotted IPv4 on the simulator), over TLS when tls is set (a server's credentials, a client's CA). */
export type SocketTarget = { from: TCP; tls?: TlsServerCredentials } | { address: string; port: number; tls?: TlsOptions };

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
	/**
	 * Largest frame payload sent: a longer message is fragmented into frames
	 * of this size (5.4). 0: no limit: a whole message is one frame, its
	 * payload written as the budget allows.
	 */
	sendBuffer: number;
	/** Bytes that may wait to be sent; a send that does not fit is refused (one of any size fits an empty queue). */
	maxQueue: number;
	/** Subprotocol the handshake selected. */
	protocol?: string;
	/** The server's route the connection is opened on (websocket/route); none on a client. */
	route?: ConnectionRoute;
	/** Bytes read at most per read from now on. Default: as before. */
	readSize?: number;
	/**
	 * The connection's role. The connection's MessageReader keeps this
	 * object as its options (no object of its own), and the connection
	 * reaches it there (not a copy of its fields: a slot each), so a server
	 * passes one per route to all its connections; it must not change
	 * afterwards.
	 */
	role: Role;
}

/** Message bytes not yet framed. */
interface Outgoing {
	opcode: number;
	bytes: Uint8Array;
	offset: number;
	fin: boolean;
}

/**
 * Bytes as a Uint8Array: a view of an ArrayBuffer, a Uint8Array as it is.
 * (Told apart by BYTES_PER_ELEMENT, one property lookup, where instanceof
 * walks prototypes: about 70 ns on the bench machine's XS, per message.)
 */
function asBytes(data: ArrayBuffer | Uint8Array): Uint8Array {
	return (data as Uint8Array).BYTES_PER_ELEMENT ? (data as Uint8Array) : new Uint8Array(data);
}

/** Message bytes of these not framed yet. */
function unframedBytes(messages: Outgoing[] | undefined): number {
	let count = 0;
	if (messages) for (const message of messages) count += message.bytes.byteLength - message.offset;
	return count;
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
	/** The server's route it belongs to, from onOpen to onClose (websocket/route: its other connections, broadcast); undefined on a client's. */
	readonly route: ConnectionRoute | undefined;
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

export class WebSocketEndpoint implements WebSocketConnection, MessageHandler, TcpHandler, TcpConnectionOwner {
	// Memory: every property is a slot on every connection, so what only a
	// closing connection, a busy one or a peer's Close needs is not declared
	// as a field but added when first set (`declare`: TypeScript emits
	// nothing), and the send queues exist only while they hold something.
	// Private members are TypeScript `private`, never `#name`: XS defines
	// each #method and #accessor on every instance (a slot each), and #fields
	// cost a slot more per instance (their list's head).
	// Hot fields first: XS finds a property by walking them in creation order.
	/** The state (CONNECTING, OPEN, CLOSING, CLOSED), the CLOSING state and the marks above. */
	private flags = CONNECTING;
	/** The TCP connection under this one: the socket, its budget, the dead-peer probe. */
	private readonly tcp: TcpEndpoint;
	/** Subprotocol in use, if any (set by open() when the handshake selected one). */
	declare protocol: string | undefined;
	/** The peer's Close: its code (1005 when it carried none), undefined until received. */
	declare closeCode: number | undefined;
	/** The application's own per-connection value. */
	declare context: unknown;

	/** The message reader, from open() on; it keeps the OpenOptions open() was given (reader.options). */
	private reader: MessageReader<OpenOptions> | undefined;
	/** Frames (or parts of one) ready to write; absent when none (a slot only while sending). */
	declare private queue: Chunk[] | undefined;
	/** Message bytes not yet framed, oldest first; absent when none (a slot only while sending). */
	declare private outgoing: Outgoing[] | undefined;
	/** Bytes accepted for sending and not yet written: frames queued, and message bytes not yet framed (bufferedAmount). */
	private buffered = 0;
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
	/** What closes TCP once DRAIN and LINGER are over, or once a call that found the peer gone returned: the cause, and its words for the log. */
	declare private endCause: CloseCause;
	declare private endReason: string;
	declare private lingerDeadline: number;
	/** One deadline at a time (handshake, close, linger): a few per connection, none per message. Deleted when disarmed. */
	declare private timer?: Timer;

	constructor(target: SocketTarget, options: ConnectionOptions) {
		this.options = options;
		// A frame often goes out as two writes (header, then payload): with Nagle on,
		// the second waits for the peer's delayed ACK (~40 ms) on every small message.
		this.tcp = new TcpEndpoint({ ...target, owner: this, handler: this, nodelay: true });
	}

	/* ------------------------------------------------- the hot paths, first */
	// (XS finds a method by walking the object's properties, then its prototype's, in
	// declaration order, about 1 ns a step on the bench machine: a method 80 members down
	// costs as much as a call. What runs for every message or budget is declared first:
	// the TCP connection's events, sending, the reader's delivery, the dispatch loop.)

	/** @internal */
	onReadable(): void {
		this.dispatch();
	}

	/** @internal */
	onWritable(): void {
		// (budget for an idle connection: nothing to write, nothing to read, no dispatch)
		if (this.flags & (QUEUED | WAITING | CLOSING_BITS | DRAIN_OWED | GONE) || this.tcp.readable) this.dispatch();
	}

	/** Send a binary message; false when not open or the queue is full. The bytes must not change until written (bufferedAmount). */
	sendBinary(data: ArrayBuffer | Uint8Array): boolean {
		// (sendMessage(Opcode.BINARY, data) without its call: the same lines)
		const bytes = (data as Uint8Array).BYTES_PER_ELEMENT ? (data as Uint8Array) : new Uint8Array(data);
		const size = bytes.byteLength;
		const tcp = this.tcp;
		if ((this.flags & (STATE_BITS | QUEUED | STREAMING)) === OPEN && size <= smallPayload && tcp.writable >= size + maxHeaderSize) {
			const sendBuffer = this.reader!.options.sendBuffer;
			if (!sendBuffer || size <= sendBuffer) {
				const writer = this.options.writer ?? this.writer;
				const frame = writer.scratchFrame(Opcode.BINARY, bytes, size, true);
				const length = writer.scratchLength;
				const written = tcp.send(frame, length);
				if (written < length) this.heldBack(frame, written);
				return true;
			}
		}
		return this.enqueue(Opcode.BINARY, bytes, true, false);
	}

	/**
	 * Send a whole message of `type` (Opcode.TEXT: the bytes must be UTF-8) as
	 * the bytes given, not copied: the same buffer may go to many connections.
	 * False when not open or the queue is full.
	 */
	sendMessage(type: MessageType, data: ArrayBuffer | Uint8Array): boolean {
		const bytes = (data as Uint8Array).BYTES_PER_ELEMENT ? (data as Uint8Array) : new Uint8Array(data); // (asBytes(), without its call)
		const size = bytes.byteLength;
		const tcp = this.tcp;
		// The common case in full, without a call to writeWhole() or enqueue() (each costs
		// about as much as a third of the rest): open, nothing waiting, a small message the
		// budget takes, one frame in one write from the writer's scratch.
		if ((this.flags & (STATE_BITS | QUEUED | STREAMING)) === OPEN && size <= smallPayload && tcp.writable >= size + maxHeaderSize) {
			const sendBuffer = this.reader!.options.sendBuffer;
			if (!sendBuffer || size <= sendBuffer) {
				const writer = this.options.writer ?? this.writer;
				const frame = writer.scratchFrame(type, bytes, size, true);
				const length = writer.scratchLength;
				const written = tcp.send(frame, length);
				if (written < length) this.heldBack(frame, written);
				return true;
			}
		}
		return this.enqueue(type, bytes, true, false);
	}

	/** @internal */
	onMessage(type: MessageType, data: ArrayBuffer): void {
		const handler = this.reader!.options.handler;
		if ((this.flags & STATE_BITS) === OPEN && handler.onMessage) handler.onMessage(this, type, data);
	}

	/**
	 * The one loop that moves bytes and calls the handler: write what the
	 * budget takes, read and deliver one chunk, give the handler an owed
	 * onDrain, until nothing is left to do. Not re-entrant: a handler that
	 * sends, resumes or closes from inside an event leaves the work to this
	 * loop, which sees it on its next turn. Never throws.
	 */
	private dispatch(): void {
		let flags = this.flags;
		if (flags & DISPATCHING) return;
		this.flags = flags | DISPATCHING;
		try {
			const tcp = this.tcp;
			// (flags read once a turn, as bits: no getters on the way of every read)
			while (((flags = this.flags) & STATE_BITS) !== CLOSED) {
				if (flags & GONE) {
					this.destroy(this.endCause, this.endReason);
					break;
				}
				if (flags & (QUEUED | WAITING | CLOSING_BITS)) {
					this.writeQueued(); // (most read turns have nothing to write: no call)
					flags = this.flags;
				}
				// Paused: only while open (closing connections read on, to find the Close).
				if (tcp.readable > 0 && (flags & (PAUSED | STATE_BITS)) !== (PAUSED | OPEN)) {
					// Whole mode, a message being assembled: its bytes go straight into it (no buffer per read).
					const reader = this.reader;
					if (reader?.pull(tcp)) continue;
					if (!this.readChunk(tcp)) break;
					continue;
				}
				if (flags & DRAIN_OWED) {
					this.flags = flags & ~DRAIN_OWED;
					// (whole messages deferred behind an unfinished streamed one wait for its last piece: the handler's to send)
					if ((flags & (STATE_BITS | QUEUED)) === OPEN) this.reader!.options.handler.onDrain?.(this);
					continue;
				}
				break;
			}
		} catch (e) {
			this.crash(e);
		}
		this.flags &= ~DISPATCHING;
	}

	/** Read at most readSize bytes and hand them on: to the reader, or to the owner during the handshake. False when nothing came. */
	private readChunk(tcp: TcpEndpoint): boolean {
		const reader = this.reader;
		const chunk = tcp.take(reader?.options.readSize || this.options.readSize || 1024);
		if (!chunk) return false;
		if (reader)
			reader.feed(chunk); // (a stopped reader ignores it)
		else if ((this.flags & STATE_BITS) === CONNECTING) this.options.owner.received(this, chunk);
		// else: refused or failing: input is discarded
		if ((this.flags & CLOSING_BITS) === LINGER << CLOSING_SHIFT)
			// the peer still sends: linger on, up to the deadline
			this.deadline(Math.max(1, Math.min(lingerQuiet, this.lingerDeadline - Date.now())), this.endCause, this.endReason);
		return true;
	}

	/** @internal Streaming pieces as ranges of the chunk read: a view each, no copy (the chunk is not reused). */
	onMessageRange(chunk: ArrayBuffer, start: number, end: number, last: boolean): void {
		const handler = this.reader!.options.handler;
		if ((this.flags & STATE_BITS) === OPEN && handler.onMessageData) handler.onMessageData(this, new Uint8Array(chunk, start, end - start), last);
	}

	/** @internal */
	onMessageStart(type: MessageType, length: number | undefined): void {
		const handler = this.reader!.options.handler;
		if ((this.flags & STATE_BITS) === OPEN && handler.onMessageStart) handler.onMessageStart(this, type, length);
	}

	/** @internal */
	onMessageEnd(): void {
		const handler = this.reader!.options.handler;
		if ((this.flags & STATE_BITS) === OPEN && handler.onMessageEnd) handler.onMessageEnd(this);
	}

	/** Send a text message; false when not open or the queue is full. */
	sendText(text: string): boolean {
		return this.enqueue(Opcode.TEXT, new Uint8Array(ArrayBuffer.fromString(text)), true, false);
	}

	/** A frame from the writer's scratch was not all written: the rest waits (a copy: the scratch is the writer's); written < 0: the peer is gone, the connection closes once the call returned. */
	private heldBack(frame: Uint8Array, written: number): void {
		if (written < 0) {
			this.failLater(new ConnectionGone(this.tcp.goneReason!));
			this.later();
			return;
		}
		const rest = frame.slice(written);
		this.queue = [rest];
		this.flags |= QUEUED | WAITING;
		this.countQueued(rest.byteLength);
	}

	private enqueue(opcode: number, bytes: Uint8Array, fin: boolean, piece: boolean): boolean {
		const flags = this.flags;
		if ((flags & STATE_BITS) !== OPEN) return false;
		const size = bytes.byteLength;
		const buffered = this.buffered;
		if (buffered) {
			if (buffered + size > this.reader!.options.maxQueue) return false;
		}
		// (a whole message waits for an unfinished streamed one; pieces and messages behind queued bytes wait their turn)
		else if (!(flags & QUEUED) && (piece || !(flags & STREAMING)) && this.writeWhole(opcode, bytes, size, fin)) {
			if (piece) this.flags = fin ? this.flags & ~STREAMING : this.flags | STREAMING;
			return true;
		}
		const message: Outgoing = { opcode, bytes, offset: 0, fin };
		this.buffered += size;
		if (!piece && this.flags & STREAMING)
			(this.deferred ??= []).push(message); // after the streamed message's last piece (5.4)
		else {
			const outgoing = (this.outgoing ??= []);
			this.flags |= QUEUED;
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
		this.writeNow();
		return true;
	}

	/**
	 * The common case: nothing waits to be written, and the message (or
	 * piece) is one frame: sendBuffer 0, or at most sendBuffer bytes. It is
	 * written at once, as produce() would frame it, without a queue (no
	 * arrays, no slots for them): a small one in one write (the writer's
	 * scratch frame), a larger one as its header and then the payload as
	 * the caller's bytes, as far as the budget takes it; the rest of the
	 * frame waits in the queue (one view, WAITING: onDrain follows). False
	 * when it cannot be (no budget even for a header, or a message
	 * to fragment): the caller queues it.
	 */
	private writeWhole(opcode: number, bytes: Uint8Array, size: number, fin: boolean): boolean {
		const tcp = this.tcp;
		const writable = tcp.writable; // (0 unless open)
		if (writable < maxHeaderSize) return false;
		const sendBuffer = this.reader!.options.sendBuffer;
		if (sendBuffer && size > sendBuffer) return false; // fragments (produce())
		const options = this.options;
		const writer = options.writer ?? this.writer;
		let rest: Uint8Array | undefined;
		if (size <= smallPayload && writable >= size + maxHeaderSize) {
			// No try (a malloc and a setjmp in XS): send() answers -1 for a peer gone.
			const frame = writer.scratchFrame(opcode, bytes, size, fin);
			const length = writer.scratchLength;
			const written = tcp.send(frame, length);
			if (written < length) this.heldBack(frame, written);
			return true;
		} else {
			try {
				if (options.role === "client") {
					const frame = new Uint8Array(writer.frame(opcode, bytes, fin));
					const written = tcp.write(frame);
					if (written < frame.length) rest = frame.subarray(written);
				} else {
					// Both from the writer before any write: it is the server's, shared, and a write may throw (the peer gone).
					const header = writer.header(opcode, fin, size);
					const payload = size ? writer.payloadView(bytes) : bytes;
					if (tcp.write(header) < header.byteLength) throw new Error("the budget did not take a frame header"); // the platform gave a budget it then refused
					const written = size ? tcp.write(payload) : 0;
					if (written < size) rest = bytes.subarray(written);
				}
			} catch (e) {
				this.failLater(e);
				this.later();
				return true;
			}
		}
		if (rest) {
			// what the budget did not take waits, as in writeQueued
			this.queue = [rest];
			this.flags |= QUEUED | WAITING;
			this.countQueued(rest.byteLength);
		}
		return true;
	}

	/** Write what the budget takes now, in a call of the application's: what it leads to (onDrain, a close) waits until the call returned. */
	private writeNow(): void {
		try {
			this.writeQueued();
		} catch (e) {
			this.failLater(e);
		}
		if (this.flags & (DRAIN_OWED | GONE)) this.later();
	}

	/** Write queued output, as much as the budget allows. Throws ConnectionGone (tcp/connection) when the peer is gone. */
	private writeQueued(): void {
		const tcp = this.tcp;
		if (tcp.state !== "open") return;
		if (!this.queue && !this.outgoing) {
			// Nothing to write: what the loop below ends with when it has written all.
			this.flags &= ~QUEUED;
			if (this.flags & WAITING) this.flags = (this.flags & ~WAITING) | DRAIN_OWED;
			if (this.closingState === DRAIN) this.linger();
			return;
		}
		while (tcp.writable > 0) {
			let queue = this.queue;
			let head: Chunk | undefined = queue?.[0];
			if (!head) {
				if (this.closeSent || this.state !== OPEN) break;
				const frame = this.produce(); // may make the queue
				if (frame) {
					(this.queue ??= []).push(frame);
					this.flags |= QUEUED;
					this.countQueued(frame.byteLength);
				}
				queue = this.queue;
				head = queue?.[0];
				if (!head) break;
			}
			if (head === this.pongFrame) delete this.pongFrame; // being written: a newer Ping gets its own Pong
			const length = head.byteLength;
			const count = length ? tcp.write(head) : 0;
			if (count === length) queue!.shift();
			else queue![0] = (head instanceof ArrayBuffer ? new Uint8Array(head) : head).subarray(count);
			this.buffered -= count;
		}
		if (this.queue?.length || this.outgoing?.length) {
			this.flags |= WAITING; // bytes wait for budget: onDrain once they are written
			return;
		}
		this.dropQueues(); // idle: no arrays, no slots for them
		if (this.flags & WAITING) this.flags = (this.flags & ~WAITING) | DRAIN_OWED;
		if (this.closingState === DRAIN) this.linger();
	}

	/**
	 * Stream a message: the first piece after a complete message begins a new
	 * one of `type` (Opcode.TEXT or Opcode.BINARY); later pieces continue it
	 * whatever their type; `last` ends it. False when not open or the queue is full.
	 */
	sendPiece(type: MessageType, data: SendData, last: boolean): boolean {
		const bytes = typeof data === "string" ? new Uint8Array(ArrayBuffer.fromString(data)) : asBytes(data);
		return this.enqueue(this.flags & STREAMING ? Opcode.CONTINUATION : type, bytes, last, true);
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

	/**
	 * What open() was given, kept by the reader as its options (a slot less
	 * on every connection): shared by a route's connections.
	 */
	private get openOptions(): OpenOptions | undefined {
		return this.reader?.options;
	}

	/** The server's route it was opened on, until onClose has returned; undefined on a client's connection. */
	get route(): ConnectionRoute | undefined {
		return this.openOptions?.route;
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
	get established(): boolean {
		return this.tcp.established;
	}

	/** "address:port" of the peer, for logs. */
	get peer(): string {
		return this.tcp.peer;
	}

	/** Time of the last byte moved either way, or platform callback (for a server's longest-idle purge). */
	get lastActivity(): number {
		return this.tcp.lastActivity;
	}

	/** TcpHandler: bytes held and not written (with no budget, the platform owes an onWritable). */
	get pending(): number {
		return this.buffered;
	}

	/** Largest number of bytes a send queue held, of the connections sharing this one's options (ConnectionOptions.queueStats; 0 when none). */
	get maxQueued(): number {
		return this.options.queueStats?.maxQueued ?? 0;
	}

	/** Bytes accepted for sending and not yet written. */
	get bufferedAmount(): number {
		return this.buffered;
	}

	/** Whether reading is paused (pause()). */
	get paused(): boolean {
		return (this.flags & PAUSED) !== 0;
	}

	/* ------------------------------------------------------------- lifecycle */

	/** The handshake is done (called by the Handshake): messages flow to handler. */
	open(options: OpenOptions): void {
		if (this.state !== CONNECTING) return;
		this.disarm();
		this.setState(OPEN);
		if (options.protocol !== undefined) this.protocol = options.protocol;
		if (options.role !== this.role) throw new Error(`open(): options for a ${options.role}, on a ${this.role} connection`);
		this.reader = new MessageReader(this, options);
		options.handler.onOpen?.(this);
	}

	/** @internal Bytes that came with the handshake's head: the first of the messages. */
	received(rest: ArrayBuffer): void {
		const reader = this.reader;
		if (reader && !reader.stopped) reader.feed(rest);
	}

	/** @internal Answer a handshake with `response` (an HTTP refusal) and close once it is written. */
	refuse(response: string, reason: string): void {
		if (this.state !== CONNECTING) return;
		this.sendRaw(ArrayBuffer.fromString(response));
		this.drainThenClose(CloseCause.REFUSED, reason);
	}

	/**
	 * @internal Answer a plain HTTP request (websocket/http-routes): the head,
	 * then the body as given (no copy), then close once written; or, when
	 * `keep` (a persistent connection, RFC 9112 9.3), stay CONNECTING, what
	 * is unwritten written as the budget frees, for the owner to read the
	 * next request head.
	 */
	respond(head: string, body: Chunk | undefined, reason: string, keep = false): void {
		if (this.state !== CONNECTING) return;
		this.sendRaw(ArrayBuffer.fromString(head));
		if (body?.byteLength) this.sendRaw(body);
		if (!keep) this.drainThenClose(CloseCause.ANSWERED, reason);
	}

	/** @internal Set the one deadline; when it passes the connection closes with cause and reason. */
	deadline(milliseconds: number, cause: CloseCause, reason: string): void {
		this.disarm();
		if (!(milliseconds > 0)) return;
		this.timer = Timer.set(() => this.deadlinePassed(cause, reason), milliseconds);
	}

	/* ------------------------------------------------------------------ output */

	/** Send a Ping (payload up to 125 bytes). */
	ping(payload?: ArrayBuffer | Uint8Array | string): void {
		if (this.state !== OPEN) return;
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

	/** @internal Queue ready bytes (a whole control frame, an HTTP response) ahead of data not yet framed. */
	sendRaw(chunk: Chunk): void {
		if (this.state === CLOSED) return;
		(this.queue ??= []).push(chunk);
		this.flags |= QUEUED;
		this.countQueued(chunk.byteLength);
		this.writeNow();
	}

	private countQueued(bytes: number): void {
		const total = (this.buffered += bytes);
		const stats = this.options.queueStats;
		if (stats && total > stats.maxQueued) stats.maxQueued = total;
	}

	/** Next frame: at most sendBuffer bytes of the oldest message (masked by a client, 5.3). */
	private produce(): Chunk | undefined {
		const outgoing = this.outgoing;
		const message = outgoing?.[0];
		if (!message) return undefined;
		const length = message.bytes.byteLength,
			offset = message.offset;
		const sendBuffer = this.reader!.options.sendBuffer;
		const count = sendBuffer > 0 && sendBuffer < length - offset ? sendBuffer : length - offset;
		const end = offset + count;
		const opcode = offset ? Opcode.CONTINUATION : message.opcode;
		const fin = message.fin && end === length;
		message.offset = end;
		this.buffered -= count; // counted again, with its header, once queued as a frame
		if (end === length) outgoing!.shift();
		const piece = message.bytes.subarray(offset, end);
		if (this.role === "client") return this.writer.frame(opcode, piece, fin);
		// Unmasked: the header, then the payload as the caller's bytes (no copy when they are a whole buffer).
		const header = this.writer.header(opcode, fin, count);
		const queue = (this.queue ??= []);
		this.flags |= QUEUED;
		queue.push(header);
		this.countQueued(header.byteLength + count);
		if (count) queue.push(this.writer.payloadView(piece));
		return undefined;
	}

	/** No queues: an idle connection holds no arrays, nor slots for them (added again with the next send). */
	private dropQueues(): void {
		this.flags &= ~QUEUED;
		if (this.queue) delete this.queue;
		if (this.outgoing) delete this.outgoing;
	}

	/* ------------------------------------------------------------------- input */

	/** Stop reading: TCP pushes back on the peer until resume(). */
	pause(): void {
		this.flags |= PAUSED;
	}

	/** Read again: what the platform holds is read once this call has returned. */
	resume(): void {
		if (!(this.flags & PAUSED)) return;
		this.flags &= ~PAUSED;
		if (this.tcp.readable > 0) this.later();
	}

	/* ---------------------------------------------------------------- dispatch */

	/** Run dispatch() once the current call has returned: at once after it when one is running, else on the next turn. */
	private later(): void {
		if (this.flags & (DISPATCHING | SCHEDULED) || this.state === CLOSED) return;
		this.flags |= SCHEDULED;
		Timer.set(() => {
			this.flags &= ~SCHEDULED;
			this.dispatch();
		}, 0);
	}

	/** A call of the application's failed to write: the connection closes once the call returned. */
	private failLater(e: unknown): void {
		if (this.flags & GONE) return;
		this.flags |= GONE;
		if (this.closingState >= DRAIN) return; // it closes as it was closing
		const gone = e instanceof ConnectionGone;
		if (!gone) this.log.error(`Error on ${this.peer}: ${(e as Error)?.message ?? e}`);
		this.endCause = gone ? CloseCause.PEER_GONE : CloseCause.ERROR;
		this.endReason = gone ? `peer gone (${(e as Error).message})` : "internal error";
	}

	/* -------------------------------------------- the TCP connection's events */

	/** @internal The peer's FIN or reset: write what the budget takes now (a half-closed peer still reads); TCP closes once the rest is written (tcp/connection). */
	onPeerEnd(): void {
		try {
			this.writeQueued();
		} catch {
			// gone for writing too (a reset)
		}
	}

	/** @internal TCP connected (an outgoing connection): the owner sends its request. */
	connected(): void {
		this.options.owner.connected?.(this);
	}

	/**
	 * @internal TcpConnectionOwner: TCP closed. When it was not this
	 * connection that closed it (destroy), the platform did: what that means
	 * depends on where the WebSocket protocol was. error: what a TLS socket
	 * said failed (modules/secure-socket).
	 */
	closed(_tcp: unknown, cause: CloseCause, reason: string, error?: unknown): void {
		if (this.state === CLOSED) return;
		if (error) this.log.error((error as Error)?.message ?? String(error));
		if (this.closingState >= DRAIN) this.finish(this.endCause, this.endReason);
		else if (cause !== CloseCause.PEER_CLOSED) this.finish(cause, reason);
		else if (this.state === CONNECTING) this.finish(cause, this.role === "client" ? "server closed during the handshake" : reason);
		else if (this.closeSent && this.closeCode !== undefined) this.finish(CloseCause.CLOSED, `closed ${this.closeCode}`);
		else this.finish(cause, this.closeSent ? "peer closed without answering our close" : reason);
	}

	/** Called by the owner's one timer: a connection the platform has owed a callback for quietLimit ms is probed (tcp/connection). */
	check(now: number): void {
		this.tcp.check(now);
	}

	/* ----------------------------------------------------------------- closing */

	/** Start the closing handshake (7.1.2): send Close, wait up to closeTimeout for the peer's. */
	close(code: number = CloseCode.NORMAL, reason = ""): void {
		if (this.state === CONNECTING) this.destroy(CloseCause.LOCAL, "closed before the handshake completed");
		else if (this.state === OPEN) {
			this.sendClose(code, reason);
			this.closingState = AWAIT_CLOSE;
			this.deadline(this.options.closeTimeout, CloseCause.TIMEOUT, "close timeout");
		}
	}

	/** Fail the connection (7.1.7): send Close with code and reason, close TCP once it is written. */
	fail(code: number, reason: string, cause: CloseCause = CloseCause.LOCAL): void {
		if (this.state === CLOSED) return;
		this.reader?.stop();
		if (this.state === OPEN && !this.closeSent) this.sendClose(code, reason);
		this.drainThenClose(cause, reason);
	}

	/** @internal Give up on a peer that stopped answering: a Close if the budget takes it now, then TCP closes at once. */
	abandon(code: number, reason: string, cause: CloseCause = CloseCause.LOCAL): void {
		if (this.state === CLOSED) return;
		if (this.state === OPEN && !this.closeSent) this.sendClose(code, reason);
		this.destroy(cause, reason);
	}

	private sendClose(code: number, reason: string): void {
		// What was sent before the Close goes before it, framed now: no data frame may follow a Close (5.5.1).
		while (this.outgoing?.length) {
			const frame = this.produce();
			if (frame) {
				(this.queue ??= []).push(frame);
				this.flags |= QUEUED;
				this.countQueued(frame.byteLength);
			}
		}
		if (this.outgoing) delete this.outgoing;
		if (this.deferred) {
			this.buffered -= unframedBytes(this.deferred);
			this.deferred = undefined; // (only when a streamed message never got its last piece)
		}
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
		this.buffered -= unframedBytes(this.outgoing) + unframedBytes(this.deferred);
		if (this.outgoing) delete this.outgoing;
		if (this.deferred) this.deferred = undefined;
		this.deadline(this.options.closeTimeout, CloseCause.TIMEOUT, "close timeout");
		this.writeNow();
	}

	private linger(): void {
		this.closingState = LINGER;
		this.lingerDeadline = Date.now() + Math.min(this.options.closeTimeout, lingerTime);
		this.deadline(lingerQuiet, this.endCause, this.endReason);
	}

	/** @internal Close TCP now (once); logs `Connection closed: peer (reason)`. reason: for the log; default the cause. */
	destroy(cause: CloseCause = CloseCause.LOCAL, reason: string = cause): void {
		if (this.state !== CLOSED) this.finish(cause, reason);
	}

	/** The end: TCP closes (if it has not), the protocol state goes, the owner and then the handler are told. */
	private finish(cause: CloseCause, reason: string): void {
		this.setState(CLOSED);
		this.disarm();
		const reader = this.reader;
		const handler = this.openOptions?.handler;
		reader?.stop();
		this.dropQueues();

		if (this.deferred) this.deferred = undefined;
		this.buffered = 0;
		if (this.pongFrame) delete this.pongFrame;
		const tcp = this.tcp;
		try {
			if (tcp.readable) tcp.take(tcp.readable); // unread input would make the close a reset
		} catch {
			// closing anyway
		}
		tcp.close(cause, reason);
		this.log.info(`Connection closed: ${this.peer} (${reason})`);
		// The owner, then the handler, while the connection still knows its route
		// (the reader keeps the route's options); then the reader goes: a spent
		// connection holds no protocol state, whoever still refers to it.
		try {
			this.options.owner.closed(this, cause, reason);
		} catch (e) {
			this.log.error(`after closing ${this.peer}: ${(e as Error).message}`);
		}
		try {
			handler?.onClose?.(this, cause, reason); // once: the connection is CLOSED, finish() runs no more
		} catch (e) {
			this.log.error(`onClose of ${this.peer}: ${(e as Error).message}`);
		}
		if (reader) this.reader = undefined;
	}

	/** An unexpected exception, or a failed write, in the dispatch loop: log it and drop the connection (never the app). */
	private crash(e: unknown): void {
		if (e instanceof ConnectionGone) {
			if (this.closingState >= DRAIN) this.destroy(this.endCause, this.endReason);
			else this.destroy(CloseCause.PEER_GONE, `peer gone (${e.message})`);
			return;
		}
		this.log.error(`Error on ${this.peer}: ${(e as Error)?.message ?? e}`);
		try {
			this.destroy(CloseCause.ERROR, "internal error");
		} catch {
			// nothing more to do
		}
	}

	private disarm(): void {
		if (this.timer) {
			Timer.clear(this.timer);
			delete this.timer; // no property left behind on an open connection (a slot)
		}
	}

	/** @internal The deadline passed: cause and reason are what deadline() was given. */
	deadlinePassed(cause: CloseCause, reason: string): void {
		delete this.timer;
		try {
			// (an idle limit passing is an ordinary end: closed is logged, without a warning)
			if (this.closingState !== LINGER && cause !== CloseCause.IDLE) this.log.warn(`${reason[0].toUpperCase()}${reason.slice(1)}, dropping ${this.peer}`);
			this.destroy(cause, reason);
		} catch (e) {
			this.crash(e);
		}
	}

	/* -------------------------------------------------- MessageReader events */

	/** @internal Ping: answer with a Pong carrying the same payload (5.5.2). */
	onPing(payload: ArrayBuffer): void {
		if (this.state !== OPEN) return;
		const frame = this.writer.pong(payload);
		const queue = this.queue;
		const pending = this.pongFrame && queue ? queue.indexOf(this.pongFrame) : -1;
		this.pongFrame = frame;
		if (pending >= 0) {
			this.buffered += frame.byteLength - queue![pending].byteLength;
			queue![pending] = frame;
		} else this.sendRaw(frame);
	}

	/** @internal */
	onPong(payload: ArrayBuffer): void {
		if (this.pingSent !== undefined) delete this.pingSent; // no property left behind on an idle connection (a slot)
		const handler = this.openOptions!.handler;
		if (handler.onPong) handler.onPong(this, payload);
	}

	/** @internal The peer's Close (5.5.1): answer it with its code, then close TCP (7.1.1). */
	onCloseFrame(code: number | undefined, reason: string): void {
		this.closeCode = code ?? CloseCode.NO_STATUS;
		this.peerCloseReason = reason;
		this.log.info(`Received close ${this.closeCode} "${reason}" from ${this.peer}`);
		const wasOpen = this.state === OPEN;
		if (!this.closeSent) this.sendClose(code ?? CloseCode.NORMAL, "");
		if (wasOpen || this.closingState === AWAIT_CLOSE) {
			const handler = this.openOptions!.handler;
			if (handler.onCloseFrame) handler.onCloseFrame(this, this.closeCode, reason);
		}
		if (this.state === CLOSED) return;
		if (this.role === "server")
			this.drainThenClose(CloseCause.CLOSED, `closed ${this.closeCode}`); // TCP closes first on the server (7.1.1), after a linger
		else {
			this.closingState = AWAIT_CLOSE;
			this.deadline(this.options.closeTimeout, CloseCause.TIMEOUT, "close timeout"); // the server closes TCP first
		}
	}

	/** @internal A protocol violation: fail the connection with the reader's close code. */
	onProtocolError(closeCode: number, reason: string): void {
		this.log.warn(`Protocol error from ${this.peer}: ${reason} (close ${closeCode})`);
		const handler = this.openOptions!.handler;
		// The handler hears of it once the connection is failing (7.1.7: no more data from us), as
		// it hears of a Close once answered: a send inside onProtocolError is refused, never put before the Close.
		const closing = this.closeSent;
		if (!closing) this.fail(closeCode, reason, CloseCause.PROTOCOL_ERROR);
		if (handler.onProtocolError) handler.onProtocolError(this, closeCode, reason);
		if (closing) this.destroy(CloseCause.PROTOCOL_ERROR, `protocol error: ${reason}`);
	}
}
