/*
 * Plain HTTP routes beside the WebSocket routes, on the same port: a page
 * the device serves itself that opens a WebSocket back to it (the most
 * common ESP32 WebSocket application) needs no second server, and a
 * setting is changed by POST and read back by GET as Microdot and
 * ESPAsyncWebServer apps do.
 *
 * A path (exact, or with `:name` segments captured as parameters) has a
 * route per method:
 * - GET (RFC 9110 9.3.1, with HEAD, 9.3.2, answered from it) with either a
 *   static body from the app's resources (in flash on a board, sent as it
 *   is, no heap per request), with an optional gzip-compressed twin sent as
 *   Content-Encoding: gzip to a client whose Accept-Encoding takes gzip
 *   (12.5.3, 8.4.1) and `Vary: Accept-Encoding` (12.5.5), or a handler;
 * - POST, PUT, DELETE (9.3.3-9.3.5) with a handler. A request body comes
 *   whole (an HttpHandler: request.body, text(), json(), form()) or in
 *   pieces as they are read (an HttpBodyHandler: onBodyData, for a body
 *   larger than memory allows: an upload written to flash as it comes),
 *   bounded per route by maxBody and judged from its Content-Length before
 *   a byte is read (413 beyond; a body in chunked transfer coding gets 411:
 *   Content-Length is required, 9.3.3 allows it).
 * Another method on a routed path gets 405 with `Allow` (15.5.6). Every
 * response has Content-Type, Content-Length (so a reply's end is known
 * without closing, RFC 9112 6.3), Cache-Control and the Connection lines
 * the server chose: `Connection: close` (the default), or
 * `Connection: keep-alive` with `Keep-Alive: timeout=<s>` when the server
 * keeps the connection for the next request (websocket/server:
 * httpKeepAlive).
 *
 * What is here is pure (the answer to a request as bytes to send); the
 * WebSocket server (websocket/server) reads the request head and body,
 * applies its limits (431, 413, its sockets, the handshake timeout, dead
 * peers), decides whether the connection stays, and writes.
 */

import Resource from "Resource";
import { type HeaderList, headerLines, queryParameter, type RequestHead, statusTexts } from "modules/http";
import type { CloseCause } from "tcp/close-cause";

/** What every request shows its handler: its head. */
export interface HttpRequestHead {
	readonly method: string;
	/** The path, without the query. */
	readonly path: string;
	/** The query, without "?" ("" when none). */
	readonly query: string;
	/** The values of the route's `:name` segments, URI-decoded ({} when it has none). */
	readonly params: Readonly<Record<string, string>>;
	/** A header's value (lower-case name), repeated headers joined with ", ". */
	header(name: string): string | undefined;
	/** A parameter of the query, URI-decoded ("+" a space); undefined when absent or malformed. */
	queryParameter(name: string): string | undefined;
}

/** A request as an HttpHandler sees it: its body read whole. */
export interface HttpRequest extends HttpRequestHead {
	/** The body as received (empty when none), at most the route's maxBody bytes. */
	readonly body: ArrayBuffer;
	/** The body as UTF-8 text. */
	text(): string;
	/** The body as JSON; a body that is not JSON is answered 400 (HttpError). */
	json(): unknown;
	/** The body as a form (application/x-www-form-urlencoded): each field's last value; a malformed one is answered 400. */
	form(): Record<string, string>;
}

/** Thrown by a handler (or by request.json() and form()): the request is answered with this status and message. */
export class HttpError extends Error {
	readonly status: number;
	constructor(status: number, message: string) {
		super(message);
		this.status = status;
	}
}

/** A JSON answer in one call: `return json({ on: true })`. */
export function json(value: unknown, status = 200): HttpResponse {
	return { status, type: "application/json", body: JSON.stringify(value) };
}

/** What a handler answers. */
export interface HttpResponse {
	/** Default 200. */
	status?: number;
	/** Content-Type, e.g. "application/json". */
	type: string;
	body: string | ArrayBuffer;
	/** Default "no-store": a handler's answer is made per request. */
	cacheControl?: string;
	headers?: HeaderList;
}

/** A static body from the app's resources. */
export interface StaticRoute {
	/** The resource's name, as the manifest's resources name it ("index.html"). */
	resource: string;
	/** Content-Type, e.g. "text/html; charset=utf-8". */
	type: string;
	/** A resource holding the same body gzip-compressed, sent to clients that accept gzip. */
	gzip?: string;
	/** Default "no-cache" (the browser revalidates; the board serves it again). */
	cacheControl?: string;
}

/** A handler: called with the request (its body read whole), returns the answer; one that throws HttpError answers its status, another error 500. */
export type HttpHandler = (request: HttpRequest) => HttpResponse;

/** A request as an HttpBodyHandler sees it: its head, and its body as far as it has come. */
export interface HttpBodyRequest extends HttpRequestHead {
	/** The body's length, bytes, from its Content-Length (0 when none). */
	readonly length: number;
	/** Bytes of the body handed to onBodyData so far, the piece being handed included. */
	readonly received: number;
	/** The handler's own value for this request (a running checksum, an open file); undefined at first. */
	context: unknown;
}

/**
 * A route that takes its body in pieces as they are read, instead of whole:
 * memory per request is one read (about 1 KB) whatever the body's length,
 * so a body larger than the heap (a firmware image, a file) can be written
 * where it goes as it comes. One object serves every request of the route
 * (its methods are called with the request; per-request state goes in
 * request.context), as a WebSocketHandler serves every connection.
 *
 * Calls, in order: onBodyStart once, onBodyData for each piece, then either
 * onBodyEnd (the body is whole: it returns the answer) or onAbort (the
 * request ended first: no answer is sent). A method that throws HttpError
 * answers its status; another error answers 500 and is logged. When
 * onBodyStart or onBodyData throws, the rest of the body is not read and the
 * connection closes once the answer is written; onAbort is not called.
 */
export interface HttpBodyHandler {
	/** The head is read and its Content-Length accepted (at most maxBody): prepare, or refuse by throwing HttpError (before a byte of the body is read). */
	onBodyStart?(request: HttpBodyRequest): void;
	/**
	 * The next piece of the body, in order (byteLength > 0); last when it
	 * completes the body. A view valid only during this call: copy what must
	 * outlive it.
	 */
	onBodyData(request: HttpBodyRequest, piece: Uint8Array, last: boolean): void;
	/** The body is whole (at once for a body of 0 bytes): return the answer. The connection may then be kept for the next request. */
	onBodyEnd(request: HttpBodyRequest): HttpResponse;
	/**
	 * The request ended before its body was whole: the peer closed or reset
	 * the connection (cause "peer-closed", "peer-gone"), it stalled for the
	 * server's handshakeTimeout ("timeout"), the server closed ("local"). No
	 * answer is sent. reason: a few words for a log.
	 */
	onAbort?(request: HttpBodyRequest, cause: CloseCause, reason: string): void;
}

export type HttpRoute = StaticRoute | HttpHandler | HttpBodyHandler;

/** Whether a route takes its body in pieces (an HttpBodyHandler). */
export function takesPieces(route: HttpRoute): route is HttpBodyHandler {
	return typeof (route as HttpBodyHandler).onBodyData === "function";
}

/** The methods a route may serve (HEAD is answered from GET). */
export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

export interface HttpRouteOptions {
	/** Largest request body accepted, bytes (413 beyond). Default 1024 (GET: 0, a body is refused). */
	maxBody?: number;
}

/** A route made ready: its resources checked at registration, opened at each request (a route nobody asks holds nothing of them). */
export interface PreparedRoute {
	route: HttpRoute;
	/** Largest body accepted. */
	maxBody: number;
}

/** A path's routes, by method. */
export interface PathRoutes {
	path: string;
	/** The path split at "/"; a segment ":name" matches any one segment. */
	segments: string[] | undefined;
	methods: Map<string, PreparedRoute>;
}

/** What a request's path found: the path's routes and its parameters. */
export interface HttpMatch {
	routes: PathRoutes;
	params: Record<string, string>;
}

/** The HTTP routes of a server: exact paths first, then paths with `:name` segments in the order they were added. */
export class HttpRoutes {
	private readonly exact = new Map<string, PathRoutes>();
	private readonly patterns: PathRoutes[] = [];

	get size(): number {
		return this.exact.size + this.patterns.length;
	}

	/** Serve `method` on `path` with `route`; throws when the pair is routed already or a resource is missing. */
	add(method: HttpMethod, path: string, route: HttpRoute, options: HttpRouteOptions = {}): void {
		const pieces = takesPieces(route);
		if (method !== "GET" && typeof route !== "function" && !pieces)
			throw new Error(`HTTP route ${method} ${path}: a static body answers GET only; give a handler`);
		if (method === "GET" && pieces) throw new Error(`HTTP route GET ${path}: a GET request has no body to take in pieces; give a handler`);
		const segments = path.includes("/:") ? path.split("/") : undefined;
		let routes = segments ? this.patterns.find(r => r.path === path) : this.exact.get(path);
		if (!routes) {
			routes = { path, segments, methods: new Map() };
			if (segments) this.patterns.push(routes);
			else this.exact.set(path, routes);
		}
		if (routes.methods.has(method)) throw new Error(`HTTP ${method} ${path} is already routed`);
		routes.methods.set(method, prepareRoute(path, route, options.maxBody ?? (method === "GET" ? 0 : 1024)));
	}

	/** The routes of `path` and its parameters, or undefined when no route serves it. */
	match(path: string): HttpMatch | undefined {
		const exact = this.exact.get(path);
		if (exact) return { routes: exact, params: {} };
		if (!this.patterns.length) return undefined;
		const parts = path.split("/");
		for (const routes of this.patterns) {
			const params = matchSegments(routes.segments!, parts);
			if (params) return { routes, params };
		}
		return undefined;
	}
}

/** The parameters of `parts` matched against `segments`, or undefined when they do not match. */
function matchSegments(segments: string[], parts: string[]): Record<string, string> | undefined {
	if (segments.length !== parts.length) return undefined;
	const params: Record<string, string> = {};
	for (let i = 0; i < segments.length; i++) {
		const segment = segments[i];
		if (segment.startsWith(":") && parts[i]) {
			try {
				params[segment.slice(1)] = decodeURIComponent(parts[i]);
			} catch {
				return undefined; // malformed escapes: no match (404)
			}
		} else if (segment !== parts[i]) return undefined;
	}
	return params;
}

/** The methods a path's routes allow, for `Allow` (GET brings HEAD). */
export function allowed(routes: PathRoutes): string {
	const methods: string[] = [];
	for (const method of routes.methods.keys()) {
		methods.push(method);
		if (method === "GET") methods.push("HEAD");
	}
	return methods.join(", ");
}

/** The route for `method` on a path's routes (HEAD: GET's), or undefined (405). */
export function routeFor(routes: PathRoutes, method: string): PreparedRoute | undefined {
	return routes.methods.get(method === "HEAD" ? "GET" : method);
}

/** What to send: the head, and the body (absent for HEAD), and the status for the log. */
export interface HttpAnswer {
	status: number;
	head: string;
	body?: ArrayBuffer | Uint8Array;
}

/** Check a route and open its resources; throws Error naming what is missing. */
export function prepareRoute(path: string, route: HttpRoute, maxBody = 0): PreparedRoute {
	if (!path.startsWith("/")) throw new Error(`HTTP route "${path}": a path starts with "/"`);
	if (typeof route !== "function" && !takesPieces(route))
		for (const name of route.gzip ? [route.resource, route.gzip] : [route.resource])
			if (!Resource.exists(name)) throw new Error(`HTTP route ${path}: no resource "${name}" in the app (add it to the manifest's resources)`);
	return { route, maxBody };
}

/** A view of a resource (in flash on a board: a HostBuffer, which only a view lets the writer take in parts; no copy). */
function resourceView(name: string): Uint8Array {
	return new Uint8Array(new Resource(name));
}

/**
 * Whether an Accept-Encoding value takes gzip (RFC 9110 12.5.3): "gzip",
 * "x-gzip" or "*" with a weight above 0, and gzip not refused by name.
 */
export function acceptsGzip(value: string | undefined): boolean {
	if (!value) return false;
	let gzip: boolean | undefined,
		any = false;
	for (const item of value.split(",")) {
		const parts = item.split(";");
		const coding = parts[0].trim().toLowerCase();
		let weight = 1;
		for (let i = 1; i < parts.length; i++) {
			const parameter = parts[i].trim().toLowerCase();
			if (parameter.startsWith("q=")) weight = Number(parameter.slice(2));
		}
		const wanted = weight > 0; // NaN (a malformed weight) is not > 0
		if (coding === "gzip" || coding === "x-gzip") gzip = wanted;
		else if (coding === "*") any = wanted;
	}
	return gzip ?? any;
}

/** The Connection line of a reply after which the connection closes (RFC 9112 9.6). */
export const CLOSE = "Connection: close\r\n";

/**
 * The Connection lines of a reply after which the connection stays open for
 * the next request (RFC 9112 9.3), with the idle limit it may wait for it
 * (Keep-Alive, RFC 2068 19.7.1.1, as browsers and undici read it: a client
 * does not send on a connection past it).
 */
export function keepAliveLines(idleSeconds: number): string {
	return `Connection: keep-alive\r\nKeep-Alive: timeout=${idleSeconds}\r\n`;
}

function response(status: number, type: string, length: number, cacheControl: string, headers: HeaderList, connection: string): string {
	return (
		`HTTP/1.1 ${status} ${statusTexts[status] ?? "Status"}\r\n` +
		`Content-Type: ${type}\r\nContent-Length: ${length}\r\nCache-Control: ${cacheControl}\r\n${connection}` +
		headerLines(headers) +
		"\r\n"
	);
}

/** The request a handler sees, from the parsed head, the route's parameters and the body read. */
export function httpRequest(head: RequestHead, params: Record<string, string> = {}, body: ArrayBuffer = new ArrayBuffer(0)): HttpRequest {
	const question = head.target.indexOf("?");
	const query = question < 0 ? "" : head.target.slice(question + 1);
	return {
		method: head.method,
		path: question < 0 ? head.target : head.target.slice(0, question),
		query,
		params,
		body,
		header: name => head.headers.get(name),
		queryParameter: name => queryParameter(query, name),
		text: () => String.fromArrayBuffer(body),
		json: () => {
			try {
				return JSON.parse(String.fromArrayBuffer(body));
			} catch {
				throw new HttpError(400, "the body is not JSON");
			}
		},
		form: () => formFields(String.fromArrayBuffer(body)),
	};
}

/** The fields of an application/x-www-form-urlencoded body (each name's last value); HttpError 400 when malformed. */
export function formFields(text: string): Record<string, string> {
	const fields: Record<string, string> = {};
	if (!text) return fields;
	for (const part of text.split("&")) {
		const equals = part.indexOf("=");
		try {
			// "+" is a space (WHATWG URL, application/x-www-form-urlencoded); no regular expression on the device.
			const name = decodeURIComponent((equals < 0 ? part : part.slice(0, equals)).split("+").join(" "));
			fields[name] = decodeURIComponent((equals < 0 ? "" : part.slice(equals + 1)).split("+").join(" "));
		} catch {
			throw new HttpError(400, "the form is malformed");
		}
	}
	return fields;
}

/** A refusal of the routes' own: 405 with Allow, or an HttpError's status and message. connection: its Connection lines (CLOSE or keepAliveLines()). */
export function refusal(status: number, message: string, headers: HeaderList = [], connection = CLOSE): HttpAnswer {
	const text = ArrayBuffer.fromString(`${message}\n`);
	return { status, head: response(status, "text/plain; charset=utf-8", text.byteLength, "no-store", headers, connection), body: text };
}

/**
 * The answer to `request` on `prepared` (the method is the route's). A handler that throws HttpError answers its status; another error is the caller's to log (500).
 * connection: the reply's Connection lines (CLOSE or keepAliveLines()).
 */
export function answer(prepared: PreparedRoute, request: HttpRequest, connection = CLOSE): HttpAnswer {
	const method = request.method;
	const route = prepared.route;
	if (typeof route === "function") {
		let made: HttpResponse;
		try {
			made = route(request);
		} catch (e) {
			if (e instanceof HttpError) return refusal(e.status, e.message, [], connection);
			throw e;
		}
		return handlerAnswer(made, method, connection);
	}
	if (takesPieces(route)) throw new Error("a route taking its body in pieces is answered by its onBodyEnd");
	const gzip = route.gzip !== undefined && acceptsGzip(request.header("accept-encoding"));
	const body = resourceView(gzip ? route.gzip! : route.resource);
	let headers: HeaderList = [];
	if (route.gzip !== undefined)
		headers = gzip
			? [
					["Content-Encoding", "gzip"],
					["Vary", "Accept-Encoding"],
				]
			: [["Vary", "Accept-Encoding"]];
	const head = response(200, route.type, body.byteLength, route.cacheControl ?? "no-cache", headers, connection);
	return method === "HEAD" ? { status: 200, head } : { status: 200, head, body };
}

/** The answer a handler made (an HttpResponse) as bytes to send. connection: its Connection lines. */
export function handlerAnswer(made: HttpResponse, method: string, connection = CLOSE): HttpAnswer {
	const status = made.status ?? 200;
	const body = typeof made.body === "string" ? ArrayBuffer.fromString(made.body) : made.body;
	const head = response(status, made.type, body.byteLength, made.cacheControl ?? "no-store", made.headers ?? [], connection);
	return method === "HEAD" ? { status, head } : { status, head, body };
}

/**
 * A request whose body an HttpBodyHandler takes in pieces: what the handler
 * sees (HttpBodyRequest), and what the server keeps while the body comes.
 * Prototype methods, no closures: one object per request being read.
 */
export class BodyRequest implements HttpBodyRequest {
	readonly method: string;
	readonly path: string;
	readonly query: string;
	readonly params: Readonly<Record<string, string>>;
	readonly length: number;
	received = 0;
	context: unknown = undefined;
	/** @internal The route (its handler, maxBody). */
	readonly route: PreparedRoute;
	/** @internal The request head. */
	readonly head: RequestHead;
	/** @internal When the server last armed the idle limit for the body (ms). */
	armed = 0;

	constructor(head: RequestHead, route: PreparedRoute, params: Record<string, string>, length: number) {
		const target = head.target;
		const question = target.indexOf("?");
		this.method = head.method;
		this.path = question < 0 ? target : target.slice(0, question);
		this.query = question < 0 ? "" : target.slice(question + 1);
		this.params = params;
		this.length = length;
		this.route = route;
		this.head = head;
	}

	header(name: string): string | undefined {
		return this.head.headers.get(name);
	}

	queryParameter(name: string): string | undefined {
		return queryParameter(this.query, name);
	}

	/** @internal The route's handler. */
	get handler(): HttpBodyHandler {
		return this.route.route as HttpBodyHandler;
	}
}
