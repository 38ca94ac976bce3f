// A route that takes its body in pieces (HttpBodyHandler, websocket/http-routes)
// over real sockets: a body in many pieces whose length and CRC-32 the
// handler answers (the kit's app's own, app/http-upload), the connection
// kept after it; over maxBody 413 without the handler called; a refusal
// from onBodyStart before a byte is read; a throw mid-body (500, or an
// HttpError's status, the connection closed, no onAbort); a client that
// resets or ends mid-body, and one that stalls: the route told, with a
// cause, no answer sent, and the server serving others afterwards.
import { crc32 } from "node:zlib";
import { HttpUpload } from "app/http-upload";
import { Log } from "modules/log";
import type { CloseCause } from "tcp/close-cause";
import { afterEach, describe, expect, it } from "vitest";
import { type HttpBodyHandler, type HttpBodyRequest, HttpError, json } from "websocket/http-routes";
import { WebSocketServer, type WebSocketServerOptions } from "websocket/server";
import { captureLogs } from "./peers.js";
import { RawClient } from "./raw-http-client.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
	while (cleanups.length) cleanups.pop()!();
});

/** What a recording route was called with, in order. */
type Call = ["start", number] | ["data", number, boolean] | ["end", number] | ["abort", CloseCause, number];

/** A route that records its calls; `fail` makes one of them throw. */
class Recorder implements HttpBodyHandler {
	readonly calls: Call[] = [];
	/** Bytes of the pieces, copied (a piece is valid only during the call). */
	readonly bytes: Buffer[] = [];
	fail: { at: "start" | "data"; error: Error } | undefined;
	aborted: (() => void) | undefined;

	onBodyStart(request: HttpBodyRequest): void {
		this.calls.push(["start", request.length]);
		if (this.fail?.at === "start") throw this.fail.error;
	}
	onBodyData(request: HttpBodyRequest, piece: Uint8Array, last: boolean): void {
		this.calls.push(["data", piece.byteLength, last]);
		this.bytes.push(Buffer.from(piece));
		if (this.fail?.at === "data" && request.received > 100) throw this.fail.error;
	}
	onBodyEnd(request: HttpBodyRequest) {
		this.calls.push(["end", request.received]);
		return json({ bytes: request.received, id: request.params.id, q: request.queryParameter("q") });
	}
	onAbort(request: HttpBodyRequest, cause: CloseCause): void {
		this.calls.push(["abort", cause, request.received]);
		this.aborted?.();
	}
}

function serve(options: Partial<WebSocketServerOptions> = {}) {
	const server = new WebSocketServer({ port: 0, logTag: "http-pieces", ...options });
	const recorder = new Recorder();
	server.post("/upload", new HttpUpload(new Log("upload")), { maxBody: 1 << 20 });
	server.put("/record/:id", recorder, { maxBody: 4096 });
	server.get("/ping", () => ({ type: "text/plain", body: "pong" }));
	server.start();
	cleanups.push(() => server.close());
	return { server, recorder };
}

const head = (method: string, target: string, length: number, extra = "") =>
	`${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nContent-Length: ${length}\r\n${extra}\r\n`;
const pause = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** A body of `size` bytes, not a repeating pattern a wrong offset would hide. */
function bodyOf(size: number): Buffer {
	const body = Buffer.alloc(size);
	let x = 12345;
	for (let i = 0; i < size; i++) {
		x = (x * 1103515245 + 12345) >>> 0;
		body[i] = x >>> 24;
	}
	return body;
}

describe("HTTP routes taking their body in pieces", () => {
	it("hands a body sent in many writes over in pieces, answers its length and CRC-32, and keeps the connection", async () => {
		const { server } = serve();
		const body = bodyOf(200_000);
		const client = await new RawClient(server.port, cleanups).connected();
		await client.write(head("POST", "/upload", body.length));
		for (let at = 0; at < body.length; at += 10_000) {
			await client.write(body.subarray(at, at + 10_000));
			await pause(2);
		}
		const reply = await client.reply();
		expect(reply.status).toBe(200);
		expect(JSON.parse(reply.body)).toEqual({ bytes: body.length, crc32: crc32(body) });
		expect(reply.headers.get("connection")).toBe("keep-alive");
		// The next request on the same connection: the whole-body route (PUT takes none here) and a GET.
		await client.write(`GET /ping HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n`);
		expect((await client.reply()).body).toBe("pong");
	});

	it("hands the pieces in order, the last one marked, with the request's head; a body of 0 bytes goes straight to onBodyEnd", async () => {
		const { server, recorder } = serve();
		const body = bodyOf(3000);
		const client = await new RawClient(server.port, cleanups).connected();
		// The head and the body's start in one write, the rest in two more.
		await client.write(Buffer.concat([Buffer.from(head("PUT", "/record/7?q=a+b", body.length)), body.subarray(0, 100)]));
		await pause(20);
		await client.write(body.subarray(100, 2000));
		await pause(20);
		await client.write(body.subarray(2000));
		const reply = await client.reply();
		expect(JSON.parse(reply.body)).toEqual({ bytes: 3000, id: "7", q: "a b" });
		expect(Buffer.concat(recorder.bytes).equals(body)).toBe(true);
		const data = recorder.calls.filter(c => c[0] === "data");
		expect(data.length).toBeGreaterThanOrEqual(3);
		expect(data.every((c, i) => c[2] === (i === data.length - 1))).toBe(true);
		// Memory per request is one read: no piece beyond the server's read size (1 KB while reading requests).
		expect(Math.max(...data.map(c => c[1] as number))).toBeLessThanOrEqual(1024);
		expect(recorder.calls[0]).toEqual(["start", 3000]);
		expect(recorder.calls.at(-1)).toEqual(["end", 3000]);
		recorder.calls.length = 0;
		await client.write(head("PUT", "/record/8", 0));
		expect((await client.reply()).status).toBe(200);
		expect(recorder.calls).toEqual([
			["start", 0],
			["end", 0],
		]);
	});

	it("answers 413 to a Content-Length over maxBody, 411 to a chunked body, without calling the route", async () => {
		const { server, recorder } = serve();
		const over = await new RawClient(server.port, cleanups).connected();
		await over.write(head("PUT", "/record/1", 4097));
		expect((await over.reply()).status).toBe(413);
		await over.closed;
		const chunked = await new RawClient(server.port, cleanups).connected();
		await chunked.write(`PUT /record/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
		expect((await chunked.reply()).status).toBe(411);
		await chunked.closed;
		expect(recorder.calls).toEqual([]);
	});

	it("answers an HttpError from onBodyStart before a byte is read, and 500 or an HttpError's status for a throw mid-body, closing the connection, without onAbort", async () => {
		const { server, recorder } = serve();
		recorder.fail = { at: "start", error: new HttpError(415, "not that type") };
		const refused = await new RawClient(server.port, cleanups).connected();
		await refused.write(head("PUT", "/record/1", 2000));
		const first = await refused.reply();
		expect([first.status, first.headers.get("connection")]).toEqual([415, "close"]);
		await refused.closed;
		expect(recorder.calls).toEqual([["start", 2000]]);

		for (const [error, status] of [
			[new Error("flash write failed"), 500],
			[new HttpError(507, "no room"), 507],
		] as const) {
			recorder.calls.length = 0;
			recorder.fail = { at: "data", error };
			const client = await new RawClient(server.port, cleanups).connected();
			await client.write(head("PUT", "/record/2", 3000));
			await client.write(bodyOf(1000));
			const reply = await client.reply();
			expect(reply.status).toBe(status);
			await client.closed;
			expect(recorder.calls.some(c => c[0] === "abort" || c[0] === "end")).toBe(false);
		}
	});

	it("tells the route when the client resets or ends mid-body (no answer sent), and serves others afterwards", async () => {
		const { lines, stop } = captureLogs();
		cleanups.push(stop);
		const { server, recorder } = serve();
		for (const how of ["reset", "end"] as const) {
			recorder.calls.length = 0;
			const told = new Promise<void>(resolve => {
				recorder.aborted = resolve;
			});
			const client = await new RawClient(server.port, cleanups).connected();
			await client.write(head("PUT", "/record/3", 4000));
			await client.write(bodyOf(1500));
			while (!recorder.calls.some(c => c[0] === "data")) await pause(5);
			if (how === "reset") client.socket.resetAndDestroy();
			else client.socket.end();
			await told;
			expect(recorder.calls.at(-1)).toEqual(["abort", "peer-closed", 1500]);
			expect(recorder.calls.some(c => c[0] === "end")).toBe(false);
			await client.closed;
			expect(client.buffer.length).toBe(0); // no answer
		}
		// Logged once at warn by whoever says it: the route has onAbort, so the server's line is debug.
		expect(lines.filter(l => /^W .*http-pieces: HTTP PUT \/record\/3.*body ended after 1500 of 4000 bytes/.test(l))).toEqual([]);
		expect(lines.filter(l => /^D .*http-pieces: HTTP PUT \/record\/3, peer .*: body ended after 1500 of 4000 bytes/.test(l))).toHaveLength(2);
		const other = await new RawClient(server.port, cleanups).connected();
		await other.write(head("PUT", "/record/4", 10));
		await other.write("0123456789");
		expect(JSON.parse((await other.reply()).body).bytes).toBe(10);
		expect(server.sockets).toBe(1);
	});

	it("tells the route when the body stalls for handshakeTimeout, and closes the connection unanswered", async () => {
		const { server, recorder } = serve({ handshakeTimeout: 300 });
		const told = new Promise<void>(resolve => {
			recorder.aborted = resolve;
		});
		const client = await new RawClient(server.port, cleanups).connected();
		await client.write(head("PUT", "/record/5", 100));
		await client.write("abc");
		await told;
		expect(recorder.calls.at(-1)).toEqual(["abort", "timeout", 3]);
		await client.closed;
		expect(client.buffer.length).toBe(0);
	});

	it("refuses a route that takes pieces on GET", () => {
		const server = new WebSocketServer({ port: 0, logTag: "http-pieces" });
		expect(() => server.http("GET", "/x", new Recorder())).toThrow(/GET request has no body/);
	});
});
