/*
 * Plain HTTP routes beside the WebSocket routes, on the same port: a page
 * the device serves itself that opens a WebSocket back to it (the most
 * common ESP32 WebSocket application) needs no second server.
 *
 * A route answers GET and HEAD (RFC 9110 9.3.1, 9.3.2) with either
 * - a static body from the app's resources: in flash on a board, sent as
 *   it is (no copy, no heap per request beyond the connection), with an
 *   optional gzip-compressed twin sent as Content-Encoding: gzip to a
 *   client whose Accept-Encoding takes gzip (RFC 9110 12.5.3, 8.4.1), and
 *   `Vary: Accept-Encoding` (12.5.5) so caches keep both apart; or
 * - a handler, called with the request, returning status, type and body.
 * Other methods get 405 with `Allow: GET, HEAD` (15.5.6). Every response
 * has Content-Type, Content-Length, Cache-Control and `Connection: close`:
 * one request per connection, so a request costs one socket for as long
 * as its response takes, within the server's socket limit.
 *
 * What is here is pure (the answer to a request as bytes to send); the
 * WebSocket server (websocket/server) reads the request head, applies its
 * limits (431, its sockets, the handshake timeout, dead peers) and writes.
 */

import Resource from "Resource";
import { headerLines, statusTexts, type HeaderList, type RequestHead } from "modules/http";

/** A request as a handler sees it. */
export interface HttpRequest {
	method: string;
	/** The path, without the query. */
	path: string;
	/** The query, without "?" ("" when none). */
	query: string;
	/** A header's value (lower-case name), repeated headers joined with ", ". */
	header(name: string): string | undefined;
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

export type HttpRoute = StaticRoute | ((request: HttpRequest) => HttpResponse);

/** A route made ready: its resources opened once, at registration. */
export interface PreparedRoute {
	route: HttpRoute;
	body?: Uint8Array;
	gzipBody?: Uint8Array;
}

/** What to send: the head, and the body (absent for HEAD), and the status for the log. */
export interface HttpAnswer {
	status: number;
	head: string;
	body?: ArrayBuffer | Uint8Array;
}

/** Check a route and open its resources; throws Error naming what is missing. */
export function prepareRoute(path: string, route: HttpRoute): PreparedRoute {
	if (!path.startsWith("/"))
		throw new Error(`HTTP route "${path}": a path starts with "/"`);
	if (typeof route === "function")
		return { route };
	const open = (name: string) => {
		if (!Resource.exists(name))
			throw new Error(`HTTP route ${path}: no resource "${name}" in the app (add it to the manifest's resources)`);
		// A view of the resource (in flash on a board: a HostBuffer, which only a view lets the writer take in parts).
		return new Uint8Array(new Resource(name));
	};
	return { route, body: open(route.resource), gzipBody: route.gzip ? open(route.gzip) : undefined };
}

/**
 * Whether an Accept-Encoding value takes gzip (RFC 9110 12.5.3): "gzip",
 * "x-gzip" or "*" with a weight above 0, and gzip not refused by name.
 */
export function acceptsGzip(value: string | undefined): boolean {
	if (!value)
		return false;
	let gzip: boolean | undefined, any = false;
	for (const item of value.split(",")) {
		const parts = item.split(";");
		const coding = parts[0].trim().toLowerCase();
		let weight = 1;
		for (let i = 1; i < parts.length; i++) {
			const parameter = parts[i].trim().toLowerCase();
			if (parameter.startsWith("q="))
				weight = Number(parameter.slice(2));
		}
		const wanted = weight > 0;		// NaN (a malformed weight) is not > 0
		if (coding === "gzip" || coding === "x-gzip")
			gzip = wanted;
		else if (coding === "*")
			any = wanted;
	}
	return gzip ?? any;
}

function response(status: number, type: string, length: number, cacheControl: string, headers: HeaderList): string {
	return `HTTP/1.1 ${status} ${statusTexts[status] ?? "Status"}\r\n` +
		`Content-Type: ${type}\r\nContent-Length: ${length}\r\nCache-Control: ${cacheControl}\r\nConnection: close\r\n` +
		headerLines(headers) + "\r\n";
}

/** The request a handler sees, from the parsed head. */
export function httpRequest(head: RequestHead): HttpRequest {
	const question = head.target.indexOf("?");
	return {
		method: head.method,
		path: question < 0 ? head.target : head.target.slice(0, question),
		query: question < 0 ? "" : head.target.slice(question + 1),
		header: name => head.headers.get(name),
	};
}

/** The answer to `request` on `prepared`. A handler that throws is the caller's to log: it gets 500 here. */
export function answer(prepared: PreparedRoute, request: HttpRequest): HttpAnswer {
	const method = request.method;
	if (method !== "GET" && method !== "HEAD") {
		const text = ArrayBuffer.fromString(`${method} is not allowed here: GET or HEAD\n`);
		return { status: 405, head: response(405, "text/plain; charset=utf-8", text.byteLength, "no-store", [["Allow", "GET, HEAD"]]), body: text };
	}
	const route = prepared.route;
	let status: number, type: string, body: ArrayBuffer | Uint8Array, cacheControl: string;
	let headers: HeaderList = [];
	if (typeof route === "function") {
		const made = route(request);
		status = made.status ?? 200;
		type = made.type;
		body = typeof made.body === "string" ? ArrayBuffer.fromString(made.body) : made.body;
		cacheControl = made.cacheControl ?? "no-store";
		headers = made.headers ?? [];
	}
	else {
		status = 200;
		type = route.type;
		cacheControl = route.cacheControl ?? "no-cache";
		const gzip = prepared.gzipBody && acceptsGzip(request.header("accept-encoding"));
		body = gzip ? prepared.gzipBody! : prepared.body!;
		if (prepared.gzipBody)
			headers = gzip ? [["Content-Encoding", "gzip"], ["Vary", "Accept-Encoding"]] : [["Vary", "Accept-Encoding"]];
	}
	const head = response(status, type, body.byteLength, cacheControl, headers);
	return method === "HEAD" ? { status, head } : { status, head, body };
}
