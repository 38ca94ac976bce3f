/*
 * The echo loop shared by the TCP echo server and client.
 *
 * Flow control: the loop holds at most `chunk` bytes of its own. It reads
 * only while that buffer has room and writes only what the socket's budget
 * (onWritable) allows. When the peer stops reading, the budget stays at zero,
 * the buffer fills, the loop stops reading, the platform's receive buffer
 * fills and TCP pushes back on the peer; when the budget comes back, it all
 * moves again. Memory per connection: the platform socket's buffers plus
 * `chunk` bytes.
 *
 * Failed writes: both SDK implementations (lin tcp.c, lwip tcp.c) return
 * the remaining budget from write() and nothing at all when the socket has
 * failed, and on the simulator such a failure is never reported through
 * onError. A write that returns no number therefore ends the connection.
 *
 * Dead peers. The platforms report a reset or a FIN through onError, but
 * not always (the README's platform notes):
 * - the simulator (lin tcp.c) reports onError only if nothing was buffered
 *   when it found the error, never for an error found by write(), and stops
 *   polling a failed socket: no onReadable, onWritable or onError ever after;
 * - on lwip a FIN makes every later write() throw "not ready".
 * So a connection that the platform owes a callback (bytes it cannot write,
 * bytes it cannot read, or bytes written and no budget back) for
 * `quietLimit` ms is asked by its owner with probe(): a zero-length write,
 * which the platform refuses once the connection is gone (lin: the
 * kernel's EPIPE after a reset; lwip: the error state, "not ready") and
 * otherwise answers with the budget it has now, which the simulator may
 * have refilled without a callback. A failed write (one that returns no
 * number, or throws) ends the connection at once.
 *
 * Half-close: bytes received before the peer's FIN are echoed; the owner
 * calls finish() on onError to write what it still holds before closing.
 * Where the platform refuses writes after the FIN (lwip), they are lost.
 */

import type TCP from "embedded:io/socket/tcp";
import { Log, preview } from "modules/log";

/** Reads logged in full per connection; after that only the closing summary. */
const loggedReads = 8;

const nothing = new ArrayBuffer(0);

/** A connection the platform owes a callback this long is checked (ms): the simulator polls every 20. */
export const quietLimit = 500;

/** The connection is gone: a write failed. */
export class ConnectionGone extends Error {}

export class EchoStream {
	readonly peer: string;
	/** Bytes echoed (written back) so far. */
	echoed = 0;
	/** Time of the last byte moved either way (for idle timeouts). */
	lastActivity = Date.now();
	/** Time of the last platform callback (for quiet()). */
	lastCallback = Date.now();
	socket: TCP | undefined;
	#log: Log;
	#buffer: Uint8Array;
	#start = 0;
	#end = 0;
	#readable = 0;
	#writable = 0;
	/** Bytes written since the platform last reported a budget. */
	#unconfirmed = 0;
	#reads = 0;

	constructor(log: Log, peer: string, chunk: number) {
		this.#log = log;
		this.peer = peer;
		this.#buffer = new Uint8Array(chunk);
	}

	/** Bytes read but not yet written back. */
	get pending(): number {
		return this.#end - this.#start;
	}

	/** Holding bytes it cannot write, or unable to read what is waiting. */
	get stalled(): boolean {
		return (this.pending > 0 && this.#writable === 0) || (this.#readable > 0 && this.pending === this.#buffer.length);
	}

	/** Whether the platform owes a callback and has been quiet for quietLimit ms. */
	quiet(now: number): boolean {
		return (this.stalled || this.#unconfirmed > 0) && now - this.lastCallback >= quietLimit;
	}

	/**
	 * Whether the connection still exists, asked with a zero-length write,
	 * whose answer is also the platform's budget now (which the simulator may
	 * have refilled without a callback); then moves what can be moved.
	 */
	probe(): boolean {
		try {
			if (!this.#learnBudget())
				return false;
			this.pump();
			return true;
		}
		catch {
			return false;
		}
	}

	/** The peer's end is reached (onError): write back what is held, as far as the platform takes it. */
	finish(): void {
		try {
			if (this.#learnBudget())
				this.pump();
		}
		catch {
			// gone: what is held is lost (lwip after a FIN, a reset)
		}
	}

	#learnBudget(): boolean {
		const left = this.socket?.write(nothing);
		if (typeof left !== "number")
			return false;
		this.#writable = left;
		return true;
	}

	readable(bytes: number): void {
		this.lastCallback = Date.now();
		this.#readable = bytes;
		this.pump();
	}

	writableBudget(bytes: number): void {
		this.lastCallback = Date.now();
		this.#unconfirmed = 0;
		this.#writable = bytes;
		this.pump();
	}

	/** Write bytes of our own (a greeting) from the budget; false when the budget is too small now. */
	send(data: ArrayBuffer): boolean {
		if (!this.socket || this.pending || data.byteLength > this.#writable)
			return false;
		this.#written(this.socket.write(data), data.byteLength);
		this.lastActivity = Date.now();
		return true;
	}

	/** Move what can be moved now. Socket errors propagate to the caller, which closes the connection. */
	pump(): void {
		const socket = this.socket;
		if (!socket)
			return;
		for (;;) {
			this.#flush(socket);
			const room = this.#buffer.length - this.pending;
			if (!this.#readable || !room)
				return;
			const count = Math.min(this.#readable, room);
			const data = socket.read(count) as ArrayBuffer;
			this.#readable -= count;
			this.lastActivity = Date.now();
			if (this.#reads++ < loggedReads && this.#log.debugging)
				this.#log.debug(`Received ${count} bytes from ${this.peer}: ${preview(data)}`);
			if (!this.pending && count <= this.#writable) {
				this.#written(socket.write(data), count);		// the common case: straight back, no copy
				this.echoed += count;
			}
			else
				this.#keep(data);
		}
	}

	#keep(data: ArrayBuffer): void {
		if (this.#end + data.byteLength > this.#buffer.length) {
			this.#buffer.copyWithin(0, this.#start, this.#end);
			this.#end -= this.#start;
			this.#start = 0;
		}
		this.#buffer.set(new Uint8Array(data), this.#end);
		this.#end += data.byteLength;
	}

	/** Account for a write: the platform's remaining budget, or a failed socket (see above). */
	#written(result: unknown, count: number): void {
		if (typeof result !== "number")
			throw new ConnectionGone("write failed: the connection is gone");
		this.#writable = Math.min(this.#writable - count, result);
		this.#unconfirmed += count;
	}

	#flush(socket: TCP): void {
		const count = Math.min(this.pending, this.#writable);
		if (!count)
			return;
		this.#written(socket.write(this.#buffer.subarray(this.#start, this.#start + count)), count);
		this.#sent(count);
	}

	#sent(count: number): void {
		this.#start += count;
		this.echoed += count;
		this.lastActivity = Date.now();
		if (this.#start === this.#end)
			this.#start = this.#end = 0;
	}
}
