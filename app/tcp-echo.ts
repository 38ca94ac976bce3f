/*
 * The echo, as a handler on the TCP library (tcp/connection), shared by the
 * echo server and the echo client: everything read goes back, byte-exact.
 *
 * Flow control: it holds at most `chunk` bytes of its own, read into one
 * buffer it keeps (no allocation per read). It reads only while that buffer
 * has room and writes only what the budget allows. When the peer stops
 * reading, the budget stays at zero, the buffer fills, it stops reading,
 * the platform's receive buffer fills and TCP pushes back on the peer; when
 * the budget comes back, it all moves again. On the peer's FIN (onPeerEnd) it
 * writes back what it still holds, the rest as the budget comes back
 * (tcp/connection closes once it holds nothing).
 *
 * A greeting (the echo client's "Hello World!") is written once, whole,
 * with the first budget that takes it, and is not counted as echoed.
 */

import { debugging, preview } from "modules/log";
import type { TcpConnection, TcpHandler, TcpService } from "tcp/connection";

/** Reads logged in full per connection; after that only the closing summary. */
const loggedReads = 8;

export class Echo implements TcpHandler {
	// Memory: a slot per property on every connection, so TypeScript
	// `private` (no slot for # fields) and what only some echoes need is
	// added when first set (`declare`).
	// Nor a field for what the connection knows: its owner's log, and the
	// bytes echoed, which are the bytes read less those still held.
	private readonly buffer: Uint8Array;
	private start = 0;
	private end = 0;
	/** Reads logged so far (only while debugging). */
	declare private reads: number | undefined;
	/** A greeting still to send (only an echo given one). */
	declare private greeting: string | undefined;

	constructor(chunk: number, greeting?: string) {
		this.buffer = new Uint8Array(chunk);
		if (greeting !== undefined) this.greeting = greeting;
	}

	/** Bytes read but not yet written back. */
	get pending(): number {
		return this.end - this.start;
	}

	/** Bytes echoed (written back) so far: everything read is echoed or held (the greeting is written, not read). */
	echoed(connection: TcpConnection): number {
		return connection.bytesRead - this.pending;
	}

	succeeded(connection: TcpConnection): boolean {
		return this.echoed(connection) > 0;
	}

	summary(connection: TcpConnection): string {
		return `${this.echoed(connection)} bytes echoed${this.pending ? `, ${this.pending} left unsent` : ""}`;
	}

	onReadable(connection: TcpConnection): void {
		this.pump(connection);
	}

	onWritable(connection: TcpConnection): void {
		this.pump(connection);
		if (this.greeting !== undefined && !this.pending) this.greet(connection, this.greeting);
	}

	private greet(connection: TcpConnection, greeting: string): void {
		const hello = ArrayBuffer.fromString(greeting);
		if (hello.byteLength > connection.writable) return; // the whole greeting at once, with a later budget
		connection.write(hello);
		this.greeting = undefined;
		connection.log.info(`Sent "${greeting}" to ${connection.peer}`);
	}

	onPeerEnd(connection: TcpConnection): void {
		this.pump(connection);
	}

	/** Move what can be moved now. */
	pump(connection: TcpConnection): void {
		const buffer = this.buffer;
		const size = buffer.length;
		for (;;) {
			if (this.start !== this.end)
				// (the test before the call: most turns have nothing held)
				this.flush(connection);
			if (!connection.readable) return;
			if (this.end === size) {
				if (!this.start) return; // full: wait for budget
				buffer.copyWithin(0, this.start, this.end);
				this.end -= this.start;
				this.start = 0;
			}
			const count = connection.read(this.end ? buffer.subarray(this.end) : buffer);
			if (debugging && (this.reads = (this.reads ?? 0) + 1) <= loggedReads)
				connection.log.debug(`Received ${count} bytes from ${connection.peer}: ${preview(buffer.slice(this.end, this.end + count).buffer)}`);
			this.end += count;
		}
	}

	private flush(connection: TcpConnection): void {
		if (this.start === this.end || !connection.writable) return;
		const count = connection.write(this.start || this.end !== this.buffer.length ? this.buffer.subarray(this.start, this.end) : this.buffer);
		this.start += count;
		if (this.start === this.end) this.start = this.end = 0;
	}
}

/** Makes an Echo for each connection, greeting first when given one. */
export class EchoService implements TcpService {
	readonly chunk: number;
	readonly greeting: string | undefined;

	constructor(chunk: number, greeting?: string) {
		this.chunk = chunk;
		this.greeting = greeting;
	}

	open(_connection: TcpConnection): TcpHandler {
		return new Echo(this.chunk, this.greeting);
	}
}
