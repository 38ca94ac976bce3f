// The TCP library (tcp/server, tcp/client, tcp/connection, udp/server)
// with services of the test's own, in-process over the Node host providers
// and real sockets: what a user's app gets, apart from our echo apps.
import * as dgram from "node:dgram";
import * as net from "node:net";
import { Log } from "modules/log";
import { TcpClient } from "tcp/client";
import { CloseCause } from "tcp/close-cause";
import type { TcpConnection, TcpHandler } from "tcp/connection";
import { LineService, type LineServiceOptions } from "tcp/line-reader";
import { TcpServer } from "tcp/server";
import { type Datagram, UdpServer } from "udp/server";
import { afterEach, describe, expect, it } from "vitest";
import { sendAndCollect } from "../../host-harness/oracle/tcp-echo.js";

const log = new Log("test");
const stops: (() => void)[] = [];
afterEach(() => {
	for (const stop of stops.splice(0)) stop();
});

/** Upper-cases into one kept buffer; counts its reads to show the buffer is reused. */
class Shout implements TcpHandler {
	static closed: CloseCause[] = [];
	buffer = new Uint8Array(64);
	#start = 0;
	#end = 0;
	get pending() {
		return this.#end - this.#start;
	}
	onReadable(c: TcpConnection) {
		this.#move(c);
	}
	onWritable(c: TcpConnection) {
		this.#move(c);
	}
	onPeerEnd(c: TcpConnection) {
		this.#move(c);
	}
	onClose(_c: TcpConnection, cause: CloseCause) {
		Shout.closed.push(cause);
	}
	#move(c: TcpConnection) {
		while ((this.#start += c.write(this.buffer.subarray(this.#start, this.#end))) === this.#end) {
			this.#start = 0;
			if (!(this.#end = c.read(this.buffer))) return;
			for (let i = 0; i < this.#end; i++) if (this.buffer[i] >= 0x61 && this.buffer[i] <= 0x7a) this.buffer[i] -= 0x20;
		}
	}
}

function serve(options: Partial<ConstructorParameters<typeof TcpServer>[0]> = {}): TcpServer {
	const server = new TcpServer({ port: 0, maxClients: 2, backlog: 1, idleTimeout: 0, service: { open: () => new Shout() }, log, ...options });
	server.start();
	stops.push(() => server.close());
	return server;
}

const exchange = async (port: number, text: string) => (await sendAndCollect({ host: "127.0.0.1", port }, text)).toString("latin1");

describe("tcp/server with a service of its own", () => {
	it("hands each connection to its handler; a stream many times the handler's buffer comes back whole after a half-close", async () => {
		const server = serve();
		const text = "streams through a 64-byte buffer. ".repeat(3000);
		const [one, two] = await Promise.all([exchange(server.port, text), exchange(server.port, "two")]);
		expect(one).toBe(text.toUpperCase());
		expect(two).toBe("TWO");
		expect(Shout.closed.filter(cause => cause === CloseCause.PEER_CLOSED).length).toBeGreaterThanOrEqual(2);
	});

	it("a handler that answers the peer's FIN with more than the write budget writes it all as budget comes back, then the connection closes", async () => {
		// 100 KiB against the Node host's 16 KiB budget: the answer needs onWritable after the end (onPeerEnd), as on lwip.
		const answer = new Uint8Array(100 * 1024).map((_, i) => i * 7);
		const closes: CloseCause[] = [];
		class AnswerAtEnd implements TcpHandler {
			written = -1;
			get pending() {
				return this.written < 0 ? 0 : answer.length - this.written;
			}
			onReadable(c: TcpConnection) {
				c.read(new Uint8Array(c.readable));
			}
			onWritable(c: TcpConnection) {
				this.#write(c);
			}
			onPeerEnd(c: TcpConnection) {
				this.written = 0;
				this.#write(c);
			}
			onClose(_c: TcpConnection, cause: CloseCause) {
				closes.push(cause);
			}
			#write(c: TcpConnection) {
				if (this.written >= 0) this.written += c.write(answer.subarray(this.written));
			}
		}
		const server = serve({ service: { open: () => new AnswerAtEnd() } });
		const received = await sendAndCollect({ host: "127.0.0.1", port: server.port }, "the question");
		expect(received.length).toBe(answer.length);
		expect(received.equals(answer)).toBe(true);
		await until(() => closes.length === 1);
		expect(closes).toEqual([CloseCause.PEER_CLOSED]);
	});

	it("a handler's exception closes that connection only, and the server serves the next", async () => {
		let first = true;
		const server = serve({
			service: {
				open: () => {
					const shout = new Shout();
					if (first) {
						first = false;
						shout.onReadable = () => {
							throw new Error("handler bug");
						};
					}
					return shout;
				},
			},
		});
		expect(await exchange(server.port, "boom")).toBe("");
		expect(await exchange(server.port, "fine")).toBe("FINE");
	});

	it("lastActivity: the time of the last byte moved, as of when it is read; unchanged while nothing moves", async () => {
		let connection: TcpConnection | undefined;
		const server = serve({
			service: {
				open: c => {
					connection = c;
					return new Shout();
				},
			},
		});
		const socket = net.connect(server.port, "127.0.0.1");
		socket.on("error", () => {});
		stops.push(() => socket.destroy());
		const echoed: Buffer[] = [];
		socket.on("data", data => echoed.push(data));
		const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));
		while (!connection) await sleep(5);
		await sleep(50); // the first budget's callback
		const settled = connection.lastActivity;
		await sleep(50);
		expect(connection.lastActivity).toBe(settled); // nothing moved
		socket.write("x");
		while (!echoed.length) await sleep(5);
		expect(connection.lastActivity).toBeGreaterThan(settled);
	});
});

describe("no handler event from inside a call the handler made", () => {
	it("a close() in onReadable reports onClose once onReadable has returned", async () => {
		const events: string[] = [];
		const server = serve({
			service: {
				open: () => ({
					onReadable(connection: TcpConnection) {
						connection.read(new Uint8Array(64));
						events.push("close");
						connection.close();
						events.push("close returned");
					},
					onClose() {
						events.push("onClose");
					},
				}),
			},
		});
		await exchange(server.port, "bye");
		await until(() => events.length === 3);
		expect(events).toEqual(["close", "close returned", "onClose"]);
	});
});

describe("tcp/server: how a peer's end reaches the handler", () => {
	it("a peer's FIN and a peer's reset both give onPeerEnd, then onClose peer-closed; after a reset there is no budget", async () => {
		const events: string[] = [];
		const server = serve({
			service: {
				open: () => ({
					onReadable(connection: TcpConnection) {
						connection.read(new Uint8Array(64));
					},
					onPeerEnd(connection: TcpConnection) {
						events.push(`peerEnd ${connection.writable > 0 ? "budget" : "none"}`);
					},
					onClose(_connection: TcpConnection, cause: CloseCause) {
						events.push(`close ${cause}`);
					},
				}),
			},
		});
		for (const ending of ["fin", "reset"]) {
			const socket = net.connect(server.port, "127.0.0.1");
			socket.on("error", () => {});
			await new Promise(resolve => socket.once("connect", resolve));
			socket.write("hi");
			await new Promise(resolve => setTimeout(resolve, 50));
			if (ending === "fin") socket.end();
			else socket.resetAndDestroy();
			await until(() => events.length === (ending === "fin" ? 2 : 4));
		}
		expect(events).toEqual(["peerEnd budget", "close peer-closed", "peerEnd none", "close peer-closed"]);
	});
});

describe("tcp/client with a service of its own", () => {
	it("connects, hands the connection to its handler, and reconnects with backoff after the peer closes", async () => {
		const received: string[] = [];
		const peer = net.createServer(socket => {
			socket.end("hello");
			socket.on("data", d => received.push(d.toString()));
		});
		await new Promise<void>(resolve => peer.listen(0, "127.0.0.1", resolve));
		stops.push(() => peer.close());
		let connections = 0;
		const client = new TcpClient({
			host: "127.0.0.1",
			port: (peer.address() as net.AddressInfo).port,
			connectTimeout: 2000,
			idleTimeout: 0,
			retryDelay: 20,
			retryMaxDelay: 100,
			maxAttempts: 0,
			service: {
				open: () => {
					connections++;
					return new Shout();
				},
			},
			log,
		});
		client.start();
		stops.push(() => client.stop());
		await new Promise<void>((resolve, reject) => {
			const deadline = setTimeout(() => reject(new Error(`${received.length} answers`)), 5000);
			const poll = setInterval(() => {
				if (received.filter(r => r === "HELLO").length >= 2) {
					clearInterval(poll);
					clearTimeout(deadline);
					resolve();
				}
			}, 10);
		});
		expect(connections).toBeGreaterThanOrEqual(2);
	});
});

describe("udp/server with a handler of its own", () => {
	it("refuses a port it could not bind and report (0, beyond 65535, not whole) with a RangeError naming it", () => {
		const handler = { onDatagram: () => {} };
		for (const port of [0, -1, 65536, 9000.5, Number.NaN])
			expect(() => new UdpServer({ port, handler, log })).toThrow(new RegExp(`^UdpServer: port must be a whole number 1 to 65535, not ${port}`));
	});

	it("hands each datagram to the handler, which answers through send()", async () => {
		const port = await new Promise<number>(resolve => {
			const probe = dgram.createSocket("udp4");
			probe.bind(0, "127.0.0.1", () => {
				const p = probe.address().port;
				probe.close(() => resolve(p));
			});
		});
		const server = new UdpServer({
			port,
			handler: { onDatagram: (s: UdpServer, d: Datagram) => s.send(ArrayBuffer.fromString(`${d.byteLength}`), d.address, d.port) },
			log,
		});
		server.start();
		stops.push(() => server.close());
		const socket = dgram.createSocket("udp4");
		stops.push(() => socket.close());
		const answer = new Promise<string>(resolve => socket.once("message", m => resolve(m.toString())));
		socket.send("seven!!", port, "127.0.0.1");
		expect(await answer).toBe("7");
		expect(server.received).toBe(1);
	});
});

describe("tcp/line-reader: a line service", () => {
	function lineServer(options: LineServiceOptions = {}, closes: CloseCause[] = []): TcpServer {
		const server = new TcpServer({
			port: 0,
			idleTimeout: 0,
			log,
			service: new LineService(
				{
					onOpen: () => "ready",
					onLine: (_connection, line) => (line === "quiet" ? undefined : `> ${line.toUpperCase()}`),
					onClose: (_connection, cause) => {
						closes.push(cause);
					},
				},
				options,
			),
		});
		server.start();
		stops.push(() => server.close());
		return server;
	}

	it("greets, answers each line (CRLF or LF, split across writes, or many in one), and stays quiet when the handler returns nothing", async () => {
		const server = lineServer();
		const socket = net.connect(server.port, "127.0.0.1");
		let received = "";
		socket.on("data", data => (received += data.toString()));
		socket.write("hello\r\nwor");
		await new Promise(resolve => setTimeout(resolve, 50));
		socket.write("ld\nquiet\nä\n");
		await until(() => received.split("\r\n").length >= 5);
		socket.end();
		expect(received).toBe("ready\r\n> HELLO\r\n> WORLD\r\n> Ä\r\n");
	});

	it("answers every one of 2000 pipelined lines (220 KB sent in one write), in order", async () => {
		const server = lineServer();
		const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${"x".repeat(100)}`);
		const answer = (await sendAndCollect({ host: "127.0.0.1", port: server.port }, lines.join("\n") + "\n")).toString();
		expect(answer).toBe(["ready", ...lines.map(line => `> ${line.toUpperCase()}`)].join("\r\n") + "\r\n");
	});

	it("closes a connection whose line is longer than maxLine, and serves the next", async () => {
		const closes: CloseCause[] = [];
		const server = lineServer({ maxLine: 16 }, closes);
		expect((await sendAndCollect({ host: "127.0.0.1", port: server.port }, "a line far over sixteen bytes\n")).toString()).toBe("ready\r\n");
		await until(() => closes.length === 1);
		expect(closes).toEqual([CloseCause.PROTOCOL_ERROR]);
		expect((await sendAndCollect({ host: "127.0.0.1", port: server.port }, "short\n")).toString()).toBe("ready\r\n> SHORT\r\n");
	});
});

async function until(condition: () => boolean, timeout = 5000): Promise<void> {
	const start = Date.now();
	while (!condition()) {
		if (Date.now() - start > timeout) throw new Error("timed out");
		await new Promise(resolve => setTimeout(resolve, 10));
	}
}
