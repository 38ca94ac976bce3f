/*
 * What the kit's two TLS sockets share, client (modules/tls-socket.ts) and
 * server (modules/tls-server-socket.ts): the ECMA-419 TCP socket's API over
 * one SSLSession of Moddable's TLS engine (ssl/session) and one TCP socket.
 * Each role makes its session and socket and takes its handshake steps;
 * everything after the handshake, and every way a connection fails, is here.
 *
 * It follows the SDK's `embedded:io/socket/tcp/tls`
 * ($(MODDABLE)/examples/io/tcp/tlssocket/tlssocket.js): reads of one record
 * at a time, a write budget under TCP's by a record's overhead. It differs
 * where that socket cannot serve a device that must keep running:
 * - A failed handshake (a certificate refused, a TLS error, an alert from
 *   the peer, bytes that are not TLS) threw out of the platform callback,
 *   which aborts XS ("XS abort: unhandled exception", the whole app gone).
 *   Here every callback catches, and onError(error) receives an Error whose
 *   message says the cause.
 * - An alert during the handshake made the SDK socket report itself ready
 *   (session.handshake() returns true then too): here it is a failure.
 * - The budget stays 96 bytes under TCP's after a write too (the SDK
 *   socket's 32 is less than a CBC record's overhead).
 * - write() returns undefined once TCP refused the record (the SDK socket
 *   returned NaN), and a zero-length write asks TCP for its budget without
 *   sending an empty record: the probes of websocket/connection.ts and
 *   tcp/connection.ts work as on a TCP socket.
 * - onError(error): the ECMA-419 callback with one argument added, the
 *   cause. It comes once; after it no other callback comes.
 */

import type TCP from "embedded:io/socket/tcp";
import type Session from "ssl/session";
import Timer from "timer";

/**
 * Room left in TCP's budget for a record's own bytes: header 5, and with
 * GCM nonce 8 + tag 16, with CBC IV 16 + MAC up to 48 (SHA-384) + padding
 * up to 16. The SDK socket leaves 96 at first but 32 after each write,
 * too little for CBC: a record written to the full budget would then not
 * fit TCP's.
 */
const recordOverhead = 96;
const nothing = new ArrayBuffer(0);

/** The callbacks both roles take (ECMA-419, onError with its cause). */
export interface TlsCallbacks<Self> {
	target?: unknown;
	onReadable?: (this: Self, bytes: number) => void;
	onWritable?: (this: Self, bytes: number) => void;
	onError?: (this: Self, error?: Error) => void;
}

/** The TCP socket with the counters the session updates. */
export type Wire = TCP & { readable: number; writable: number; target: TlsRecordSocket };

/*
 * The TCP socket's callbacks, one function each for every connection (in
 * flash, preloaded) rather than closures made per connection; they reach
 * their socket as this.target (the ECMA-419 target option). Members are
 * TypeScript `protected`/`private`, not `#`: XS gives every instance a slot
 * for each # field and each #method.
 */
export function wireReadable(this: Wire, bytes: number): void {
	this.target.tcpReadable(bytes);
}

export function wireWritable(this: Wire, bytes: number): void {
	this.target.tcpWritable(bytes);
}

export function wireError(this: Wire): void {
	this.target.tcpError();
}

export abstract class TlsRecordSocket {
	target: unknown;
	/** address:port of the peer, for causes. */
	protected readonly peer: string;
	protected readonly callbacks: TlsCallbacks<TlsRecordSocket>;
	protected tcp: Wire | undefined;
	protected session: Session | undefined;
	protected connected = false;
	protected ready = false;
	protected failed = false;
	/** Decrypted bytes of the current record, from position. */
	private data: Uint8Array | undefined;
	private position = 0;
	/** Reading the next record waits for the next turn once the app read this one. */
	private next: Timer | undefined;

	constructor(callbacks: TlsCallbacks<TlsRecordSocket>, peer: string) {
		this.callbacks = callbacks;
		this.target = callbacks.target;
		this.peer = peer;
	}

	/** One step of the role's handshake: `read`, TCP said bytes wait; else it gave budget. */
	protected abstract handshake(read: boolean): void;
	/** Why TCP ended before the handshake completed. */
	protected abstract endedDuringHandshake(): string;
	/** "client" or "server": the peer, in causes. */
	protected abstract peerRole(): string;

	/**
	 * ECMA-419 read: read(count) or read() returns a new buffer; read(buffer) fills the
	 * buffer (or view) given, up to what is waiting, and returns how many bytes it took.
	 */
	read(what?: number | ArrayBuffer | ArrayBufferView): ArrayBuffer | number | undefined {
		const data = this.data;
		if (!data) return undefined;
		const available = data.byteLength - this.position;
		let result: ArrayBuffer | number;
		let count: number;
		if (typeof what === "object") {
			const target = what instanceof ArrayBuffer ? new Uint8Array(what) : new Uint8Array(what.buffer, what.byteOffset, what.byteLength);
			count = Math.min(target.byteLength, available);
			target.set(data.subarray(this.position, this.position + count));
			result = count;
		} else {
			count = what ?? available;
			if (count > available) throw new RangeError("invalid");
			result = data.slice(this.position, this.position + count).buffer;
		}
		this.position += count;
		if (this.position === data.byteLength) {
			this.data = undefined;
			if (this.tcp?.readable)
				this.next ??= Timer.set(() => {
					this.next = undefined;
					if (this.tcp?.readable) this.tcpReadable(this.tcp.readable);
				});
		}
		return result;
	}

	/**
	 * Send data as one record; the budget left, or undefined once the connection failed.
	 * Before the handshake is done the budget is 0 for a zero-length write (the
	 * connection is alive, nothing may be sent yet) and undefined for data.
	 */
	write(data: ArrayBuffer | Uint8Array): number | undefined {
		const tcp = this.tcp;
		if (!tcp || this.failed) return undefined;
		if (!data.byteLength) {
			const left = tcp.write(nothing) as unknown;
			if (typeof left !== "number") return undefined;
			return this.ready ? Math.max(0, left - recordOverhead) : 0;
		}
		if (!this.ready) return undefined;
		this.session!.write(tcp, data);
		const left = tcp.writable as unknown;
		return typeof left === "number" && !Number.isNaN(left) ? Math.max(0, left - recordOverhead) : undefined;
	}

	/** Close now: a close_notify alert when the session is up (best effort), then TCP. */
	close(): void {
		const tcp = this.tcp;
		if (this.next) Timer.clear(this.next);
		this.next = undefined;
		if (tcp && this.ready && !this.failed) {
			try {
				this.session!.close(tcp);
			} catch {
				// the peer is gone: nothing to tell it
			}
		}
		this.tcp = undefined;
		this.session = undefined;
		this.data = undefined;
		tcp?.close();
	}

	/** @internal The TCP socket's callback (wire*, above). */
	tcpWritable(bytes: number): void {
		const tcp = this.tcp;
		if (!tcp || this.failed) return;
		this.connected = true;
		tcp.writable = bytes;
		try {
			if (!this.ready) this.handshake(false);
			else if (bytes > recordOverhead) this.callbacks.onWritable?.call(this, bytes - recordOverhead);
		} catch (e) {
			this.fail(e);
		}
	}

	/** @internal The TCP socket's callback (wire*, above). */
	tcpReadable(bytes: number): void {
		const tcp = this.tcp;
		if (!tcp || this.failed) return;
		tcp.readable = bytes;
		if (this.data) return; // the app has not read the last record yet
		try {
			if (!this.ready) this.handshake(true);
			else this.deliver();
		} catch (e) {
			this.fail(e);
		}
	}

	/** @internal The TCP socket's callback (wire*, above). */
	tcpError(): void {
		if (this.failed || !this.tcp) return;
		if (this.ready)
			this.fail(undefined); // the peer closed or reset: as on TCP, no cause to tell
		else if (this.connected) this.fail(new Error(this.endedDuringHandshake()));
		else this.fail(new Error("connection refused or unreachable"));
	}

	/**
	 * A peer that sends plain text ("GET / HTTP/1.1", "HTTP/1.1 400…") would have
	 * the engine wait for a record as long as two of its letters say: say so at once.
	 * `who`: "server" or "client".
	 */
	protected checkRecord(who: string): void {
		const record = this.session!.packetBuffer;
		if (record && record.offset >= 1 && (record[0] < 20 || record[0] > 23))
			throw new Error(
				`the ${who} does not speak TLS (${who === "server" ? "its answer" : "its request"} starts with 0x${record[0].toString(16)}, not a TLS record)`,
			);
	}

	protected established(): void {
		const alert = this.session!.alert;
		if (alert) {
			this.fail(new Error(`TLS alert ${alert.description} (level ${alert.level}) during the handshake`));
			return;
		}
		this.ready = true;
		this.tcpWritable(this.tcp!.writable);
		if (this.tcp?.readable && !this.data && !this.failed) this.deliver(); // a record that came with the peer's Finished
	}

	private deliver(): void {
		const data = this.session!.read(this.tcp!);
		if (data === undefined) return; // no whole record yet
		if (data === null) {
			// close_notify or an alert: the session is over
			this.fail(undefined);
			return;
		}
		if (!data.byteLength) return;
		this.data = data;
		this.position = 0;
		this.callbacks.onReadable?.call(this, data.byteLength);
	}

	/** Once: close TCP, then onError with the cause (undefined: the peer closed, as on TCP). */
	protected fail(e: unknown): void {
		if (this.failed) return;
		this.failed = true;
		let error: Error | undefined;
		if (e !== undefined) {
			let message = String((e as Error)?.message ?? e);
			const alert = this.session?.alert;
			if (alert && message.startsWith("alert: "))
				// the engine's words for an alert it read (ssl_alert.js)
				message = `the ${this.peerRole()} sent TLS alert ${alert.description} (level ${alert.level}): it refused the handshake or failed`;
			else if (!message)
				// the engine's reads of a message too short throw an Error without one (ssl_stream.js)
				message = `the ${this.peerRole()} sent a malformed TLS message`;
			error = new Error(this.ready ? `TLS error with ${this.peer}: ${message}` : `TLS handshake with ${this.peer} failed: ${message}`);
		}
		if (!this.ready) this.close();
		this.callbacks.onError?.call(this, error);
	}
}
