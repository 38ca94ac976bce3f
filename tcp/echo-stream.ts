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
 * Why a buffer of its own at all: on the simulator (lin tcp.c) a socket in
 * the error state (peer reset or closed) never reports onWritable again, and
 * reports onError only once everything it buffered has been read. A loop
 * that read only as much as it could write would wait for budget forever
 * and never learn the peer is gone; this one always drains the platform.
 *
 * Failed writes: both SDK implementations (lin tcp.c, lwip tcp.c) return
 * the remaining budget from write() and nothing at all when the socket has
 * failed, and on the simulator such a failure is never reported through
 * onError. A write that returns no number therefore ends the connection.
 *
 * A stalled connection (holding bytes it has no budget to write, or unable
 * to read what waits) cannot tell a slow peer from a vanished one: neither
 * implementation reports onError while bytes are buffered, nor onWritable
 * once in the error state. probe() asks with a zero-length write, which the
 * platform refuses once the connection is gone (lwip: error state; lin: the
 * kernel's EPIPE after a reset). The owners probe stalled streams about
 * once a second.
 */

import type TCP from "embedded:io/socket/tcp";
import { Log, preview } from "modules/log";

/** Reads logged in full per connection; after that only the closing summary. */
const loggedReads = 8;

const nothing = new ArrayBuffer(0);

export class EchoStream {
	readonly peer: string;
	/** Bytes echoed (written back) so far. */
	echoed = 0;
	/** Time of the last byte moved either way (for idle timeouts). */
	lastActivity = Date.now();
	socket: TCP | undefined;
	#log: Log;
	#buffer: Uint8Array;
	#start = 0;
	#end = 0;
	#readable = 0;
	#writable = 0;
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

	/** Whether the connection still exists, asked with a zero-length write (see above). */
	probe(): boolean {
		try {
			return !!this.socket && typeof this.socket.write(nothing) === "number";
		}
		catch {
			return false;
		}
	}

	readable(bytes: number): void {
		this.#readable = bytes;
		this.pump();
	}

	writableBudget(bytes: number): void {
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
			if (this.#reads++ < loggedReads)
				this.#log.info(`Received ${count} bytes from ${this.peer}: ${preview(data)}`);
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
			throw new Error("write failed: the connection is gone");
		this.#writable = Math.min(this.#writable - count, result);
	}

	#flush(socket: TCP): void {
		const count = Math.min(this.pending, this.#writable);
		if (!count)
			return;
		this.#written(socket.write(this.#buffer.subarray(this.#start, this.#start + count)), count);
		this.#start += count;
		this.echoed += count;
		this.lastActivity = Date.now();
		if (this.#start === this.#end)
			this.#start = this.#end = 0;
	}
}
