/*
 * One TCP connection: the one object that owns the socket, its write budget
 * and its states, and reports to two parties: its owner (a server or a
 * client: how the connection came up and how it ended) and its handler (the
 * application: bytes to read, budget to write). This is the only place in
 * tcp/ that constructs a socket: accepted (`from`) or outgoing
 * (`address`, `port`).
 *
 * States, explicit: "connecting" (outgoing, no budget yet) → "open" (the
 * first budget) → "closed" (once, with a cause: tcp/close-cause). A peer's
 * FIN or reset gives the handler onPeerEnd() while still open, to write what
 * it holds; it closes once that is written (below, half-close).
 *
 * Reading: the handler reads into a buffer it keeps, read(view), never a new
 * ArrayBuffer per read; `readable` says how many bytes wait. Writing:
 * write(view) writes as much as the budget (`writable`) allows and says how
 * much; onWritable says when there is more. A handler that leaves bytes
 * unread or holds bytes it cannot write is pushed back on: the platform's
 * receive buffer fills and TCP stops the peer.
 *
 * Failed writes: both SDK implementations (lin tcp.c, lwip tcp.c) return
 * the remaining budget from write() and nothing at all when the socket has
 * failed, and on the simulator such a failure is never reported through
 * onError. A write that returns no number therefore ends the connection
 * (ConnectionGone, thrown to the handler's caller here, which closes), and
 * the platform's socket is closed and let go at once: nothing is written to
 * it again. On the simulator a second write to a socket the peer reset is
 * the kernel's EPIPE, and its SIGPIPE ends a debug build (the SDK's xsbug
 * connection, lin_xs.c fxConnect, leaves SIGPIPE at its default; lin tcp.c
 * writes without MSG_NOSIGNAL): a request answered after its client reset
 * did.
 *
 * Dead peers. The platforms report a reset or a FIN through onError, but
 * not always (the README's platform notes): the simulator (lin tcp.c)
 * reports onError only if nothing was buffered when it found the error,
 * never for an error found by write(), and stops polling a failed socket:
 * no onReadable, onWritable or onError ever after. So a connection that the
 * platform owes a callback (bytes the handler cannot write, bytes it cannot
 * read, or bytes written and no budget back) for `quietLimit` ms is asked
 * by its owner with probe(): a zero-length write, which the platform
 * refuses once the connection is gone (lin: the kernel's EPIPE after a
 * reset; lwip: the error state, "not ready") and otherwise answers with the
 * budget it has now, which the simulator may have refilled without a
 * callback.
 *
 * Half-close (the peer's FIN, RFC 9293 3.6: it still reads): on onError the
 * budget is learnt with a zero-length write (refused after a reset) and the
 * handler gets onPeerEnd() for every peer end, FIN or reset, on every
 * platform, with no budget where the platform refuses writes (a reset): it
 * writes what it still holds, as far as the budget takes it. What the budget
 * did not take is written as budget comes back (onWritable: lwip with the
 * kit's patched tcp.c, the Node host), and the connection closes once the
 * handler holds nothing more. A platform that gives no more budget after the
 * FIN (the simulator) is found by the probe: a probe that moves nothing
 * closes it, and what is held is lost.
 *
 * ECMA-419 style: the socket's callbacks are prototype functions reaching
 * this object as `this.target`; no closure per connection.
 */

import type TCP from "embedded:io/socket/tcp";
import { type Log, peerName } from "modules/log";
import { openSocket, type PlatformSocket, type TlsOptions } from "modules/secure-socket";
import type { TlsServerCredentials } from "modules/tls-credentials";
import { CloseCause } from "tcp/close-cause";

/** A connection the platform owes a callback this long is checked (ms): the simulator polls every 20. */
export const quietLimit = 500;

/** How often an owner checks for idle and quiet connections, for an idle timeout (ms; 0: none). */
export function sweepInterval(idleTimeout: number): number {
	return idleTimeout > 0 ? Math.min(quietLimit, Math.max(50, idleTimeout >> 2)) : quietLimit;
}

/** The connection is gone: a write failed. */
export class ConnectionGone extends Error {}

export type TcpConnectionState = "connecting" | "open" | "closed";

/** The application's side of one connection. Every method runs inside the connection's guard. */
export interface TcpHandler {
	/** Bytes it holds and has not written: with no budget, the platform owes an onWritable (dead-peer probing). */
	readonly pending?: number;
	/** For an owner that retries (TcpClient): whether this connection did useful work (the backoff starts over). */
	succeeded?(connection: TcpConnection): boolean;
	/** Bytes wait: connection.readable. Read what you can take now with connection.read(view). */
	onReadable(connection: TcpConnection): void;
	/** The write budget: connection.writable (also after a probe found the platform refilled it). */
	onWritable?(connection: TcpConnection): void;
	/** The peer ended (FIN) or reset: write what you hold, as far as the budget takes it; the connection closes once `pending` is 0 (onWritable brings more budget until then). */
	onPeerEnd?(connection: TcpConnection): void;
	/** Closed: the last event, once. reason: a few words for a log. */
	onClose?(connection: TcpConnection, cause: CloseCause, reason: string): void;
	/** A few words for the owner's closing log line ("1024 bytes echoed"). */
	summary?(connection: TcpConnection): string;
}

/** What makes a handler for each connection a server serves or a client opens. */
export interface TcpService {
	open(connection: TcpConnection): TcpHandler;
}

/** The owner's side: a server or a client. */
export interface TcpConnectionOwner {
	/** The owner's log, which its connections' handlers log to as well. */
	readonly log: Log;
	/** An outgoing connection came up (its first write budget). */
	connected?(connection: TcpEndpoint): void;
	/** The connection closed (before the handler's onClose); `error`: the exception that closed it, if one did. */
	closed(connection: TcpEndpoint, cause: CloseCause, reason: string, error?: unknown): void;
}

/** An accepted socket (over TLS with a server's credentials), or an address to connect to (over TLS with a CA). */
export type TcpConnectionOptions = ({ from: TCP; tls?: TlsServerCredentials } | { address: string; port: number; tls?: TlsOptions }) & {
	owner: TcpConnectionOwner;
	/**
	 * The handler, when it is the owner as well: a protocol on TCP (a
	 * WebSocket connection) is both. The connection then keeps one reference
	 * for the two, a slot less on every connection of that protocol. Such a
	 * handler guards its own events: its onReadable and onWritable must
	 * never throw (the connection calls them unguarded).
	 */
	handler?: TcpHandler & TcpConnectionOwner;
	/** Peer name for logs; default address:port of the socket. */
	peer?: string;
	/** Turn Nagle's algorithm off: for a protocol that writes a message as several small writes (a header, then a payload). */
	nodelay?: boolean;
};

/** What the socket's callbacks see as `this`. */
type SocketThis = TCP & { target: TcpEndpoint };

const nothing = new ArrayBuffer(0);

/**
 * A TCP connection as its handler sees it: what an application may read and
 * call; the rest belongs to the library. close() ends it: the socket closes
 * at once (what is not written yet is lost: write it first, within the
 * budget), and the handler's onClose follows: once the event that called
 * close() has returned (from elsewhere, a timer of the handler's: before
 * close() returns).
 */
export interface TcpConnection {
	/** "address:port" of the peer, for logs. */
	readonly peer: string;
	/** "connecting" (outgoing, not up yet), "open", or "closed". */
	readonly state: TcpConnectionState;
	/** Bytes waiting to be read. */
	readonly readable: number;
	/** The write budget now: write() takes at most this many bytes. */
	readonly writable: number;
	/** Bytes read so far. */
	readonly bytesRead: number;
	/**
	 * Time of the last byte moved either way, or platform callback (Date.now()),
	 * as of the first time it is read after it: the clock is read when this
	 * is asked (an owner's periodic check), not for every byte moved.
	 */
	readonly lastActivity: number;
	/** The log of the server or client that owns the connection. */
	readonly log: Log;
	/** Read up to view.byteLength waiting bytes into view (a buffer the handler keeps); how many. length: view.length, when the caller knows it. */
	read(view: Uint8Array, length?: number): number;
	/** Write as much of data as the budget allows; how much. onWritable says when there is budget again. length: data.byteLength, when the caller knows it (a typed array's byteLength is a native getter's call). */
	write(data: Uint8Array | ArrayBuffer, length?: number): number;
	/** Close now (once); cause default CloseCause.LOCAL, reason: words for the log. */
	close(cause?: CloseCause, reason?: string): void;
}

/* TcpEndpoint's flags: the state (bits 0-1) and the marks below, in one number (one slot). */
const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;
const STATE_BITS = 0x3;
/** A platform callback is running the handler: a close() then reports once the callback is done. */
const IN_EVENT = 0x4;
/** An outgoing connection that closed before it came up. */
const NEVER_OPEN = 0x8;
/** A close() made inside an event waits to be reported (closedWith). */
const CLOSED_IN_EVENT = 0x10;
/** Bytes moved or a platform callback since lastActivity was last read: its next read stamps the time. */
const ACTIVE = 0x20;
/** The peer's FIN came while the handler still held bytes: the connection closes once they are written. */
const PEER_ENDED = 0x40;
/**
 * The handler is the owner too (TcpConnectionOptions.handler: a protocol on
 * TCP), and guards its own onReadable and onWritable: they never throw, and
 * a close inside them reaches the owner, which is the handler itself, as it
 * returns. So the connection calls them without a guard or an IN_EVENT mark
 * of its own (a try costs a malloc and a setjmp in XS, on every platform
 * callback).
 */
const GUARDED = 0x80;
/** The platform's write() runs with no try of write()'s own (inside an event of the connection's, which has one): an exception now is its refusal. */
const WRITING = 0x100;
/** Bytes were written since the platform last reported a budget (it owes one: quiet()). A mark, not a count: set with ACTIVE in the same store. */
const UNCONFIRMED = 0x200;
const stateNames: readonly TcpConnectionState[] = Object.freeze(["connecting", "open", "closed"]);

export class TcpEndpoint implements TcpConnection {
	// Memory: each property is a slot on every connection (16 bytes on a
	// board), so there are no more than the states need, and TypeScript
	// `private` rather than `#` fields (an instance with # fields carries one
	// more slot for them). The marks a callback sets and clears are bits of
	// flags: a property added and deleted per callback is a slot allocated
	// per callback.
	// Hot fields first: XS finds a property by walking them in creation order.
	/** The state (CONNECTING, OPEN, CLOSED) and the marks above. */
	/** @internal (the socket callbacks below) */
	flags: number;
	/** Bytes the platform holds, not read yet. */
	readable = 0;
	/** The write budget now (0 once closed). */
	writable = 0;
	private socket: PlatformSocket | undefined;
	handler: TcpHandler | undefined;
	/**
	 * lastActivity: the time of the last byte moved either way or platform
	 * callback, for idle timeouts and for quiet() (a platform that owes a
	 * callback has made none since). One field for both, a slot less on
	 * every connection: a callback that moves nothing is rare on an idle
	 * connection, and on a stalled one it is the platform speaking, which is
	 * what quiet() asks. Moving bytes only sets ACTIVE; reading lastActivity
	 * stamps the time then (a Date.now() per read, write or callback cost as
	 * much as a short write; its readers are periodic checks, which lag by
	 * their period anyway).
	 */
	private activity = Date.now();
	bytesRead = 0;
	readonly peer: string;
	/** The owner, when it is not the handler (TcpConnectionOptions.handler): see owner. */
	declare private ownOwner: TcpConnectionOwner | undefined;
	/** A close made inside an event, reported when it returns: cause, reason, error. */
	declare private closedWith?: [CloseCause, string, unknown];
	/** Why send() answered -1 (set then only: a slot on a connection found gone). */
	declare goneReason?: string;

	constructor(options: TcpConnectionOptions) {
		const from = "from" in options ? options.from : undefined;
		this.flags = from ? OPEN : CONNECTING;
		if (options.handler && options.handler === options.owner) {
			this.handler = options.handler;
			this.flags |= GUARDED;
		} else this.ownOwner = options.owner;
		this.peer =
			options.peer ??
			(from ? peerName(from.remoteAddress, from.remotePort) : peerName((options as { address: string }).address, (options as { port: number }).port));
		const to = options as { address: string; port: number; tls?: TlsOptions };
		this.socket = openSocket({
			...(from ? { from, tls: (options as { tls?: TlsServerCredentials }).tls } : { address: to.address, port: to.port, tls: to.tls }),
			...(options.nodelay ? { nodelay: true } : undefined),
			target: this,
			onReadable: socketReadable,
			onWritable: socketWritable,
			onError: socketError,
		});
	}

	// Hot methods first (read, take, send, write, the platform's events): XS finds a
	// method by walking the prototype in declaration order (websocket/connection).

	/** Read up to view.byteLength waiting bytes into view; how many. length: view.length, when the caller knows it (a typed array's length is a native getter's call). */
	read(view: Uint8Array, length: number = view.length): number {
		const socket = this.socket;
		const readable = this.readable;
		const count = length < readable ? length : readable;
		if (!count || !socket) return 0;
		socket.read(count === length ? view : view.subarray(0, count)); // (lwip refuses a buffer longer than what it holds)
		this.readable = readable - count;
		this.bytesRead += count;
		const flags = this.flags;
		if (!(flags & ACTIVE)) this.flags = flags | ACTIVE; // (set already inside the platform's callback: a store less per read)
		return count;
	}

	/**
	 * Read up to count waiting bytes as a buffer of their own (a protocol
	 * that hands the bytes on without copying them); undefined when none.
	 */
	take(count: number): ArrayBuffer | undefined {
		const socket = this.socket;
		const readable = this.readable;
		if (count > readable) count = readable;
		if (!count || !socket) return undefined;
		const chunk = socket.read(count) as ArrayBuffer | undefined;
		this.readable = readable - count;
		if (!chunk) return undefined;
		this.bytesRead += chunk.byteLength;
		this.flags |= ACTIVE;
		return chunk;
	}

	/**
	 * write(), for a caller outside the connection's events, which an
	 * exception would reach (a protocol's send, called by its application):
	 * -1 where write() throws ConnectionGone (the socket let go just the
	 * same; goneReason says why), and 0 where the platform refuses a write
	 * its budget allowed ("would block": no budget until its next
	 * onWritable), so that the caller needs no try of its own (in XS a try
	 * costs a malloc and a setjmp). length: data.byteLength, which the caller
	 * knows (a typed array's byteLength is a native getter's call).
	 */
	send(data: Uint8Array | ArrayBuffer, length: number): number {
		const writable = this.writable; // (0 once closed)
		if (length > writable || !length)
			return length && writable ? this.send(data instanceof ArrayBuffer ? new Uint8Array(data, 0, writable) : data.subarray(0, writable), writable) : 0;
		let left: unknown;
		try {
			left = this.socket!.write(data);
		} catch (e) {
			if (String((e as Error)?.message).includes("would block")) {
				this.writable = 0; // a budget the platform then refused: none now, more with its next onWritable
				return 0;
			}
			this.goneReason = this.refused(e);
			return -1;
		}
		if (typeof left !== "number") {
			this.letGoOfSocket();
			this.goneReason = "write failed";
			return -1;
		}
		const rest = writable - length;
		this.writable = rest < left ? rest : left;
		this.flags |= ACTIVE | UNCONFIRMED;
		return length;
	}

	/** Write as much of data as the budget allows; how much. Throws ConnectionGone when the socket failed. length: data.byteLength, when the caller knows it (see send). */
	write(data: Uint8Array | ArrayBuffer, length: number = data.byteLength): number {
		const writable = this.writable; // (0 once closed)
		if (length > writable || !length)
			return length && writable ? this.write(data instanceof ArrayBuffer ? new Uint8Array(data, 0, writable) : data.subarray(0, writable), writable) : 0;
		const flags = this.flags;
		let left: unknown;
		if ((flags & (IN_EVENT | GUARDED)) === IN_EVENT) {
			// Inside one of the connection's own events, which has its try around the
			// handler: no try here (a malloc and a setjmp in XS, per write). A write the
			// platform refuses (lwip after a reset) reaches that try, and WRITING tells
			// failed() that it was the platform's write.
			this.flags = flags | WRITING; // (cleared below, in the same store as ACTIVE)
			left = this.socket!.write(data);
		} else
			try {
				left = this.socket!.write(data);
			} catch (e) {
				throw new ConnectionGone(this.refused(e));
			}
		// (flags read again: a platform that called back from inside its write may have changed them)
		if (typeof left !== "number") {
			this.flags &= ~WRITING;
			this.letGoOfSocket();
			throw new ConnectionGone("write failed");
		}
		const rest = writable - length;
		this.writable = rest < left ? rest : left;
		this.flags = (this.flags & ~WRITING) | ACTIVE | UNCONFIRMED;
		return length;
	}

	onReadable(bytes: number): void {
		const flags = this.flags;
		if ((flags & (STATE_BITS | IN_EVENT | GUARDED)) === (OPEN | GUARDED)) {
			// A protocol's connection: its handler guards its events and reports its own close
			// (a close inside it needs no IN_EVENT to wait for it): no try, no mark set and cleared.
			this.readable = bytes;
			this.flags = flags | ACTIVE;
			this.handler!.onReadable(this);
			return;
		}
		if ((flags & (STATE_BITS | IN_EVENT)) !== OPEN) {
			this.otherReadable(flags, bytes);
			return;
		}
		this.readable = bytes;
		this.flags = flags | IN_EVENT | ACTIVE;
		try {
			this.handler?.onReadable(this);
		} catch (e) {
			this.failed(e, "read");
		}
		if ((this.flags &= ~IN_EVENT) & CLOSED_IN_EVENT) this.reportLate();
	}

	onWritable(bytes: number): void {
		const flags = this.flags;
		if ((flags & (STATE_BITS | IN_EVENT | GUARDED | PEER_ENDED)) === (OPEN | GUARDED)) {
			// A protocol's connection (as onReadable)
			this.writable = bytes;
			this.flags = (flags & ~UNCONFIRMED) | ACTIVE;
			this.handler!.onWritable?.(this);
			return;
		}
		if ((flags & (STATE_BITS | IN_EVENT)) !== OPEN) {
			this.otherWritable(flags, bytes);
			return;
		}
		this.writable = bytes;
		this.flags = (flags & ~UNCONFIRMED) | IN_EVENT | ACTIVE;
		try {
			this.handler?.onWritable?.(this);
			if (flags & PEER_ENDED) this.closeIfWritten();
		} catch (e) {
			this.failed(e, "write");
		}
		if ((this.flags &= ~IN_EVENT) & CLOSED_IN_EVENT) this.reportLate();
	}

	/** "connecting" (outgoing, not up yet), "open", or "closed". */
	get state(): TcpConnectionState {
		return stateNames[this.flags & STATE_BITS];
	}

	/** The server or client the connection reports to (TcpConnectionOptions.handler: or its handler). */
	get owner(): TcpConnectionOwner {
		return this.ownOwner ?? (this.handler as TcpHandler & TcpConnectionOwner);
	}

	get log(): Log {
		return this.owner.log;
	}

	/** Whether it was ever open (an outgoing one: came up). */
	get established(): boolean {
		const flags = this.flags;
		return (flags & STATE_BITS) === OPEN || ((flags & STATE_BITS) === CLOSED && !(flags & NEVER_OPEN));
	}

	/** Bytes the handler holds and the platform cannot take, or bytes waiting that the handler cannot take. */
	get stalled(): boolean {
		return ((this.handler?.pending ?? 0) > 0 && this.writable === 0) || this.readable > 0;
	}

	/** Whether the platform owes a callback and has been quiet for quietLimit ms. */
	quiet(now: number): boolean {
		return (this.flags & STATE_BITS) === OPEN && (this.stalled || (this.flags & UNCONFIRMED) !== 0 || !this.socket) && now - this.lastActivity >= quietLimit;
	}

	/** Time of the last byte moved either way or platform callback, as of now (see activity). */
	get lastActivity(): number {
		if (this.flags & ACTIVE) {
			this.flags &= ~ACTIVE;
			this.activity = Date.now();
		}
		return this.activity;
	}

	/**
	 * Called by the owner's one timer: a quiet connection is probed, and
	 * closed when the probe finds it gone, or, after the peer's FIN, when the
	 * probe moves nothing (the platform takes no more).
	 */
	check(now: number): void {
		if (!this.quiet(now)) return;
		const held = this.handler?.pending ?? 0;
		if (!this.probe()) this.close(CloseCause.PEER_GONE, "peer gone (found by a probe)");
		else if (this.flags & PEER_ENDED && this.state === "open" && (this.handler?.pending ?? 0) >= held)
			this.close(CloseCause.PEER_CLOSED, "peer closed or reset");
	}

	/**
	 * Whether the connection still exists, asked with a zero-length write,
	 * whose answer is also the platform's budget now (which the simulator may
	 * have refilled without a callback); then the handler moves what it can.
	 */
	probe(): boolean {
		const outer = this.begin();
		try {
			if (!this.learnBudget()) return false;
			this.handler?.onWritable?.(this);
			this.closeIfWritten();
			return true;
		} catch {
			return false;
		} finally {
			this.end(outer);
		}
	}

	/** The platform's write threw: a budget mistake (ours) is thrown again; otherwise the socket is let go; why, for ConnectionGone. */
	private refused(e: unknown): string {
		// lwip after a reset: "not ready". A "would block" is a budget mistake, ours.
		if (String((e as Error)?.message).includes("would block")) throw e;
		this.letGoOfSocket();
		return `write refused: ${(e as Error)?.message}`;
	}

	/** A write failed: close the platform's socket and keep it no more, so no byte goes to it again; the connection closes when its caller closes it (ConnectionGone), or at its owner's next check. */
	private letGoOfSocket(): void {
		const socket = this.socket;
		this.socket = undefined;
		this.writable = 0;
		try {
			socket?.close();
		} catch {
			// failed already
		}
	}

	/**
	 * Close the socket (once) and report to the handler (onClose) and the
	 * owner: at once, or, when called from inside one of the handler's
	 * events, once that event has returned. reason: for the log; default the cause.
	 */
	close(cause: CloseCause = CloseCause.LOCAL, reason: string = cause, error?: unknown): void {
		const flags = this.flags;
		if ((flags & STATE_BITS) === CLOSED) return;
		this.flags = (flags & ~STATE_BITS) | CLOSED | ((flags & STATE_BITS) === CONNECTING ? NEVER_OPEN : 0);
		this.writable = 0;
		const socket = this.socket;
		this.socket = undefined;
		try {
			socket?.close();
		} catch {
			// already closed by the platform
		}
		if (flags & IN_EVENT) {
			this.closedWith = [cause, reason, error];
			this.flags |= CLOSED_IN_EVENT;
		} else this.report(cause, reason, error);
	}

	/** The close, to the handler and then the owner. */
	private report(cause: CloseCause, reason: string, error: unknown): void {
		let handlerError: unknown;
		try {
			this.handler?.onClose?.(this, cause, reason);
		} catch (e) {
			handlerError = e;
		}
		this.owner.closed(this, cause, reason, error ?? handlerError); // the owner logs an error
	}

	private learnBudget(): boolean {
		const left: unknown = this.socket?.write(nothing);
		if (typeof left !== "number") return false;
		this.writable = left;
		return true;
	}

	/** A handler's exception closes this connection only; a failed write is a peer gone. */
	failed(e: unknown, doing: "read" | "write"): void {
		const flags = this.flags;
		if (flags & WRITING) {
			// the platform refused a write() made without a try of its own (write)
			this.flags = flags & ~WRITING;
			if (!String((e as Error)?.message).includes("would block")) e = new ConnectionGone(this.refused(e));
		}
		if (e instanceof ConnectionGone) this.close(CloseCause.PEER_GONE, `peer gone (${e.message})`);
		else this.close(CloseCause.ERROR, `${doing} failed: ${(e as Error)?.message ?? e}`, e);
	}

	/** A platform callback begins running the handler; false when one already is (the outer one reports). */
	private begin(): boolean {
		if (this.flags & IN_EVENT) return false;
		this.flags |= IN_EVENT;
		return true;
	}

	/** The outer callback is done: a close made inside it is reported now. */
	private end(outer: boolean): void {
		if (!outer) return;
		const flags = (this.flags &= ~IN_EVENT);
		if (flags & CLOSED_IN_EVENT) this.reportLate();
	}

	/** @internal A close made inside an event, reported now that the event returned. */
	reportLate(): void {
		this.flags &= ~CLOSED_IN_EVENT;
		const closed = this.closedWith!;
		delete this.closedWith;
		this.report(closed[0], closed[1], closed[2]);
	}

	/** onReadable when closed (nothing), not yet open, or from inside another callback (the outer one reports). */
	private otherReadable(flags: number, bytes: number): void {
		if ((flags & STATE_BITS) === CLOSED) return;
		this.flags |= ACTIVE;
		this.readable = bytes;
		const outer = this.begin();
		try {
			this.handler?.onReadable(this);
		} catch (e) {
			this.failed(e, "read");
		} finally {
			this.end(outer);
		}
	}

	/** onWritable when closed (nothing), the first budget of an outgoing connection (it comes up), or from inside another callback. */
	private otherWritable(flags: number, bytes: number): void {
		if ((flags & STATE_BITS) === CLOSED) return;
		this.flags = (this.flags & ~UNCONFIRMED) | ACTIVE;
		this.writable = bytes;
		const outer = this.begin();
		try {
			if ((flags & STATE_BITS) === CONNECTING) {
				this.flags = (this.flags & ~STATE_BITS) | OPEN;
				this.owner.connected?.(this);
				if ((this.flags & STATE_BITS) !== OPEN) return; // the owner closed it
			}
			this.handler?.onWritable?.(this);
			this.closeIfWritten();
		} catch (e) {
			this.failed(e, "write");
		} finally {
			this.end(outer);
		}
	}

	/** cause: what a TLS socket says failed (a certificate, the handshake; modules/secure-socket); TCP says nothing. */
	onError(cause?: Error): void {
		const state = this.flags & STATE_BITS;
		if (state === CLOSED) return;
		if (state === CONNECTING) {
			this.close(CloseCause.CONNECT_FAILED, cause?.message ?? "connection refused or unreachable", cause);
			return;
		}
		const outer = this.begin();
		if (!(this.flags & PEER_ENDED) && this.writeHeld() && !cause)
			this.flags |= PEER_ENDED; // the rest as budget comes back (onWritable), then close
		else this.close(cause ? CloseCause.PROTOCOL_ERROR : CloseCause.PEER_CLOSED, cause?.message ?? "peer closed or reset", cause); // cause: TLS failed
		this.end(outer);
	}

	/**
	 * The peer ended: the handler writes back what the peer sent before its
	 * FIN, as far as the budget takes it (none after a reset: the budget is
	 * refused). Whether it still holds bytes.
	 */
	private writeHeld(): boolean {
		let writable = true;
		try {
			if (!this.learnBudget()) writable = false;
		} catch {
			writable = false; // gone for writing too (a reset)
		}
		if (!writable) this.writable = 0;
		try {
			// Every peer end, whatever the platform still takes: a FIN's handler writes back what the
			// peer sent before it, as far as the budget goes (none after a reset).
			this.handler?.onPeerEnd?.(this);
			return writable && this.state === "open" && (this.handler?.pending ?? 0) > 0;
		} catch {
			return false; // gone: what is held is lost
		}
	}

	/** After the peer's FIN: close once the handler has written everything it held. */
	private closeIfWritten(): void {
		if (this.flags & PEER_ENDED && this.state === "open" && !(this.handler?.pending ?? 0)) this.close(CloseCause.PEER_CLOSED, "peer closed or reset");
	}
}

// The common states are served here, without the call to the connection's method:
// these run for every read and every budget. A protocol's connection (GUARDED) is
// called unguarded; any other handler in one try per platform callback.

function socketReadable(this: SocketThis, bytes: number): void {
	const connection = this.target;
	const flags = connection.flags;
	const state = flags & (STATE_BITS | IN_EVENT | GUARDED);
	if (state === (OPEN | GUARDED)) {
		connection.readable = bytes;
		connection.flags = flags | ACTIVE;
		connection.handler!.onReadable(connection);
	} else if (state === OPEN) {
		connection.readable = bytes;
		connection.flags = flags | IN_EVENT | ACTIVE;
		try {
			connection.handler?.onReadable(connection);
		} catch (e) {
			connection.failed(e, "read");
		}
		if ((connection.flags &= ~IN_EVENT) & CLOSED_IN_EVENT) connection.reportLate();
	} else connection.onReadable(bytes);
}

function socketWritable(this: SocketThis, bytes: number): void {
	const connection = this.target;
	const flags = connection.flags;
	const state = flags & (STATE_BITS | IN_EVENT | GUARDED | PEER_ENDED);
	if (state === (OPEN | GUARDED)) {
		connection.writable = bytes;
		connection.flags = (flags & ~UNCONFIRMED) | ACTIVE;
		connection.handler!.onWritable?.(connection);
	} else if (state === OPEN) {
		connection.writable = bytes;
		connection.flags = (flags & ~UNCONFIRMED) | IN_EVENT | ACTIVE;
		try {
			connection.handler?.onWritable?.(connection);
		} catch (e) {
			connection.failed(e, "write");
		}
		if ((connection.flags &= ~IN_EVENT) & CLOSED_IN_EVENT) connection.reportLate();
	} else connection.onWritable(bytes);
}

function socketError(this: SocketThis, error?: Error): void {
	this.target.onError(error);
}
