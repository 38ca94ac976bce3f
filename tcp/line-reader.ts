/*
 * Line-based TCP services (a command shell, a text protocol, a sensor's
 * readings on request): the read/write-budget loop written once.
 *
 * Each connection reads into a buffer it keeps (maxLine bytes); every
 * complete line (up to LF; a CR before it is dropped) goes to the handler's
 * onLine as a string, and what onLine returns is written back with the line
 * end. While a reply waits for write budget no more lines are read, so a
 * peer that sends faster than it reads is pushed back on by TCP. A line
 * longer than maxLine, or not UTF-8, closes the connection
 * (CloseCause.PROTOCOL_ERROR). After the peer's FIN the lines that arrived
 * before it are answered, as far as the budget takes the replies; an
 * unfinished last line is dropped.
 *
 *   new TcpServer({ port: 7070, service: new LineService({
 *       onLine: (connection, line) => line.toUpperCase(),
 *   }) }).start();
 */

import { CloseCause } from "tcp/close-cause";
import type { TcpConnection, TcpHandler, TcpService } from "tcp/connection";

/** The application's side of a line service: one object for every connection. */
export interface LineHandler {
	/** A complete line, without its line end. Return the reply (its line end is added), or nothing. */
	onLine(connection: TcpConnection, line: string): string | undefined | undefined;
	/** A connection began: return a greeting line to send first, or nothing. */
	onOpen?(connection: TcpConnection): string | undefined | undefined;
	/** The connection closed: the last event, once. */
	onClose?(connection: TcpConnection, cause: CloseCause, reason: string): void;
}

export interface LineServiceOptions {
	/** Longest line accepted, its line end included (bytes): each connection keeps a buffer this large. Default 256. */
	maxLine?: number;
	/** Appended to every reply. Default "\r\n". */
	lineEnd?: string;
}

const LF = 0x0a;
const CR = 0x0d;

/** A TcpService (for TcpServer or TcpClient) that speaks in lines to handler. */
export class LineService implements TcpService {
	readonly handler: LineHandler;
	readonly maxLine: number;
	readonly lineEnd: string;

	constructor(handler: LineHandler, options: LineServiceOptions = {}) {
		this.handler = handler;
		this.maxLine = options.maxLine ?? 256;
		this.lineEnd = options.lineEnd ?? "\r\n";
	}

	open(connection: TcpConnection): TcpHandler {
		const session = new LineSession(this);
		const greeting = this.handler.onOpen?.(connection);
		if (typeof greeting === "string") session.queue(this, greeting);
		return session;
	}
}

/** One connection of a LineService. */
class LineSession implements TcpHandler {
	private readonly service: LineService;
	/** Bytes read, not yet a whole line: input[0, filled). */
	private readonly input: Uint8Array;
	private filled = 0;
	/** The reply being written, from `written` on; undefined when none. */
	private output: Uint8Array | undefined;
	private written = 0;

	constructor(service: LineService) {
		this.service = service;
		this.input = new Uint8Array(service.maxLine);
	}

	/** Bytes held to write (TcpHandler.pending: with no budget, the platform owes an onWritable). */
	get pending(): number {
		return this.output ? this.output.length - this.written : 0;
	}

	queue(service: LineService, reply: string): void {
		this.output = new Uint8Array(ArrayBuffer.fromString(reply + service.lineEnd));
		this.written = 0;
	}

	onReadable(connection: TcpConnection): void {
		this.move(connection);
	}

	onWritable(connection: TcpConnection): void {
		this.move(connection);
	}

	onPeerEnd(connection: TcpConnection): void {
		this.move(connection);
	}

	onClose(connection: TcpConnection, cause: CloseCause, reason: string): void {
		this.service.handler.onClose?.(connection, cause, reason);
	}

	/** Write what waits, then answer whole lines and read more, as long as the budget takes the replies. */
	private move(connection: TcpConnection): void {
		const input = this.input;
		for (;;) {
			if (!this.flush(connection)) return; // a reply waits for budget: read nothing more (TCP pushes back)
			const end = input.subarray(0, this.filled).indexOf(LF);
			if (end >= 0) {
				this.deliver(connection, end);
				if (connection.state !== "open") return;
				continue;
			}
			if (this.filled === input.length) {
				connection.close(CloseCause.PROTOCOL_ERROR, `line over ${input.length} bytes`);
				return;
			}
			if (!connection.readable) return;
			this.filled += connection.read(input.subarray(this.filled));
		}
	}

	/** Whether everything held is written. */
	private flush(connection: TcpConnection): boolean {
		const output = this.output;
		if (!output) return true;
		this.written += connection.write(this.written ? output.subarray(this.written) : output);
		if (this.written < output.length) return false;
		this.output = undefined;
		this.written = 0;
		return true;
	}

	/** The line input[0, end) (end: its LF) goes to the handler; its reply is queued. */
	private deliver(connection: TcpConnection, end: number): void {
		const input = this.input;
		const length = end > 0 && input[end - 1] === CR ? end - 1 : end;
		let line: string;
		try {
			line = String.fromArrayBuffer((input.buffer as ArrayBuffer).slice(0, length)); // input is a whole buffer of its own
		} catch {
			connection.close(CloseCause.PROTOCOL_ERROR, "a line not UTF-8");
			return;
		}
		input.copyWithin(0, end + 1, this.filled);
		this.filled -= end + 1;
		const reply = this.service.handler.onLine(connection, line);
		if (typeof reply === "string" && connection.state === "open") this.queue(this.service, reply);
	}
}
