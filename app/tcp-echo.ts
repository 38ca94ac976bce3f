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
	// Hot fields and methods first: XS finds a member by walking them in
	// declaration order.
	private readonly buffer: Uint8Array;
	/** What is held and not yet written: buffer[start, end); both 0 when nothing is held. */
	private start = 0;
	private end = 0;
	/** Reads logged so far (only while debugging). */
	declare private reads: number | undefined;

	constructor(chunk: number) {
		this.buffer = new Uint8Array(chunk);
	}

	/**
	 * Move what can be moved now: what is held first, then read as far as
	 * the buffer has room, and what was read goes straight back, as far as
	 * the budget takes it. Every event comes here (budget back, the peer's
	 * end). The common turn, nothing held: one view for the bytes read,
	 * read into and written from (a view of the kept buffer, made with its
	 * offset and length: less than subarray() on XS; none when the read
	 * fills the buffer).
	 */
	onReadable(connection: TcpConnection): void {
		if (this.start !== this.end) this.flush(connection);
		const buffer = this.buffer;
		const size = buffer.length;
		for (let readable = connection.readable; readable; readable = connection.readable) {
			let end = this.end;
			if (end === size) {
				const start = this.start;
				if (!start) return; // full: wait for budget
				buffer.copyWithin(0, start, end);
				this.end = end -= start;
				this.start = 0;
			}
			const room = size - end;
			const count = readable < room ? readable : room;
			const view = count === size ? buffer : new Uint8Array(buffer.buffer, end, count);
			connection.read(view, count);
			if (debugging && (this.reads = (this.reads ?? 0) + 1) <= loggedReads)
				connection.log.debug(`Received ${count} bytes from ${connection.peer}: ${preview(view.slice().buffer)}`);
			if (end) {
				// bytes were held already: these wait behind them
				this.end = end + count;
				this.flush(connection);
			} else {
				this.end = count; // (held until written: the summary counts them if write() throws)
				const written = connection.write(view, count);
				if (written === count) this.end = 0;
				else this.start = written; // the rest as the budget comes back
			}
		}
	}

	onWritable(connection: TcpConnection): void {
		if (this.start !== this.end || connection.readable) this.onReadable(connection);
	}

	/** Bytes read but not yet written back. */
	get pending(): number {
		return this.end - this.start;
	}

	onPeerEnd(connection: TcpConnection): void {
		this.onReadable(connection);
	}

	/** Write what is held, as far as the budget takes it. */
	private flush(connection: TcpConnection): void {
		const start = this.start;
		const end = this.end;
		if (start === end || !connection.writable) return;
		const buffer = this.buffer;
		const count = end - start;
		const written = connection.write(count === buffer.length ? buffer : new Uint8Array(buffer.buffer, start, count), count);
		if (written === count) this.start = this.end = 0;
		else this.start = start + written;
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
}

/** The echo that greets first (the echo client): the greeting is written once, whole, with the first budget that takes it, when nothing is held. */
export class GreetingEcho extends Echo {
	/** The greeting, until it is sent. */
	declare private greeting: string | undefined;

	constructor(chunk: number, greeting: string) {
		super(chunk);
		this.greeting = greeting;
	}

	override onWritable(connection: TcpConnection): void {
		super.onWritable(connection);
		const greeting = this.greeting;
		if (greeting === undefined || this.pending) return;
		const hello = ArrayBuffer.fromString(greeting);
		if (hello.byteLength > connection.writable) return; // the whole greeting at once, with a later budget
		connection.write(hello);
		this.greeting = undefined;
		connection.log.info(`Sent "${greeting}" to ${connection.peer}`);
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
		return this.greeting === undefined ? new Echo(this.chunk) : new GreetingEcho(this.chunk, this.greeting);
	}
}
