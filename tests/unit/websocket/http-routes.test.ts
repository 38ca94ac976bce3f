// HTTP routes beside the WebSocket routes (websocket/http-routes.ts): GET
// and HEAD answered from a resource or a handler, gzip negotiated by
// Accept-Encoding (RFC 9110 12.5.3), POST, PUT and DELETE with bodies,
// :name parameters, 405 with Allow for other methods. The server reading
// requests over sockets: tests/unit/websocket/http-server.test.ts.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
	acceptsGzip,
	allowed,
	answer,
	formFields,
	HttpError,
	HttpRoutes,
	httpRequest,
	json,
	keepAliveLines,
	prepareRoute,
	refusal,
	routeFor,
} from "websocket/http-routes";

const requestHead = (method: string, target: string, headers: Record<string, string> = {}) => ({
	method,
	target,
	version: "1.1",
	headers: new Map(Object.entries(headers)),
});
const head = (method: string, target: string, headers: Record<string, string> = {}) => httpRequest(requestHead(method, target, headers));
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
		expect(got.head).toBe(
			`HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${page.length}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n`,
		);
		expect(text(got.body)).toBe(page);
		const headOnly = answer(route, head("HEAD", "/"));
		expect(headOnly.head).toBe(got.head);
		expect(headOnly.body).toBeUndefined();
	});

	it("says keep-alive and the idle limit in place of Connection: close when the server keeps the connection, for a handler's answer and a refusal", () => {
		const lines = keepAliveLines(5);
		expect(lines).toBe("Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n");
		const route = prepareRoute("/", { resource: "index.html", type: "text/html; charset=utf-8" });
		const kept = answer(route, head("GET", "/"), lines);
		expect(kept.head).toBe(
			`HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${page.length}\r\nCache-Control: no-cache\r\n${lines}\r\n`,
		);
		const thrown = answer(
			prepareRoute("/x", () => {
				throw new HttpError(409, "busy");
			}),
			head("POST", "/x"),
			lines,
		);
		expect([thrown.status, thrown.head.includes(lines), thrown.head.includes("close")]).toEqual([409, true, false]);
		expect(refusal(405, "no", [["Allow", "GET"]], lines).head).toMatch(/\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nAllow: GET\r\n\r\n$/);
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

	it("finds no route for another method; Allow names the path's methods, GET with HEAD (RFC 9110 15.5.6)", () => {
		const routes = new HttpRoutes();
		routes.add("GET", "/", { resource: "index.html", type: "text/html" });
		const found = routes.match("/")!;
		expect(routeFor(found.routes, "POST")).toBeUndefined();
		expect(routeFor(found.routes, "HEAD")).toBe(routeFor(found.routes, "GET"));
		expect(allowed(found.routes)).toBe("GET, HEAD");
		routes.add("POST", "/", () => json({}));
		expect(allowed(found.routes)).toBe("GET, HEAD, POST");
		const refused = refusal(405, "no", [["Allow", allowed(found.routes)]]);
		expect(refused.head).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
		expect(refused.head).toMatch(/\r\nAllow: GET, HEAD, POST\r\n/);
	});

	it("matches :name segments as parameters, URI-decoded; exact paths first; a static body answers GET only", () => {
		const routes = new HttpRoutes();
		routes.add("GET", "/led/all", () => json("all"));
		routes.add("PUT", "/led/:id", () => json("one"));
		routes.add("GET", "/room/:room/led/:id", () => json("two"));
		expect(routes.match("/led/all")!.params).toEqual({});
		expect(routes.match("/led/7")!.params).toEqual({ id: "7" });
		expect(routes.match("/led/a%20b")!.params).toEqual({ id: "a b" });
		expect(routes.match("/room/k/led/3")!.params).toEqual({ room: "k", id: "3" });
		for (const miss of ["/led", "/led/", "/led/1/2", "/led/%E0%A4%A"]) expect(routes.match(miss), miss).toBeUndefined();
		expect(() => routes.add("PUT", "/led/:id", () => json(1))).toThrow(/already routed/);
		expect(() => routes.add("POST", "/page", { resource: "index.html", type: "text/html" })).toThrow(/answers GET only/);
	});

	it("gives a handler the body whole: text, JSON, form; a body that is not JSON or a malformed form answers 400", () => {
		const routes = new HttpRoutes();
		routes.add("POST", "/echo", request => json({ text: request.text(), json: request.json(), id: request.params.id }));
		routes.add("POST", "/form", request => json(request.form()));
		const route = (path: string) => routeFor(routes.match(path)!.routes, "POST")!;
		const body = (text: string) => new TextEncoder().encode(text).buffer as ArrayBuffer;
		const got = answer(route("/echo"), httpRequest(requestHead("POST", "/echo"), { id: "9" }, body('{"on":true}')));
		expect(JSON.parse(text(got.body))).toEqual({ text: '{"on":true}', json: { on: true }, id: "9" });
		expect(answer(route("/echo"), httpRequest(requestHead("POST", "/echo"), {}, body("on=1"))).status).toBe(400);
		const form = answer(route("/form"), httpRequest(requestHead("POST", "/form"), {}, body("ssid=My+Net&password=p%26ss&ssid=Other")));
		expect(JSON.parse(text(form.body))).toEqual({ ssid: "Other", password: "p&ss" });
		expect(answer(route("/form"), httpRequest(requestHead("POST", "/form"), {}, body("a=%E0%A4%A"))).status).toBe(400);
		expect(formFields("")).toEqual({});
		expect(httpRequest(requestHead("GET", "/x?level=5&name=a+b")).queryParameter("name")).toBe("a b");
	});

	it("answers an HttpError thrown by a handler with its status; json() sends JSON in one call", () => {
		const teapot = prepareRoute("/t", () => {
			throw new HttpError(409, "busy");
		});
		const got = answer(teapot, head("GET", "/t"));
		expect(got.status).toBe(409);
		expect(text(got.body)).toBe("busy\n");
		expect(json({ a: 1 }, 201)).toEqual({ status: 201, type: "application/json", body: '{"a":1}' });
	});

	it("calls a handler with path, query and headers; its status, type and body are sent, never cached by default", () => {
		const route = prepareRoute("/info", request => ({
			type: "application/json",
			body: JSON.stringify({ path: request.path, query: request.query, agent: request.header("user-agent") }),
		}));
		const got = answer(route, head("GET", "/info?a=1", { "user-agent": "test" }));
		expect(JSON.parse(text(got.body))).toEqual({ path: "/info", query: "a=1", agent: "test" });
		expect(got.head).toMatch(/\r\nCache-Control: no-store\r\n/);
	});

	it("refuses at registration a route whose resource the app lacks, or a path without /", () => {
		expect(() => prepareRoute("/", { resource: "missing.html", type: "text/html" })).toThrow(/no resource "missing\.html" in the app/);
		expect(() => prepareRoute("index", () => ({ type: "text/plain", body: "" }))).toThrow(/a path starts with "\/"/);
	});
});
