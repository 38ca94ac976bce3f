// The WebSocket server's HTTP routes over real sockets, asked by Node's fetch
// (undici) as a browser or a script would: a setting changed by POST and
// read back by GET, path parameters, JSON and form bodies, the body limit
// (413, judged before the body is read), a chunked body (411), 405 with
// Allow, DELETE, and a WebSocket route on the same path beside them.
import { once } from "node:events";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HttpError, json } from "websocket/http-routes";
import { WebSocketServer } from "websocket/server";
import WebSocket from "ws";

const cleanups: (() => void)[] = [];
afterEach(() => {
	while (cleanups.length) cleanups.pop()!();
});

/** A device's settings, as an app keeps them. */
function serve(): WebSocketServer {
	const settings: Record<string, unknown> = { level: 3 };
	const leds = new Map<string, boolean>();
	const server = new WebSocketServer({ port: 0, logTag: "http-test" });
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
