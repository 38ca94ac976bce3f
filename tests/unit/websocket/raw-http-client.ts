// A raw socket to a server on this machine for the HTTP unit tests: what it
// writes, the replies it reads (each ended by its Content-Length; none: a
// head alone, as 101), the bytes after them, and whether the server ended it.
import { once } from "node:events";
import * as net from "node:net";

export interface Reply {
	status: number;
	headers: Map<string, string>;
	body: string;
}

export class RawClient {
	readonly socket: net.Socket;
	/** The peer ended or closed the connection. */
	readonly closed: Promise<void>;
	/** What came and has not been read yet. */
	buffer = Buffer.alloc(0);
	private ended = false;
	private wake: (() => void) | undefined;

	/** `cleanups`: the suite's list of what to undo after each test; the socket is destroyed there. */
	constructor(port: number, cleanups: (() => void)[]) {
		this.socket = net.connect(port, "127.0.0.1");
		cleanups.push(() => this.socket.destroy());
		this.socket.on("data", chunk => {
			this.buffer = Buffer.concat([this.buffer, chunk]);
			this.wake?.();
		});
		this.socket.on("error", () => {});
		this.closed = new Promise(resolve =>
			this.socket.on("close", () => {
				this.ended = true;
				this.wake?.();
				resolve();
			}),
		);
	}

	async connected(): Promise<this> {
		await once(this.socket, "connect");
		return this;
	}

	async write(data: string | Buffer): Promise<void> {
		await new Promise<void>((resolve, reject) => this.socket.write(data, e => (e ? reject(e) : resolve())));
	}

	/** The next whole reply; rejects when the connection ends first. */
	async reply(): Promise<Reply> {
		for (;;) {
			const end = this.buffer.indexOf("\r\n\r\n");
			if (end >= 0) {
				const lines = this.buffer.subarray(0, end).toString("latin1").split("\r\n");
				const headers = new Map(lines.slice(1).map(line => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]));
				const length = Number(headers.get("content-length") ?? 0);
				if (this.buffer.length >= end + 4 + length) {
					const body = this.buffer.subarray(end + 4, end + 4 + length).toString();
					this.buffer = this.buffer.subarray(end + 4 + length);
					return { status: Number(lines[0].split(" ")[1]), headers, body };
				}
			}
			if (this.ended) throw new Error(`the connection ended before a whole reply (${this.buffer.length} bytes unread)`);
			await this.more();
		}
	}

	/** The next `count` bytes as they came (frames after a 101). */
	async bytes(count: number): Promise<Buffer> {
		while (this.buffer.length < count) {
			if (this.ended) throw new Error("the connection ended");
			await this.more();
		}
		const out = this.buffer.subarray(0, count);
		this.buffer = this.buffer.subarray(count);
		return out;
	}

	private more(): Promise<void> {
		return new Promise<void>(resolve => {
			this.wake = resolve;
		});
	}
}
