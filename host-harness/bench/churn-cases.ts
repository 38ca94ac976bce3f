/*
 * The churn's cases: each is one service of the kit's app reached one way
 * and ended one way, as a client does it, with the end the client must see
 * (an echo, a Close code, an HTTP status, the device closing TCP). A run of
 * a case resolves with the client ports it used, which the runner
 * (churn.ts) then waits for in the device's log (Connection closed /
 * refused), so each run ends only once the device has let go of it.
 *
 * Services: the WebSocket echo route, the broadcast route, the log route,
 * the page (GET /, /routes.json; HEAD, 405, 404) on the WebSocket server's
 * port, the TCP echo server, the UDP echo server. Ends: Close 1000 from the
 * client, Close without a code, reset (RST), FIN without Close, an
 * unmasked frame (1002), a message over the route's limit (1009), refused
 * at capacity (503) and beyond the spare sockets (closed unanswered), the
 * handshake timeout, heartbeat loss (a client that never pongs), a
 * server-side Close the client never answers (closeTimeout), the TCP idle
 * timeout, the TCP backlog (waiting, gone while waiting, refused beyond).
 */

import { randomBytes } from "node:crypto";
import * as net from "node:net";
import WebSocket from "ws";
import type { Endpoint } from "../device/targets.js";
import { RawConnection, newKey, upgradeRequest } from "../conformance/client.js";
import { Op, frame } from "../conformance/frames.js";
import { closed } from "../oracle/ws-echo.js";
import { udpSender } from "../oracle/udp-echo.js";
import type { Census } from "./census.js";

/** What a case needs of the device. */
export interface ChurnTarget {
	host: string;
	wsPort: number;
	tcp: Endpoint;
	udp: Endpoint;
	paths: { echo: string; broadcast: string; log: string };
	/** The device's settings the ends depend on (ms; counts). */
	handshakeTimeout: number;
	heartbeat: number;
	closeTimeout: number;
	tcpIdleTimeout: number;
	wsMaxClients: number;
	tcpMaxClients: number;
	tcpBacklog: number;
	/** Whether the device's sockets take writes after the peer's FIN (lwIP refuses them: what a half-closed client sent may not come back). */
	writesAfterFin: boolean;
	/**
	 * Whether a client that stops reading fills the device's queue for it in
	 * seconds: over lwIP (8 KiB windows), not over the simulator's kernel
	 * sockets (megabytes of buffers at its ~0.1 MB/s: minutes).
	 */
	slowConsumers: boolean;
	/** Resolves once the device has logged this client port closed or refused (since the run began). */
	deviceLetGo(port: number, timeoutMs?: number): Promise<void>;
	/** Resolves once the device has logged a line matching (since the run began). */
	deviceLogged(pattern: RegExp, timeoutMs?: number): Promise<void>;
	/** What the servers hold now (the census). */
	census(): Promise<Census>;
}

export type Service = "echo route" | "broadcast route" | "log route" | "page" | "TCP echo" | "UDP echo";

export interface ChurnCase {
	service: Service;
	/** How the connections end. */
	end: string;
	/** The server whose sockets it takes; exclusive: all of them (capacity cases). */
	server: "ws" | "tcp" | "udp";
	exclusive?: boolean;
	/** Connections one run makes. */
	connections: number;
	/** Share of the churn's connections (slow cases: a small share, they hold a socket for seconds). */
	weight: number;
	run(target: ChurnTarget): Promise<number[]>;
}

/** Generous waits: the simulator under a loaded machine answers in seconds, not milliseconds. */
const WAIT = 20_000;

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

function wsUrl(target: ChurnTarget, path: string): string {
	return `ws://${target.host}:${target.wsPort}${path}`;
}

function portOf(socket: net.Socket | undefined): number {
	const port = socket?.localPort;
	if (!port)
		throw new Error("a client socket has no local port");
	return port;
}

function wsPort(ws: WebSocket): number {
	return portOf((ws as unknown as { _socket?: net.Socket })._socket);
}

/** A `ws` client: its local port (read while it is open), and the messages it got from the first one on. */
interface WsClient {
	ws: WebSocket;
	port: number;
	messages: Buffer[];
	/** The next message not taken yet. */
	next(): Promise<Buffer>;
}

async function openQuiet(url: string): Promise<WsClient> {
	const messages: Buffer[] = [];
	let taken = 0;
	let wake: (() => void) | undefined;
	const ws = new WebSocket(url, { handshakeTimeout: WAIT });
	ws.on("error", () => undefined);
	// Listening from the start: a message that comes with the 101 is emitted at once.
	ws.on("message", data => {
		messages.push(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer));
		wake?.();
	});
	await new Promise<void>((resolve, reject) => {
		ws.once("open", () => resolve());
		ws.once("error", reject);
		ws.once("unexpected-response", (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
	});
	return {
		ws, port: wsPort(ws), messages,
		async next() {
			const deadline = Date.now() + WAIT;
			while (messages.length <= taken) {
				if (Date.now() > deadline || ws.readyState > WebSocket.OPEN)
					throw new Error("no WebSocket message came");
				await new Promise<void>(resolve => {
					wake = resolve;
					setTimeout(resolve, 100);
				});
			}
			return messages[taken++];
		},
	};
}

async function closeWith1000({ ws }: WsClient): Promise<void> {
	const done = closed(ws, WAIT);
	ws.close(1000, "done");
	const { code } = await done;
	if (code !== 1000)
		throw new Error(`Close 1000 answered with ${code}`);
}

/** A raw connection through the handshake on `path`. */
async function rawOpen(target: ChurnTarget, path: string): Promise<RawConnection & { port: number }> {
	const connection = await RawConnection.open(new URL(wsUrl(target, path)), WAIT);
	return Object.assign(connection, { port: portOf(connection.socket) });
}

async function serverClosedTcp(connection: RawConnection, what: string, timeoutMs = WAIT): Promise<void> {
	if (!await connection.waitFor(() => connection.tcpClosed, timeoutMs))
		throw new Error(`${what}: the device did not close TCP within ${timeoutMs} ms`);
}

/**
 * A TCP client that watches its socket: bytes in, and whether the device
 * closed (FIN or reset). It never writes unless told: a WebSocket client
 * built on it answers no Ping and no Close.
 */
class Watched {
	readonly socket: net.Socket;
	readonly port: number;
	received = Buffer.alloc(0);
	closed = false;
	readonly #waiters = new Set<() => void>();

	private constructor(socket: net.Socket) {
		this.socket = socket;
		this.port = portOf(socket);
		socket.on("error", () => undefined);
		socket.on("data", chunk => {
			this.received = Buffer.concat([this.received, chunk]);
			this.#notify();
		});
		const end = () => {
			this.closed = true;
			this.#notify();
		};
		socket.on("end", end);
		socket.on("close", end);
	}

	static connect(endpoint: Endpoint): Promise<Watched> {
		return new Promise((resolve, reject) => {
			const socket = net.connect({ host: endpoint.host, port: endpoint.port });
			const timer = setTimeout(() => {
				socket.destroy();
				reject(new Error(`connect to ${endpoint.host}:${endpoint.port} timed out`));
			}, WAIT);
			socket.once("connect", () => {
				clearTimeout(timer);
				socket.removeAllListeners("error");
				resolve(new Watched(socket));
			});
			socket.once("error", e => {
				clearTimeout(timer);
				reject(e);
			});
		});
	}

	until(test: () => boolean, what: string, timeoutMs = WAIT): Promise<void> {
		if (test())
			return Promise.resolve();
		return new Promise((resolve, reject) => {
			const check = () => {
				if (!test())
					return;
				clearTimeout(timer);
				this.#waiters.delete(check);
				resolve();
			};
			const timer = setTimeout(() => {
				this.#waiters.delete(check);
				reject(new Error(`${what}: not within ${timeoutMs} ms (${this.received.length} bytes in, ${this.closed ? "closed" : "open"})`));
			}, timeoutMs);
			this.#waiters.add(check);
		});
	}

	#notify(): void {
		for (const waiter of [...this.#waiters])
			waiter();
	}
}

/** A WebSocket client that completes the handshake by hand and then answers nothing (no Pong, no Close). */
async function silentWs(target: ChurnTarget, path: string): Promise<Watched> {
	const client = await Watched.connect({ host: target.host, port: target.wsPort });
	client.socket.write(upgradeRequest(new URL(wsUrl(target, path)), newKey()));
	await client.until(() => client.received.includes("\r\n\r\n"), "the 101 answer");
	const status = client.received.subarray(0, 12).toString("latin1");
	if (status !== "HTTP/1.1 101")
		throw new Error(`upgrade answered ${client.received.subarray(0, client.received.indexOf("\r\n")).toString("latin1")}`);
	client.received = client.received.subarray(client.received.indexOf("\r\n\r\n") + 4);
	return client;
}

/** The status of an HTTP answer in `bytes` (0 when none yet). */
function statusOf(bytes: Buffer): number {
	const match = /^HTTP\/1\.[01] (\d{3})/.exec(bytes.subarray(0, 16).toString("latin1"));
	return match ? Number(match[1]) : 0;
}

async function wsSockets(target: ChurnTarget): Promise<number> {
	return (await target.census()).servers.find(s => s.kind === "WebSocketServer")?.sockets ?? 0;
}

/** Wait until the WebSocket server holds no socket (a run alone on the server). */
async function socketsDown(target: ChurnTarget): Promise<void> {
	for (const deadline = Date.now() + WAIT; await wsSockets(target) > 0;) {
		if (Date.now() > deadline)
			throw new Error("the WebSocket server still holds a socket of a client that reset");
		await sleep(100);
	}
}

/* ------------------------------------------------ the WebSocket routes */

type Route = "echo" | "broadcast" | "log";

const serviceOf: Record<Route, Service> = { echo: "echo route", broadcast: "broadcast route", log: "log route" };

/** The exchange that shows a route works before the end: an echo, a message relayed, a log line. */
async function exercise(route: Route, client: WsClient): Promise<void> {
	if (route === "echo") {
		const message = randomBytes(64);
		client.ws.send(message);
		if (!(await client.next()).equals(message))
			throw new Error("the echo came back different");
	}
	else if (route === "broadcast")
		client.ws.send(randomBytes(32));
	else
		await client.next();		// the log route sends the line of this follower's own arrival
}

/** The bytes that show a raw client is through, before it ends: a message (the log route ignores it). */
function rawMessage(): Buffer {
	return frame(Op.TEXT, "churn");
}

function closeFromClient(route: Route): ChurnCase {
	return {
		service: serviceOf[route], end: "Close 1000 from the client", server: "ws", connections: 1, weight: 6,
		async run(target) {
			const client = await openQuiet(wsUrl(target, target.paths[route]));
			await exercise(route, client);
			await closeWith1000(client);
			return [client.port];
		},
	};
}

function closeWithoutCode(route: Route): ChurnCase {
	return {
		service: serviceOf[route], end: "Close without a code", server: "ws", connections: 1, weight: 3,
		async run(target) {
			const c = await rawOpen(target, target.paths[route]);
			await c.write(rawMessage());
			c.sendClose();
			await serverClosedTcp(c, "after a Close without a code");
			if (!c.serverClose)
				throw new Error("the device closed TCP without answering the Close");
			if (c.serverClose.code !== undefined && c.serverClose.code !== 1000)
				throw new Error(`a Close without a code answered with ${c.serverClose.code}`);
			return [c.port];
		},
	};
}

function resetByClient(route: Route): ChurnCase {
	return {
		service: serviceOf[route], end: route === "echo" ? "reset (RST) mid-frame" : "reset (RST)", server: "ws", connections: 1, weight: 3,
		async run(target) {
			const c = await rawOpen(target, target.paths[route]);
			const port = c.port;
			if (route === "echo") {
				// Part of a 16 KiB frame, part of its echo seen, then the reset.
				const whole = frame(Op.BINARY, randomBytes(16 * 1024));
				let received = 0;
				c.socket.on("data", (chunk: Buffer) => { received += chunk.length; });
				c.socket.write(whole.subarray(0, 8 + 2048));
				await c.waitFor(() => received > 0, WAIT);
			}
			else
				await c.write(rawMessage());
			c.socket.resetAndDestroy();
			return [port];
		},
	};
}

function finWithoutClose(route: Route): ChurnCase {
	return {
		service: serviceOf[route], end: "FIN without a Close", server: "ws", connections: 1, weight: 3,
		async run(target) {
			const c = await rawOpen(target, target.paths[route]);
			await c.write(rawMessage());
			c.socket.end();
			await serverClosedTcp(c, "after the client's FIN");
			return [c.port];
		},
	};
}

function unmaskedFrame(route: Route): ChurnCase {
	return {
		service: serviceOf[route], end: "unmasked frame (1002)", server: "ws", connections: 1, weight: 3,
		async run(target) {
			const c = await rawOpen(target, target.paths[route]);
			await c.write(frame(Op.TEXT, "unmasked", { mask: false }));
			await serverClosedTcp(c, "after an unmasked frame");
			if (c.serverClose?.code !== 1002)
				throw new Error(`an unmasked frame ended with ${c.serverClose ? `Close ${c.serverClose.code}` : "no Close"}, not 1002`);
			return [c.port];
		},
	};
}

function tooBig(route: Route, size: number): ChurnCase {
	return {
		service: serviceOf[route], end: "message too big (1009)", server: "ws", connections: 1, weight: 3,
		async run(target) {
			const c = await rawOpen(target, target.paths[route]);
			await c.write(frame(Op.BINARY, randomBytes(size)));
			await serverClosedTcp(c, `after a ${size}-byte message`);
			if (c.serverClose?.code !== 1009)
				throw new Error(`a ${size}-byte message ended with ${c.serverClose ? `Close ${c.serverClose.code}` : "no Close"}, not 1009`);
			return [c.port];
		},
	};
}

function heartbeatLoss(route: Route): ChurnCase {
	return {
		service: serviceOf[route], end: "heartbeat loss (never pongs)", server: "ws", connections: 1, weight: 0.4,
		async run(target) {
			const client = await silentWs(target, target.paths[route]);
			// Dropped at the second beat after the first unanswered ping: at most two heartbeats and a sweep.
			await client.until(() => client.closed, "the device dropping a client that never pongs", 4 * target.heartbeat + WAIT);
			return [client.port];
		},
	};
}

function closeUnanswered(route: Route): ChurnCase {
	return {
		service: serviceOf[route], end: "server-side Close never answered (closeTimeout)", server: "ws", connections: 1, weight: 0.4,
		async run(target) {
			const client = await silentWs(target, target.paths[route]);
			client.socket.write(frame(Op.TEXT, "unmasked", { mask: false }));
			// The device sends Close 1002 and waits closeTimeout for one back that never comes.
			await client.until(() => client.closed, "the device giving up on an unanswered Close", 2 * target.closeTimeout + WAIT);
			const close = Buffer.from([0x88]);
			if (!client.received.includes(close))
				throw new Error("the device closed TCP without a Close frame first");
			return [client.port];
		},
	};
}

/** The broadcast's own end: two clients, one message relayed from one to the other, both leave. */
function relayed(): ChurnCase {
	return {
		service: "broadcast route", end: "a message relayed, both Close 1000", server: "ws", connections: 2, weight: 4,
		async run(target) {
			const url = wsUrl(target, target.paths.broadcast);
			const a = await openQuiet(url);
			const b = await openQuiet(url).catch(e => {
				a.ws.terminate();
				throw e;
			});
			const message = randomBytes(48);
			a.ws.send(message);
			// Other clients of the route may be broadcasting too: this one among what b gets.
			for (;;) {
				if ((await b.next()).equals(message))
					break;
			}
			await Promise.all([closeWith1000(a), closeWith1000(b)]);
			return [a.port, b.port];
		},
	};
}

/**
 * Clients that stop reading while the broadcast route relays a flood: the
 * broadcast's reader lags (remembered in the route's lags) until it is
 * dropped with 1008 "too slow"; the log route's follower, which gets a line
 * per message relayed, lags too once its buffers are full (its lines
 * skipped, never dropped), until it resets. Alone on the server: the flood
 * would reach every other broadcast client.
 */
function slowConsumers(): ChurnCase {
	return {
		service: "broadcast route", end: "stopped reading: dropped 1008 too slow; a log follower stopped reading too, then reset", server: "ws", exclusive: true, connections: 3, weight: 0.3,
		async run(target) {
			const slow = await silentWs(target, target.paths.broadcast);
			const follower = await silentWs(target, target.paths.log);
			slow.socket.pause();
			follower.socket.pause();
			const sender = await openQuiet(wsUrl(target, target.paths.broadcast));
			const payload = randomBytes(1000);
			let dropped = false;
			const drop = target.deviceLogged(new RegExp(`Route ${target.paths.broadcast}: [\\d.]+:${slow.port} took no message for \\d+ ms`), 60_000)
				.finally(() => { dropped = true; });
			try {
				while (!dropped) {
					if (sender.ws.bufferedAmount < 8192)
						sender.ws.send(payload);
					await sleep(5);
				}
				await drop;
			}
			finally {
				slow.socket.destroy();
				follower.socket.resetAndDestroy();
				await closeWith1000(sender).catch(() => sender.ws.terminate());
			}
			return [slow.port, follower.port, sender.port];
		},
	};
}

/** The echo's commands: "Trigger async" (data from a timer, after the Close may have come) and "Ping". */
function commandsThenClose(): ChurnCase {
	return {
		service: "echo route", end: "Trigger async and Ping, then Close 1000", server: "ws", connections: 1, weight: 2,
		async run(target) {
			const client = await openQuiet(wsUrl(target, target.paths.echo));
			const pinged = new Promise<void>(resolve => client.ws.once("ping", () => resolve()));
			client.ws.send("Ping");
			await pinged;
			client.ws.send("Trigger async");
			await closeWith1000(client);
			return [client.port];
		},
	};
}

/** A socket that says nothing: the handshake timeout closes it. */
function handshakeTimeout(): ChurnCase {
	return {
		service: "echo route", end: "handshake timeout", server: "ws", connections: 1, weight: 0.5,
		async run(target) {
			const client = await Watched.connect({ host: target.host, port: target.wsPort });
			client.socket.write(`GET ${target.paths.echo} HTTP/1.1\r\nHost: device\r\n`);		// a head that never ends
			await client.until(() => client.closed, "the handshake timeout", 2 * target.handshakeTimeout + WAIT);
			return [client.port];
		},
	};
}

/** maxClients clients on the routes, then one more: 503. */
function refusedAtCapacity(): ChurnCase {
	return {
		service: "echo route", end: "refused at capacity (503)", server: "ws", exclusive: true, connections: 5, weight: 0.5,
		async run(target) {
			const held = await holdClients(target);
			try {
				const extra = await Watched.connect({ host: target.host, port: target.wsPort });
				extra.socket.write(upgradeRequest(new URL(wsUrl(target, target.paths.echo)), newKey()));
				await extra.until(() => extra.closed, "the answer to a client beyond maxClients");
				if (statusOf(extra.received) !== 503)
					throw new Error(`a client beyond maxClients got ${statusOf(extra.received) || "no answer"}, not 503`);
				return [...held.map(c => c.port), extra.port];
			}
			finally {
				await Promise.all(held.map(c => closeWith1000(c).catch(() => c.ws.terminate())));
			}
		},
	};
}

/** maxClients clients and both spare sockets taken: one more is closed unanswered; the spares are then answered 503. */
function beyondSpareSockets(): ChurnCase {
	return {
		service: "echo route", end: "beyond the spare sockets (closed unanswered), spares answered 503", server: "ws", exclusive: true, connections: 7, weight: 0.5,
		async run(target) {
			const held = await holdClients(target);
			const spares: Watched[] = [];
			try {
				const endpoint = { host: target.host, port: target.wsPort };
				for (let i = 0; i < 2; i++)
					spares.push(await Watched.connect(endpoint));
				// Both spares accepted (the server logs no accept: its census says) before the next one arrives.
				for (let deadline = Date.now() + WAIT; await wsSockets(target) < held.length + spares.length;) {
					if (Date.now() > deadline)
						throw new Error("the spare sockets were not accepted");
					await sleep(50);
				}
				const beyond = await Watched.connect(endpoint);
				await target.deviceLetGo(beyond.port);
				await beyond.until(() => beyond.closed, "a connection beyond the spare sockets being closed");
				if (beyond.received.length)
					throw new Error(`a connection beyond the spare sockets was answered (${beyond.received.length} bytes)`);
				for (const spare of spares)
					spare.socket.write(upgradeRequest(new URL(wsUrl(target, target.paths.echo)), newKey()));
				for (const spare of spares) {
					await spare.until(() => spare.closed, "the answer to a spare socket");
					if (statusOf(spare.received) !== 503)
						throw new Error(`a spare socket got ${statusOf(spare.received) || "no answer"}, not 503`);
				}
				return [...held.map(c => c.port), ...spares.map(s => s.port), beyond.port];
			}
			finally {
				for (const spare of spares)
					spare.socket.destroy();
				await Promise.all(held.map(c => closeWith1000(c).catch(() => c.ws.terminate())));
			}
		},
	};
}

/** maxClients `ws` clients across the routes, each through its route's exchange. */
async function holdClients(target: ChurnTarget): Promise<WsClient[]> {
	const routes: Route[] = ["echo", "broadcast", "log", "echo"];
	const held: WsClient[] = [];
	try {
		for (let i = 0; i < target.wsMaxClients; i++) {
			const route = routes[i % routes.length];
			const client = await openQuiet(wsUrl(target, target.paths[route]));
			held.push(client);
			if (route !== "broadcast")
				await exercise(route, client);
		}
	}
	catch (e) {
		// Closed, and logged closed, before the run gives its sockets back.
		await Promise.all(held.map(c => closeWith1000(c).catch(() => c.ws.terminate())));
		throw e;
	}
	return held;
}

/* ----------------------------------------------------------- the page */

function httpRequest(name: string, request: string, check: (answer: Buffer) => string | undefined, weight = 2): ChurnCase {
	return {
		service: "page", end: name, server: "ws", connections: 1, weight,
		async run(target) {
			const client = await Watched.connect({ host: target.host, port: target.wsPort });
			client.socket.write(request.replace("{host}", `${target.host}:${target.wsPort}`));
			await client.until(() => client.closed, `the answer to ${name}`);
			const problem = check(client.received);
			if (problem)
				throw new Error(`${name}: ${problem}`);
			return [client.port];
		},
	};
}

function bodyOf(answer: Buffer): Buffer {
	const end = answer.indexOf("\r\n\r\n");
	return end < 0 ? Buffer.alloc(0) : answer.subarray(end + 4);
}

const expectStatus = (status: number, body?: (b: Buffer) => string | undefined) => (answer: Buffer) =>
	statusOf(answer) !== status ? `answered ${statusOf(answer) || "nothing"}, not ${status}` : body?.(bodyOf(answer));

function pageCases(): ChurnCase[] {
	return [
		httpRequest("GET / (200)", "GET / HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: gzip\r\n\r\n", expectStatus(200, b => (b.length ? undefined : "no body")), 4),
		httpRequest("GET /routes.json (200)", "GET /routes.json HTTP/1.1\r\nHost: {host}\r\n\r\n", expectStatus(200, b => {
			try {
				return typeof JSON.parse(b.toString()).echo === "string" ? undefined : "no echo path in it";
			}
			catch {
				return `not JSON: ${b.toString().slice(0, 40)}`;
			}
		}), 4),
		httpRequest("HEAD / (200, no body)", "HEAD / HTTP/1.1\r\nHost: {host}\r\n\r\n", expectStatus(200, b => (b.length ? `${b.length} body bytes` : undefined))),
		httpRequest("POST / (405)", "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n", expectStatus(405)),
		httpRequest("GET a path nothing serves (404)", "GET /nothing-here HTTP/1.1\r\nHost: {host}\r\n\r\n", expectStatus(404)),
		// A reset that may come before the device accepts: the simulator then names the peer wrongly (lin tcp.c's
		// getpeername on a reset socket), so its log cannot say this port closed; the server's census says when
		// it holds no socket again, which only a run alone on the server can ask.
		{
			service: "page", end: "reset (RST) mid-request", server: "ws", exclusive: true, connections: 1, weight: 1,
			async run(target) {
				const client = await Watched.connect({ host: target.host, port: target.wsPort });
				client.socket.write("GET / HTTP/1.1\r\nHo");
				await sleep(30);
				client.socket.resetAndDestroy();
				await socketsDown(target);
				return [];
			},
		},
		{
			service: "page", end: "reset (RST) as soon as the request is sent", server: "ws", exclusive: true, connections: 1, weight: 1,
			async run(target) {
				const client = await Watched.connect({ host: target.host, port: target.wsPort });
				client.socket.write(`GET / HTTP/1.1\r\nHost: ${target.host}\r\n\r\n`);
				client.socket.resetAndDestroy();
				await socketsDown(target);
				return [];
			},
		},
		{
			service: "page", end: "reset (RST) once the answer begins", server: "ws", connections: 1, weight: 2,
			async run(target) {
				const client = await Watched.connect({ host: target.host, port: target.wsPort });
				client.socket.write(`GET / HTTP/1.1\r\nHost: ${target.host}\r\n\r\n`);
				await client.until(() => client.received.length > 0, "the answer's first bytes");
				client.socket.resetAndDestroy();
				return [client.port];
			},
		},
		{
			service: "page", end: "FIN mid-request", server: "ws", connections: 1, weight: 2,
			async run(target) {
				const client = await Watched.connect({ host: target.host, port: target.wsPort });
				client.socket.end("GET /routes.json HTTP/1.1\r\nHost:");
				await client.until(() => client.closed, "the device closing a request cut by a FIN");
				return [client.port];
			},
		},
	];
}

/* ---------------------------------------------------------- TCP, UDP */

async function tcpEcho(client: Watched, size: number): Promise<void> {
	const payload = randomBytes(size);
	const before = client.received.length;
	client.socket.write(payload);
	await client.until(() => client.received.length >= before + size, `the echo of ${size} bytes`);
	if (!client.received.subarray(before, before + size).equals(payload))
		throw new Error("the TCP echo came back different");
}

function tcpCases(): ChurnCase[] {
	return [
		{
			service: "TCP echo", end: "FIN from the client", server: "tcp", connections: 1, weight: 6,
			async run(target) {
				const client = await Watched.connect(target.tcp);
				await tcpEcho(client, 1024);
				client.socket.end();
				await client.until(() => client.closed, "the device closing after the client's FIN");
				return [client.port];
			},
		},
		{
			service: "TCP echo", end: "half-close with data in flight", server: "tcp", connections: 1, weight: 3,
			async run(target) {
				const client = await Watched.connect(target.tcp);
				const payload = randomBytes(4096);
				client.socket.end(payload);
				await client.until(() => client.closed, "the device closing after echoing a half-closed stream");
				// Over lwIP the bytes that came with the FIN may be lost (tcp/connection: writes after it are refused): a part, never others.
				const whole = client.received.equals(payload);
				if (target.writesAfterFin ? !whole : !payload.subarray(0, client.received.length).equals(client.received))
					throw new Error(`a half-closed stream echoed ${client.received.length} of ${payload.length} bytes, or different ones`);
				return [client.port];
			},
		},
		{
			service: "TCP echo", end: "reset (RST) mid-stream", server: "tcp", connections: 1, weight: 3,
			async run(target) {
				const client = await Watched.connect(target.tcp);
				client.socket.write(randomBytes(16 * 1024));
				await client.until(() => client.received.length >= 1024, "the first KiB of an echo");
				client.socket.resetAndDestroy();
				return [client.port];
			},
		},
		{
			service: "TCP echo", end: "idle timeout", server: "tcp", connections: 1, weight: 0.4,
			async run(target) {
				const client = await Watched.connect(target.tcp);
				await tcpEcho(client, 16);
				await client.until(() => client.closed, "the idle timeout", 3 * target.tcpIdleTimeout + WAIT);
				return [client.port];
			},
		},
		{
			// Every slot served, the backlog's place taken by one that then resets (pruned), taken again,
			// one more refused; a slot freed serves the one waiting.
			service: "TCP echo", end: "backlog: gone while waiting, refused beyond, waiting then served", server: "tcp", exclusive: true,
			connections: 0, weight: 0.5,
			async run(target) {
				const served: Watched[] = [];
				const others: Watched[] = [];
				try {
					for (let i = 0; i < target.tcpMaxClients; i++) {
						served.push(await Watched.connect(target.tcp));
						await tcpEcho(served[i], 16);
					}
					const waits = async () => {
						const client = await Watched.connect(target.tcp);
						others.push(client);
						await target.deviceLogged(new RegExp(`Socket accepted ip address: [\\d.]+:${client.port}, waiting`));
						return client;
					};
					const gone = await waits();
					gone.socket.resetAndDestroy();
					await target.deviceLetGo(gone.port);		// the sweep finds it gone while waiting
					const waiting = await waits();
					waiting.socket.write("waiting");
					for (let i = 1; i < target.tcpBacklog; i++)
						await waits();		// (a larger backlog: fill it)
					const refused = await Watched.connect(target.tcp);
					others.push(refused);
					await refused.until(() => refused.closed, "a connection beyond the backlog being closed");
					if (refused.received.length)
						throw new Error("a connection beyond the backlog got bytes");
					served[0].socket.end();
					await waiting.until(() => waiting.received.length >= 7, "the waiting connection served once a slot freed");
					if (waiting.received.toString() !== "waiting")
						throw new Error("the waiting connection's bytes came back different");
					for (const client of [...served, ...others])
						if (!client.closed && !client.socket.destroyed)
							client.socket.end();
					return [...served, ...others].map(c => c.port);
				}
				finally {
					// An exception above: no client left behind.
					setTimeout(() => {
						for (const client of [...served, ...others])
							client.socket.destroy();
					}, WAIT).unref();
				}
			},
		},
		{
			service: "UDP echo", end: "one datagram echoed", server: "udp", connections: 1, weight: 4,
			async run(target) {
				const sender = await udpSender(target.udp);
				try {
					const payload = randomBytes(64);
					const { data } = await sender.echo(payload, WAIT);
					if (!data.equals(payload))
						throw new Error("a UDP echo came back different");
				}
				finally {
					sender.close();
				}
				return [];
			},
		},
	];
}

/** Every case of the churn: each WebSocket route with each end, the page, the TCP and UDP echo. */
export function churnCases(target: Pick<ChurnTarget, "tcpMaxClients" | "tcpBacklog" | "slowConsumers">): ChurnCase[] {
	const routes: Route[] = ["echo", "broadcast", "log"];
	const cases: ChurnCase[] = [];
	for (const route of routes) {
		cases.push(closeFromClient(route), closeWithoutCode(route), resetByClient(route), finWithoutClose(route), unmaskedFrame(route));
		if (route !== "echo")
			cases.push(tooBig(route, route === "broadcast" ? 2000 : 200));		// the echo streams: no limit
		cases.push(heartbeatLoss(route), closeUnanswered(route));
	}
	cases.push(relayed(), commandsThenClose(), handshakeTimeout(), refusedAtCapacity(), beyondSpareSockets());
	if (target.slowConsumers)
		cases.push(slowConsumers());
	cases.push(...pageCases(), ...tcpCases());
	const backlog = cases.find(c => c.end.startsWith("backlog"));
	if (backlog)
		backlog.connections = target.tcpMaxClients + target.tcpBacklog + 2;
	return cases;
}

