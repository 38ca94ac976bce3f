// HTTP routes beside the WebSocket routes (websocket/http-routes.ts): GET
// and HEAD answered from a resource or a handler, gzip negotiated by
// Accept-Encoding (RFC 9110 12.5.3), 405 with Allow for other methods.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync, gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptsGzip, answer, httpRequest, prepareRoute } from "websocket/http-routes";

const head = (method: string, target: string, headers: Record<string, string> = {}) =>
	httpRequest({ method, target, version: "1.1", headers: new Map(Object.entries(headers)) });
const text = (bytes?: ArrayBuffer | Uint8Array) => Buffer.from(new Uint8Array(bytes ?? new ArrayBuffer(0))).toString("utf8");

describe("HTTP routes", () => {
	let dir: string;
	const page = "<!doctype html><p>hello</p>\n".repeat(20);

	beforeAll(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "xsnk-http-"));
		fs.writeFileSync(path.join(dir, "index.html"), page);
		fs.writeFileSync(path.join(dir, "index.html.gz"), gzipSync(page));
		process.env.XSNK_HOST_RESOURCES = dir;
	});
	afterAll(() => {
		delete process.env.XSNK_HOST_RESOURCES;
		fs.rmSync(dir, { recursive: true, force: true });
	});

	it.each([
		["gzip, deflate, br", true],
		["GZIP", true],
		["x-gzip", true],
		["br;q=1, gzip;q=0.5", true],
		["gzip;q=0", false],
		["gzip;q=0.000", false],
		["*", true],
		["*, gzip;q=0", false],
		["identity", false],
		["deflate", false],
		["", false],
		["gzip;q=bad", false],
	])("Accept-Encoding %j takes gzip: %s", (value, expected) => {
		expect(acceptsGzip(value)).toBe(expected);
	});

	it("serves a resource with its type, length, cache policy and Connection: close; HEAD the same head and no body", () => {
		const route = prepareRoute("/", { resource: "index.html", type: "text/html; charset=utf-8" });
		const got = answer(route, head("GET", "/?x=1"));
		expect(got.status).toBe(200);
		expect(got.head).toBe(`HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${page.length}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n`);
		expect(text(got.body)).toBe(page);
		const headOnly = answer(route, head("HEAD", "/"));
		expect(headOnly.head).toBe(got.head);
		expect(headOnly.body).toBeUndefined();
	});

	it("sends the gzip twin with Content-Encoding: gzip to a client that takes it, the plain one otherwise, Vary on both", () => {
		const route = prepareRoute("/", { resource: "index.html", gzip: "index.html.gz", type: "text/html" });
		const zipped = answer(route, head("GET", "/", { "accept-encoding": "gzip, deflate" }));
		expect(zipped.head).toMatch(/\r\nContent-Encoding: gzip\r\nVary: Accept-Encoding\r\n/);
		expect(gunzipSync(new Uint8Array(zipped.body!)).toString()).toBe(page);
		expect(zipped.head).toContain(`Content-Length: ${zipped.body!.byteLength}\r\n`);
		const plain = answer(route, head("GET", "/", { "accept-encoding": "gzip;q=0" }));
		expect(plain.head).not.toMatch(/Content-Encoding/);
		expect(plain.head).toMatch(/\r\nVary: Accept-Encoding\r\n/);
		expect(text(plain.body)).toBe(page);
	});

	it("answers another method 405 with Allow: GET, HEAD (RFC 9110 15.5.6)", () => {
		const route = prepareRoute("/", { resource: "index.html", type: "text/html" });
		const got = answer(route, head("POST", "/"));
		expect(got.status).toBe(405);
		expect(got.head).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
		expect(got.head).toMatch(/\r\nAllow: GET, HEAD\r\n/);
	});

	it("calls a handler with path, query and headers; its status, type and body are sent, never cached by default", () => {
		const route = prepareRoute("/info", request => ({ type: "application/json", body: JSON.stringify({ path: request.path, query: request.query, agent: request.header("user-agent") }) }));
		const got = answer(route, head("GET", "/info?a=1", { "user-agent": "test" }));
		expect(JSON.parse(text(got.body))).toEqual({ path: "/info", query: "a=1", agent: "test" });
		expect(got.head).toMatch(/\r\nCache-Control: no-store\r\n/);
	});

	it("refuses at registration a route whose resource the app lacks, or a path without /", () => {
		expect(() => prepareRoute("/", { resource: "missing.html", type: "text/html" })).toThrow(/no resource "missing\.html" in the app/);
		expect(() => prepareRoute("index", () => ({ type: "text/plain", body: "" }))).toThrow(/a path starts with "\/"/);
	});
});
