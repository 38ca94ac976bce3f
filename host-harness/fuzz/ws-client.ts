/*
 * The fuzzer's raw client: one TCP connection that writes exactly the bytes
 * a case holds, split as its plan says, and records everything the server
 * does: its HTTP answer (head and body), its frames as events (reusing the
 * conformance suite's FrameReader and MessageAssembler, which also hold the
 * server to the rules it must follow), the message it left unfinished,
 * and whether it closed TCP.
 *
 * Unlike the conformance client it never answers a server Ping by itself:
 * a Pong written in the middle of a case could land inside a frame the case
 * cut in two. It does answer the server's Close with a Close (5.5.1), only
 * between whole writes of its own.
 */

import type net from "node:net";
import { connectSocket, SocketWaiters } from "../conformance/client.js";
import { closeBody, FrameReader, FrameViolation, frame, Op } from "../conformance/frames.js";
import { parseHttpHead } from "../conformance/http-head.js";
import { MessageAssembler } from "../conformance/messages.js";
import type { WritePlan } from "./case.js";
import type { Message } from "./ws-oracle.js";

export interface HttpAnswer {
	status: number;
	statusLine: string;
	/** Lower-cased names; repeated headers joined with ", ". */
	headers: Map<string, string>;
}

const nextTurn = () => new Promise<void>(resolve => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

export class FuzzConnection {
	readonly socket: net.Socket;
	answer: HttpAnswer | undefined;
	/** Bytes after a non-101 head (its body), or every byte when no head came. */
	body: Buffer = Buffer.alloc(0);
	received = 0;
	readonly messages: Message[] = [];
	readonly pongs: Buffer[] = [];
	serverPings = 0;
	/** The server's Close: code undefined when it had none. */
	serverClose: { code: number | undefined; reason: Buffer } | undefined;
	/** The first rule the server's frames broke. */
	violation: string | undefined;
	/** The server ended its side (FIN or reset). */
	tcpClosed = false;
	reset = false;
	closeSent = false;
	finSent = false;
	/** Half-close as soon as the server has ended the exchange (see WritePlan.hangUp). */
	hangUp = false;
	readonly #reader = new FrameReader(64 << 20);
	readonly #assembler = new MessageAssembler();
	#headBytes = Buffer.alloc(0);
	#upgraded = false;
	#waiters: SocketWaiters;
	#writing = false;

	private constructor(socket: net.Socket) {
		this.socket = socket;
		this.#waiters = new SocketWaiters(socket);
		socket.setNoDelay(true);
		socket.on("data", chunk => this.#received(chunk));
		socket.on("error", e => {
			if ((e as NodeJS.ErrnoException).code === "ECONNRESET") this.reset = true;
			this.#ended();
		});
		socket.on("end", () => this.#ended());
		socket.on("close", () => this.#ended());
	}

	static async connect(host: string, port: number, timeoutMs: number): Promise<FuzzConnection> {
		return new FuzzConnection(await connectSocket({ host, port, allowHalfOpen: true }, timeoutMs));
	}

	/** The message the server left unfinished (its fragments so far). */
	get partial(): Message | undefined {
		const p = this.#assembler.partial;
		return p && { type: p.type, data: Buffer.concat(p.pieces, p.length) };
	}

	/** Bytes as the plan cuts them; stops early (false) once the server closed or sent its Close. */
	async write(data: Buffer, plan: WritePlan, offset = 0): Promise<boolean> {
		const bounds = [0, ...plan.cuts.map(c => c - offset).filter(c => c > 0 && c < data.length), data.length];
		this.#writing = true;
		try {
			for (let i = 0; i + 1 < bounds.length; i++) {
				if (i > 0) await (plan.delayMs ? sleep(plan.delayMs) : nextTurn());
				if (this.serverClose || this.tcpClosed || this.socket.destroyed) return false;
				if (!this.socket.write(data.subarray(bounds[i], bounds[i + 1])))
					await this.waitFor(() => this.socket.writableLength === 0 || this.tcpClosed || this.socket.destroyed, 30_000, true);
			}
			return true;
		} finally {
			this.#writing = false;
			this.#answerClose();
		}
	}

	/** Our Close (once), masked as a client's must be. */
	sendClose(code?: number): void {
		if (this.closeSent || this.finSent || this.tcpClosed || this.socket.destroyed) return;
		this.closeSent = true;
		this.socket.write(frame(Op.CLOSE, closeBody(code)));
	}

	/** Half-close: our FIN, still reading what the server sends. */
	fin(): void {
		if (!this.finSent && !this.socket.destroyed) {
			this.finSent = true;
			this.socket.end();
		}
	}

	/** Resolve true once test() holds, false after timeoutMs. */
	waitFor(test: () => boolean, timeoutMs: number, onDrain = false): Promise<boolean> {
		return this.#waiters.waitFor(test, timeoutMs, onDrain);
	}

	destroy(): void {
		this.socket.destroy();
	}

	/** After a 101: the server's bytes are frames from here on. */
	upgraded(): void {
		this.#upgraded = true;
	}

	#ended(): void {
		if (!this.tcpClosed) {
			this.tcpClosed = true;
			this.#notify();
		}
	}

	#received(chunk: Buffer): void {
		this.received += chunk.length;
		if (!this.answer && !this.#upgraded) {
			const all = (this.#headBytes = Buffer.concat([this.#headBytes, chunk]));
			const end = all.indexOf("\r\n\r\n");
			if (end < 0) {
				if (all.length > 16384) this.violation ??= "HTTP answer head over 16 KiB";
				return this.#notify();
			}
			this.answer = parseAnswer(all.subarray(0, end).toString("latin1"));
			this.#headBytes = Buffer.alloc(0);
			chunk = all.subarray(end + 4);
			if (this.answer.status === 101) this.#upgraded = true;
		}
		if (!this.#upgraded) {
			this.body = Buffer.concat([this.body, chunk]);
			this.#answerClose();
			return this.#notify();
		}
		if (chunk.length && !this.violation) {
			try {
				for (const f of this.#reader.push(chunk)) {
					const event = this.#assembler.accept(f);
					if (!event) continue;
					if (event.kind === "message") this.messages.push({ type: event.type, data: event.data });
					else if (event.kind === "pong") this.pongs.push(event.payload);
					else if (event.kind === "ping") this.serverPings++;
					else {
						this.serverClose = { code: event.code, reason: event.reason };
						this.#answerClose();
					}
				}
			} catch (e) {
				if (!(e instanceof FrameViolation)) throw e;
				this.violation = e.message;
			}
		}
		this.#notify();
	}

	/**
	 * The server ended the exchange: answer its Close with its code (5.5.1), and hang up if asked
	 * to; not while a write of ours is under way (write() calls this when it is done).
	 */
	#answerClose(): void {
		if (this.#writing) return;
		if (this.serverClose) this.sendClose(this.serverClose.code);
		if (this.hangUp && (this.serverClose || (this.answer && this.answer.status !== 101 && this.#answerWhole()))) this.fin();
	}

	/**
	 * An HTTP answer has ended the exchange once its body is whole (Content-Length; a HEAD's
	 * answer never is, and is then waited out as without hangUp). Not before: a half-close
	 * during the body is a test of its own (the half-close suites), and the simulator gives no
	 * write budget after a FIN, so the rest of a long body would be lost there.
	 */
	#answerWhole(): boolean {
		const length = this.answer?.headers.get("content-length");
		return length === undefined || this.body.length >= Number(length);
	}

	#notify(): void {
		this.#waiters.notify();
	}
}

/** The answer's head; a status line that is not HTTP/1.1's has status 0 (the oracle refuses it). */
function parseAnswer(text: string): HttpAnswer {
	const head = parseHttpHead(text);
	return { status: head.version === "1.1" ? head.status : 0, statusLine: head.statusLine, headers: head.headers };
}
