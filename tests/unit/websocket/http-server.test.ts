// The WebSocket server's HTTP routes over real sockets, asked by Node's fetch
// (undici) as a browser or a script would: a setting changed by POST and
// read back by GET, path parameters, JSON and form bodies, the body limit
// (413, judged before the body is read), a chunked body (411), 405 with
// Allow, DELETE, and a WebSocket route on the same path beside them.
// Persistent connections (RFC 9112 9.3): requests one after the other and
// pipelined on one raw socket, kept only when asked, closed at the idle
// limit, an upgrade on a kept connection, and a kept connection counted
// among the server's sockets.
import { once } from "node:events";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HttpError, json } from "websocket/http-routes";
import { WebSocketServer, type WebSocketServerOptions } from "websocket/server";
import WebSocket from "ws";
import { RawClient } from "./raw-http-client.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
	while (cleanups.length) cleanups.pop()!();
});

/** A device's settings, as an app keeps them. */
function serve(options: Partial<WebSocketServerOptions> = {}): WebSocketServer {
	const settings: Record<string, unknown> = { level: 3 };
	const leds = new Map<string, boolean>();
	const server = new WebSocketServer({ port: 0, logTag: "http-test", ...options });
	server.get("/settings", () => json(settings));
	server.post(
		"/settings",
		request => {
			const changes = request.json();
			if (typeof changes !== "object" || changes === null || Array.isArray(changes)) throw new HttpError(422, "settings are a JSON object");
			Object.assign(settings, changes);
			return json(settings);
		},
		{ maxBody: 256 },
	);
	server.put("/led/:id", request => {
		const on = request.form().on === "1";
		leds.set(request.params.id, on);
		return json({ id: request.params.id, on }, 201);
	});
	server.get("/led/:id", request =>
		leds.has(request.params.id) ? json({ on: leds.get(request.params.id) }) : { status: 404, type: "text/plain", body: "no such led\n" },
	);
	server.delete("/led/:id", request => ({ status: leds.delete(request.params.id) ? 204 : 404, type: "text/plain", body: "" }));
	server.route("/settings", {
		onMessage(connection) {
			connection.sendText("ws too");
		},
	});
	server.start();
	cleanups.push(() => server.close());
	return server;
}

/** One raw request (head and body as given); the status line's code. */
async function raw(port: number, request: string): Promise<number> {
	const socket = net.connect(port, "127.0.0.1");
	cleanups.push(() => socket.destroy());
	await once(socket, "connect");
	socket.write(request);
	const [chunk] = (await once(socket, "data")) as [Buffer];
	return Number(chunk.toString("latin1").split(" ")[1]);
}

describe("HTTP routes over sockets, asked by fetch", () => {
	it("changes a setting by POST and reads it back by GET", async () => {
		const server = serve();
		const base = `http://127.0.0.1:${server.port}`;
		expect(await (await fetch(`${base}/settings`)).json()).toEqual({ level: 3 });
		const posted = await fetch(`${base}/settings`, {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({ level: 5, name: "kitchen" }),
		});
		expect(posted.status).toBe(200);
		expect(posted.headers.get("content-type")).toBe("application/json");
		expect(await (await fetch(`${base}/settings`)).json()).toEqual({ level: 5, name: "kitchen" });
		expect((await fetch(`${base}/settings`, { method: "POST", body: "[1]" })).status).toBe(422);
		expect((await fetch(`${base}/settings`, { method: "POST", body: "level=5" })).status).toBe(400);
	});

	it("takes path parameters and form bodies, answers PUT 201 and DELETE 204, 404 from a handler", async () => {
		const server = serve();
		const base = `http://127.0.0.1:${server.port}`;
		const put = await fetch(`${base}/led/7`, { method: "PUT", body: new URLSearchParams({ on: "1" }) });
		expect([put.status, await put.json()]).toEqual([201, { id: "7", on: true }]);
		expect(await (await fetch(`${base}/led/7`)).json()).toEqual({ on: true });
		expect((await fetch(`${base}/led/7`, { method: "DELETE" })).status).toBe(204);
		expect((await fetch(`${base}/led/7`)).status).toBe(404);
		expect((await fetch(`${base}/led`)).status).toBe(404); // no route: the upgrade's 404
	});

	it("refuses a body over the route's maxBody with 413 before reading it, a chunked one with 411, another method with 405 and Allow", async () => {
		const server = serve();
		const base = `http://127.0.0.1:${server.port}`;
		const big = await fetch(`${base}/settings`, { method: "POST", body: JSON.stringify({ text: "x".repeat(300) }) });
		expect(big.status).toBe(413);
		// Declared, never sent: the answer comes from the Content-Length alone.
		expect(await raw(server.port, "POST /settings HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")).toBe(413);
		expect(await raw(server.port, "POST /settings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")).toBe(411);
		expect(await raw(server.port, "POST /settings HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n")).toBe(400);
		const patch = await fetch(`${base}/settings`, { method: "PATCH", body: "{}" });
		expect(patch.status).toBe(405);
		expect(patch.headers.get("allow")).toBe("GET, HEAD, POST");
	});

	it("reads a body that arrives in pieces, and serves a WebSocket on the same path", async () => {
		const server = serve();
		const socket = net.connect(server.port, "127.0.0.1");
		cleanups.push(() => socket.destroy());
		await once(socket, "connect");
		const body = JSON.stringify({ level: 9 });
		socket.write(`POST /settings HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
		await new Promise(resolve => setTimeout(resolve, 50));
		socket.write(body.slice(5));
		const [chunk] = (await once(socket, "data")) as [Buffer];
		expect(chunk.toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*"level":9/);
		const ws = new WebSocket(`ws://127.0.0.1:${server.port}/settings`);
		cleanups.push(() => ws.terminate());
		await once(ws, "open");
		ws.send("hi");
		expect(String((await once(ws, "message"))[0])).toBe("ws too");
	});
});

const keepAlive = "Connection: keep-alive\r\n";
const getSettings = `GET /settings HTTP/1.1\r\nHost: x\r\n${keepAlive}\r\n`;
const postSettings = (body: string) =>
	`POST /settings HTTP/1.1\r\nHost: x\r\n${keepAlive}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

describe("persistent connections (keep-alive)", () => {
	it("answers three requests one after the other on one socket, each kept, and closes it at the idle limit", async () => {
		const server = serve({ handshakeTimeout: 1000 });
		const client = await new RawClient(server.port, cleanups).connected();
		client.socket.write(getSettings);
		const first = await client.reply();
		expect([first.status, first.body]).toEqual([200, '{"level":3}']);
		expect(first.headers.get("connection")).toBe("keep-alive");
		expect(first.headers.get("keep-alive")).toBe("timeout=1");
		client.socket.write(postSettings('{"level":4}'));
		const second = await client.reply();
		expect([second.status, second.body, second.headers.get("connection")]).toEqual([200, '{"level":4}', "keep-alive"]);
		client.socket.write(`PUT /led/2 HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive\r\nContent-Length: 4\r\n\r\non=1`);
		const third = await client.reply();
		expect([third.status, third.body, third.headers.get("connection")]).toEqual([201, '{"id":"2","on":true}', "keep-alive"]);
		expect(server.sockets).toBe(1);
		await client.closed; // the idle limit (handshakeTimeout) passed with no next request
		expect(server.sockets).toBe(0);
	});

	it("answers pipelined requests in order, the last one not kept as it did not ask", async () => {
		const server = serve();
		const client = await new RawClient(server.port, cleanups).connected();
		client.socket.write(postSettings('{"level":6}') + getSettings + "GET /led/9 HTTP/1.1\r\nHost: x\r\n\r\n");
		const replies = [await client.reply(), await client.reply(), await client.reply()];
		expect(replies.map(r => [r.status, r.body, r.headers.get("connection")])).toEqual([
			[200, '{"level":6}', "keep-alive"],
			[200, '{"level":6}', "keep-alive"],
			[404, "no such led\n", "close"], // asked for no keep-alive: the server closes after it
		]);
		await client.closed;
	});

	it("keeps no connection that did not ask, nor one whose body was left unread, nor HTTP/1.0, nor with httpKeepAlive: false", async () => {
		const server = serve();
		const ask = async (request: string, port = server.port) => {
			const client = await new RawClient(port, cleanups).connected();
			client.socket.write(request);
			const reply = await client.reply();
			if (reply.headers.get("connection") === "close") await client.closed; // the server closes after the reply
			return [reply.status, reply.headers.get("connection")];
		};
		expect(await ask("GET /settings HTTP/1.1\r\nHost: x\r\n\r\n")).toEqual([200, "close"]);
		expect(await ask("GET /settings HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n")).toEqual([200, "close"]);
		expect(await ask(`GET /settings HTTP/1.0\r\n${keepAlive}\r\n`)).toEqual([200, "close"]);
		// Refused before its body was read: what follows on the connection is not a request head.
		expect(await ask(`POST /settings HTTP/1.1\r\nHost: x\r\n${keepAlive}Content-Length: 100000\r\n\r\n`)).toEqual([413, "close"]);
		expect(await ask(`PATCH /settings HTTP/1.1\r\nHost: x\r\n${keepAlive}Content-Length: 2\r\n\r\n{}`)).toEqual([405, "close"]);
		expect(await ask(`PATCH /settings HTTP/1.1\r\nHost: x\r\n${keepAlive}\r\n`)).toEqual([405, "keep-alive"]); // no body: kept
		const off = serve({ httpKeepAlive: false });
		expect(await ask(getSettings, off.port)).toEqual([200, "close"]);
	});

	it("opens a WebSocket by an upgrade on a kept connection", async () => {
		const server = serve();
		const client = await new RawClient(server.port, cleanups).connected();
		client.socket.write(getSettings);
		expect((await client.reply()).headers.get("connection")).toBe("keep-alive");
		client.socket.write(
			"GET /settings HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		);
		const upgraded = await client.reply();
		expect([upgraded.status, upgraded.headers.get("sec-websocket-accept")]).toEqual([101, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]);
		expect(server.clients).toBe(1);
		// A masked text frame "hi" (RFC 6455 5.2, 5.3); the route answers "ws too", unmasked.
		const mask = [1, 2, 3, 4];
		client.socket.write(Buffer.from([0x81, 0x82, ...mask, "h".charCodeAt(0) ^ mask[0], "i".charCodeAt(0) ^ mask[1]]));
		const frame = await client.bytes(2 + "ws too".length);
		expect([frame[0], frame[1], frame.subarray(2).toString()]).toEqual([0x81, 6, "ws too"]);
	});

	it("counts a kept connection among the server's sockets: a newcomer beyond them is closed unanswered, unless a kept one waits idle, which closes for it", async () => {
		const server = serve({ maxClients: 1 }); // 1 client and 2 spare sockets
		const kept: RawClient[] = [];
		for (let i = 0; i < 3; i++) {
			const client = await new RawClient(server.port, cleanups).connected();
			// A request and, in the same write, the start of the next one: once the reply is here, the connection is not idle.
			client.socket.write(`${getSettings}GET /settings HTTP/1.1\r\n`);
			expect((await client.reply()).headers.get("connection")).toBe("keep-alive");
			kept.push(client);
		}
		expect([server.sockets, server.clients, server.handshakes]).toEqual([3, 0, 3]);
		const refused = await new RawClient(server.port, cleanups).connected();
		refused.socket.write(getSettings);
		await expect(refused.reply()).rejects.toThrow(/ended before a whole reply \(0 bytes/);
		// One finishes its next request: answered, it waits idle; a newcomer closes it and is served.
		kept[1].socket.write(`Host: x\r\n${keepAlive}\r\n`);
		expect((await kept[1].reply()).status).toBe(200);
		const served = await new RawClient(server.port, cleanups).connected();
		served.socket.write(getSettings);
		expect((await served.reply()).status).toBe(200);
		await kept[1].closed;
		expect(server.sockets).toBe(3);
	});
});
