/*
 * The churn's cases for the other services: the page on the WebSocket
 * server's port (GET, HEAD, 405, 404), the routes that take a body
 * (httpUpload: a body in pieces, whole, ended mid-body), the TCP echo (ended by the client,
 * reset, idle timeout, the backlog) and the UDP echo.
 */

import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { keepsConnection, wholeReplies } from "../conformance/http-head.js";
import { udpSender } from "../oracle/udp-echo.js";
import { type ChurnCase, sleep, WAIT } from "./churn-case.js";
import { socketsDown, statusOf, Watched } from "./churn-clients.js";

function httpRequest(name: string, request: string, check: (answer: Buffer) => string | undefined, weight = 2): ChurnCase {
	return {
		service: "page",
		end: name,
		server: "ws",
		connections: 1,
		weight,
		async run(target) {
			const client = await Watched.connect({ host: target.host, port: target.wsPort });
			client.socket.write(request.replace("{host}", `${target.host}:${target.wsPort}`));
			await client.until(() => client.closed, `the answer to ${name}`);
			const problem = check(client.received);
			if (problem) throw new Error(`${name}: ${problem}`);
			return [client.port];
		},
	};
}

/**
 * Requests that ask to keep the connection (RFC 9112 9.3): `count` GETs one
 * after the other on one connection, each answered and kept; then the
 * client ends it (FIN), or leaves it to the server's idle limit.
 */
function keptRequests(name: string, count: number, ending: "client" | "idle"): ChurnCase {
	return {
		service: "page",
		end: name,
		server: "ws",
		connections: 1,
		weight: 2,
		async run(target) {
			const client = await Watched.connect({ host: target.host, port: target.wsPort });
			for (let i = 1; i <= count; i++) {
				client.socket.write(`GET /routes.json HTTP/1.1\r\nHost: ${target.host}:${target.wsPort}\r\nConnection: keep-alive\r\n\r\n`);
				await client.until(() => wholeReplies(client.received).length >= i || client.closed, `reply ${i} of ${count} on a kept connection`);
				const reply = wholeReplies(client.received)[i - 1];
				if (reply?.status !== 200 || !keepsConnection(reply))
					throw new Error(`${name}: reply ${i} ${reply ? `${reply.status}, Connection: ${reply.headers.get("connection")}` : "missing (closed)"}`);
			}
			if (ending === "client") client.socket.end();
			await client.until(() => client.closed, ending === "client" ? "the close after our FIN" : "the server's close at its idle limit");
			return [client.port];
		},
	};
}

/** A body sent to /upload (POST: in pieces as they come; PUT: whole), answered with its length and CRC-32 (app/http-upload). */
function uploadRequest(name: string, method: "POST" | "PUT", size: number): ChurnCase {
	return {
		service: "page",
		end: name,
		server: "ws",
		connections: 1,
		weight: 2,
		async run(target) {
			const client = await Watched.connect({ host: target.host, port: target.wsPort });
			const body = randomBytes(size);
			client.socket.write(`${method} /upload HTTP/1.1\r\nHost: ${target.host}:${target.wsPort}\r\nContent-Length: ${size}\r\n\r\n`);
			for (let at = 0; at < size; at += 4096) client.socket.write(body.subarray(at, at + 4096));
			await client.until(() => client.closed, `the answer to ${name}`);
			const [reply] = wholeReplies(client.received);
			const expected = JSON.stringify({ bytes: size, crc32: crc32(body) });
			if (reply?.status !== 200 || reply.body.toString() !== expected)
				throw new Error(`${name}: ${reply ? `${reply.status} ${reply.body.toString().slice(0, 80)}` : "no answer"}, expected 200 ${expected}`);
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

export function pageCases(): ChurnCase[] {
	return [
		httpRequest(
			"GET / (200)",
			"GET / HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: gzip\r\n\r\n",
			expectStatus(200, b => (b.length ? undefined : "no body")),
			4,
		),
		httpRequest(
			"GET /routes.json (200)",
			"GET /routes.json HTTP/1.1\r\nHost: {host}\r\n\r\n",
			expectStatus(200, b => {
				try {
					return typeof JSON.parse(b.toString()).echo === "string" ? undefined : "no echo path in it";
				} catch {
					return `not JSON: ${b.toString().slice(0, 40)}`;
				}
			}),
			4,
		),
		httpRequest(
			"HEAD / (200, no body)",
			"HEAD / HTTP/1.1\r\nHost: {host}\r\n\r\n",
			expectStatus(200, b => (b.length ? `${b.length} body bytes` : undefined)),
		),
		httpRequest("POST / (405)", "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n", expectStatus(405)),
		httpRequest("GET a path nothing serves (404)", "GET /nothing-here HTTP/1.1\r\nHost: {host}\r\n\r\n", expectStatus(404)),
		uploadRequest("POST /upload, 16 KiB in pieces (200, its CRC-32)", "POST", 16 * 1024),
		uploadRequest("PUT /upload, 1000 B whole (200, its CRC-32)", "PUT", 1000),
		// The route is told (onAbort) and nothing is answered; the census says when the server holds no socket again.
		{
			service: "page",
			end: "reset (RST) mid-body of POST /upload",
			server: "ws",
			exclusive: true,
			connections: 1,
			weight: 1,
			async run(target) {
				const client = await Watched.connect({ host: target.host, port: target.wsPort });
				client.socket.write(`POST /upload HTTP/1.1\r\nHost: ${target.host}\r\nContent-Length: 100000\r\n\r\n`);
				client.socket.write(randomBytes(4096));
				await sleep(30);
				client.socket.resetAndDestroy();
				await socketsDown(target);
				return [];
			},
		},
		keptRequests("3 requests kept on one connection, then FIN", 3, "client"),
		keptRequests("a kept connection closed at the idle limit", 1, "idle"),
		// A reset that may come before the device accepts: the simulator then names the peer wrongly (lin tcp.c's
		// getpeername on a reset socket), so its log cannot say this port closed; the server's census says when
		// it holds no socket again, which only a run alone on the server can ask.
		{
			service: "page",
			end: "reset (RST) mid-request",
			server: "ws",
			exclusive: true,
			connections: 1,
			weight: 1,
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
			service: "page",
			end: "reset (RST) as soon as the request is sent",
			server: "ws",
			exclusive: true,
			connections: 1,
			weight: 1,
			async run(target) {
				const client = await Watched.connect({ host: target.host, port: target.wsPort });
				client.socket.write(`GET / HTTP/1.1\r\nHost: ${target.host}\r\n\r\n`);
				client.socket.resetAndDestroy();
				await socketsDown(target);
				return [];
			},
		},
		{
			service: "page",
			end: "reset (RST) once the answer begins",
			server: "ws",
			connections: 1,
			weight: 2,
			async run(target) {
				const client = await Watched.connect({ host: target.host, port: target.wsPort });
				client.socket.write(`GET / HTTP/1.1\r\nHost: ${target.host}\r\n\r\n`);
				await client.until(() => client.received.length > 0, "the answer's first bytes");
				client.socket.resetAndDestroy();
				return [client.port];
			},
		},
		{
			service: "page",
			end: "FIN mid-request",
			server: "ws",
			connections: 1,
			weight: 2,
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
	if (!client.received.subarray(before, before + size).equals(payload)) throw new Error("the TCP echo came back different");
}

export function tcpCases(): ChurnCase[] {
	return [
		{
			service: "TCP echo",
			end: "FIN from the client",
			server: "tcp",
			connections: 1,
			weight: 6,
			async run(target) {
				const client = await Watched.connect(target.tcp);
				await tcpEcho(client, 1024);
				client.socket.end();
				await client.until(() => client.closed, "the device closing after the client's FIN");
				return [client.port];
			},
		},
		{
			service: "TCP echo",
			end: "half-close with data in flight",
			server: "tcp",
			connections: 1,
			weight: 3,
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
			service: "TCP echo",
			end: "reset (RST) mid-stream",
			server: "tcp",
			connections: 1,
			weight: 3,
			async run(target) {
				const client = await Watched.connect(target.tcp);
				client.socket.write(randomBytes(16 * 1024));
				await client.until(() => client.received.length >= 1024, "the first KiB of an echo");
				client.socket.resetAndDestroy();
				return [client.port];
			},
		},
		{
			service: "TCP echo",
			end: "idle timeout",
			server: "tcp",
			connections: 1,
			weight: 0.4,
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
			service: "TCP echo",
			end: "backlog: gone while waiting, refused beyond, waiting then served",
			server: "tcp",
			exclusive: true,
			connections: 0,
			weight: 0.5,
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
					await target.deviceLetGo(gone.port); // the sweep finds it gone while waiting
					const waiting = await waits();
					waiting.socket.write("waiting");
					for (let i = 1; i < target.tcpBacklog; i++) await waits(); // (a larger backlog: fill it)
					const refused = await Watched.connect(target.tcp);
					others.push(refused);
					await refused.until(() => refused.closed, "a connection beyond the backlog being closed");
					if (refused.received.length) throw new Error("a connection beyond the backlog got bytes");
					served[0].socket.end();
					await waiting.until(() => waiting.received.length >= 7, "the waiting connection served once a slot freed");
					if (waiting.received.toString() !== "waiting") throw new Error("the waiting connection's bytes came back different");
					for (const client of [...served, ...others]) if (!client.closed && !client.socket.destroyed) client.socket.end();
					return [...served, ...others].map(c => c.port);
				} finally {
					// An exception above: no client left behind.
					setTimeout(() => {
						for (const client of [...served, ...others]) client.socket.destroy();
					}, WAIT).unref();
				}
			},
		},
		{
			service: "UDP echo",
			end: "one datagram echoed",
			server: "udp",
			connections: 1,
			weight: 4,
			async run(target) {
				const sender = await udpSender(target.udp);
				try {
					const payload = randomBytes(64);
					const { data } = await sender.echo(payload, WAIT);
					if (!data.equals(payload)) throw new Error("a UDP echo came back different");
				} finally {
					sender.close();
				}
				return [];
			},
		},
	];
}
