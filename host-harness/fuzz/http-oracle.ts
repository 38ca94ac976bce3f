/*
 * The reference oracle for opening handshakes: given the bytes a client
 * sends as its upgrade request, which HTTP answers a WebSocket server with
 * this project's rules may give (RFC 6455 4.2.1, RFC 7230 3 and 5.4, and
 * docs/api-websocket.md):
 *
 *   405  method other than GET (with Allow)
 *   404  another path
 *   400  malformed request line or header line, control characters, HTTP
 *        older than 1.1, no Host, more than one Host, Upgrade without
 *        "websocket", Connection without "upgrade", a bad key
 *   426  Sec-WebSocket-Version not 13 (with Sec-WebSocket-Version: 13)
 *   431  a head over 2 KB
 *   101  everything right
 *   200  a request that is not an upgrade, on a path the server also answers
 *        as plain HTTP (httpPaths: the kit app's page), GET or HEAD, well
 *        formed (websocket/http-routes); allowed beside the upgrade's
 *        refusals, since the page may be turned off
 *   drop a head that never completes: no answer, TCP closed once the
 *        handshake timeout passes
 *
 * Plain HTTP (not an upgrade) on a path of the device's HTTP routes
 * (routes: by path and method, with the largest body each takes) is
 * judged exactly as websocket/server and
 * docs/api-websocket.md say a routed request is answered: 400 without a
 * Host (HTTP/1.1 and later) or with two; 405 with the path's Allow for a
 * method it has no route for; 411 for a chunked body; 400 for a
 * Content-Length that is not digits; 413 for one over the route's maxBody;
 * no answer (dropped at the handshake timeout) while the body has not all
 * come; else the route's answer (the kit app's /upload: the body's length
 * and CRC-32). And whether the connection stays: it must when the request
 * asked (HTTP/1.1, Connection: keep-alive and not close) and the answer
 * read the body whole (a 405 with no body, a route's answer); it must not
 * otherwise.
 *
 * Written from those rules, not from the device's parser. Where a server
 * may legitimately do either, both answers are named: a request with two
 * faults may be refused for either; no Upgrade header at all is 400 or 426;
 * an obs-fold line, a bare CR or bytes that are not UTF-8 may be refused
 * (400) or read leniently (RFC 7230 3.2.4, 3.5); an invalid subprotocol
 * list may be refused or ignored; a '#' in the target may be refused.
 */

import { crc32 } from "node:zlib";
import { validUtf8 } from "./utf8.js";

export type HandshakeOutcome = number | "drop";

export interface HandshakeExpectation {
	/** The answers allowed; 101 means the upgrade is accepted. */
	outcomes: HandshakeOutcome[];
	why: string;
	/**
	 * A plain HTTP answer may leave the connection open (RFC 9112 9.3): the
	 * request is HTTP/1.1 and asked with a `keep-alive` token in Connection
	 * and no `close` (9.6). The answer must then say `Connection: keep-alive`.
	 */
	mayKeep?: boolean;
	/** The answer must keep the connection (a plain HTTP request that asked, its body read whole). */
	mustKeep?: boolean;
	/** A 405 must carry exactly this Allow (a routed path's methods); without it, Allow must name GET (an upgrade's). */
	allow?: string;
	/** The answer's body, when it is known (a route's JSON). */
	body?: string;
	/** The answer to a HEAD request: its Content-Length is the GET answer's, and no body follows (RFC 9110 9.3.2). */
	bodiless?: boolean;
}

/** A path's plain HTTP routes: method → largest body it takes (bytes). */
export type HttpRouteTable = Readonly<Record<string, Readonly<Record<string, number>>>>;

/**
 * The kit app's HTTP routes for a device config (app/app.ts): the page
 * (httpPage, on by default) and, with httpUpload, /upload (app/http-upload:
 * POST in pieces up to 1 MiB, PUT whole up to the default 1024, DELETE).
 */
export function appHttpRoutes(config: Readonly<Record<string, string | undefined>>): HttpRouteTable {
	const routes: Record<string, Record<string, number>> = {};
	if (config.httpPage !== "false") {
		routes["/"] = { GET: 0 };
		routes["/routes.json"] = { GET: 0 };
	}
	if (config.httpUpload === "true") routes["/upload"] = { POST: 1048576, PUT: 1024, DELETE: 1024 };
	return routes;
}

/** The answer of the app's /upload routes to a body (app/http-upload): its length and CRC-32, or DELETE's. */
function uploadAnswer(method: string, body: Buffer): string {
	return method === "DELETE" ? JSON.stringify({ deleted: true }) : JSON.stringify({ bytes: body.length, crc32: crc32(body) });
}

export interface HttpOracleOptions {
	/** The path served ("/ws"). */
	path: string;
	/** Largest head accepted (431 beyond). Default 2048. */
	limit?: number;
	/** Paths the server may also answer as plain HTTP GET/HEAD (websocket/http-routes). */
	httpPaths?: readonly string[];
	/** The server's plain HTTP routes (appHttpRoutes()): requests on their paths other than GET/HEAD of a page are judged exactly. */
	routes?: HttpRouteTable;
	/** The server keeps a plain HTTP connection that asks (httpKeepAlive on, a handshake timeout of 1 s or more). Default false: none must be kept. */
	keepAlive?: boolean;
}

const TCHAR = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const isToken = (s: string) => TCHAR.test(s);
const OWS = /^[ \t]+|[ \t]+$/g;

/** Comma-separated list elements, trimmed, empty ones dropped. */
const listOf = (value: string | undefined) =>
	(value ?? "")
		.split(",")
		.map(s => s.trim())
		.filter(Boolean);
const hasToken = (value: string | undefined, token: string) => listOf(value).some(t => t.toLowerCase() === token);

const result = (outcomes: Iterable<HandshakeOutcome>, why: string): HandshakeExpectation => ({
	outcomes: [...new Set(outcomes)].sort((a, b) => String(a).localeCompare(String(b))),
	why,
});

export function expectHandshake(data: Buffer, options: HttpOracleOptions): HandshakeExpectation {
	const limit = options.limit ?? 2048;
	// Empty lines before the request line are ignored (RFC 7230 3.5) and do not count.
	let from = 0;
	while (from < data.length && (data[from] === 13 || data[from] === 10)) from++;
	// Find the end of the head (an empty line, CRLF or bare LF), or what stops the scan first.
	let end = -1,
		control = -1;
	for (let i = from; i < Math.min(data.length, from + limit); i++) {
		const c = data[i];
		if (c === 10) {
			if ((i - 1 >= from && data[i - 1] === 10) || (i - 2 >= from && data[i - 1] === 13 && data[i - 2] === 10)) {
				end = i;
				break;
			}
		} else if ((c < 32 && c !== 9 && c !== 13) || c === 127) {
			control = i;
			break;
		}
	}
	const size = data.length - from;
	if (control >= 0) {
		// A server may also judge the head only once it is whole (or too large).
		const later: HandshakeOutcome[] = [];
		if (!containsEnd(data, from, from + limit)) later.push(size >= limit ? 431 : "drop");
		return result([400, ...later], `control character 0x${data[control].toString(16)} at byte ${control}`);
	}
	if (end < 0) return size >= limit ? result([431], `no end of head within ${limit} B`) : result(["drop"], `head never completes (${size} B)`);
	return judgeHead(data.subarray(from, end + 1), options, data.subarray(end + 1));
}

function containsEnd(data: Buffer, from: number, to: number): boolean {
	for (let i = from + 1; i < Math.min(data.length, to); i++)
		if (data[i] === 10 && (data[i - 1] === 10 || (i - 2 >= from && data[i - 1] === 13 && data[i - 2] === 10))) return true;
	return false;
}

/** A whole head: parse it (leniently, noting where a server may refuse instead), then validate. */
function judgeHead(head: Buffer, options: HttpOracleOptions, rest: Buffer): HandshakeExpectation {
	const lenient: string[] = []; // where a 400 is also a legitimate answer
	const ascii = head.every(b => b < 0x80);
	const utf8 = ascii || validUtf8(head);
	if (!utf8) lenient.push("bytes that are not UTF-8");
	const text = head.toString(utf8 ? "utf8" : "latin1");
	const lines = text.split("\n").map(l => (l.endsWith("\r") ? l.slice(0, -1) : l));

	// Request line: method SP request-target SP HTTP-version (RFC 7230 3.1.1).
	const parts = lines[0].split(" ");
	if (parts.length !== 3 || !isToken(parts[0]) || !parts[1] || /[\t\r]/.test(parts[1]) || !/^HTTP\/\d\.\d$/.test(parts[2]))
		return result([400], `malformed request line "${lines[0].slice(0, 60)}"`);
	if (/[^\x20-\x7e]/.test(lines[0])) lenient.push("non-ASCII request line");
	const [method, target, version] = parts;

	// Header lines until the empty one; obs-fold and bare CR may be refused or read leniently.
	const fields: [string, string][] = [];
	for (const line of lines.slice(1)) {
		if (!line) break;
		if (line[0] === " " || line[0] === "\t") {
			if (!fields.length) return result([400], "folded line right after the request line");
			lenient.push("obs-fold line");
			fields[fields.length - 1][1] = `${fields[fields.length - 1][1]} ${line.replace(OWS, "")}`.replace(OWS, "");
			continue;
		}
		const colon = line.indexOf(":");
		const name = colon < 0 ? "" : line.slice(0, colon);
		if (!isToken(name)) return result([400], `malformed header line "${line.slice(0, 40)}"`);
		let value = line.slice(colon + 1).replace(OWS, "");
		if (value.includes("\r")) {
			lenient.push("bare CR in a value");
			value = value.replace(/\r/g, " ");
		}
		if (/[\u2028\u2029]/.test(value)) lenient.push("line separator in a value");
		fields.push([name.toLowerCase(), value]);
	}
	const headers = new Map<string, string>();
	for (const [name, value] of fields) headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
	const count = (name: string) => fields.filter(f => f[0] === name).length;

	// Validation: every rule the request breaks; a server may report any one of them.
	const faults: [number, string][] = [];
	if (method !== "GET") faults.push([405, `method ${method}`]);
	const [major, minor] = version.slice(5).split(".").map(Number);
	if (major < 1 || (major === 1 && minor < 1)) faults.push([400, `${version}`]);
	if (!headers.get("host")) faults.push([400, "no Host"]);
	else if (count("host") > 1) faults.push([400, "more than one Host (RFC 7230 5.4)"]);
	const path = pathOf(target);
	if (path === undefined) faults.push([400, `request target "${target}"`]);
	else {
		if (path !== options.path) faults.push([404, `path ${path}`]);
		if (target.includes("#")) lenient.push("'#' in the request target");
	}
	if (!headers.has("upgrade")) faults.push([426, "no Upgrade"], [400, "no Upgrade"]);
	else if (!hasToken(headers.get("upgrade"), "websocket")) faults.push([400, `Upgrade "${headers.get("upgrade")}"`]);
	if (!hasToken(headers.get("connection"), "upgrade")) faults.push([400, `Connection "${headers.get("connection") ?? ""}"`]);
	if (headers.get("sec-websocket-version") !== "13") faults.push([426, `Sec-WebSocket-Version "${headers.get("sec-websocket-version") ?? ""}"`]);
	if (!/^[A-Za-z0-9+/]{22}==$/.test(headers.get("sec-websocket-key") ?? ""))
		faults.push([400, `Sec-WebSocket-Key "${headers.get("sec-websocket-key") ?? ""}"`]);
	const protocols = listOf(headers.get("sec-websocket-protocol"));
	if (protocols.some((p, i) => !isToken(p) || protocols.indexOf(p) !== i)) lenient.push("invalid Sec-WebSocket-Protocol list");

	// Plain HTTP on a routed path, but for GET and HEAD of a page (judged below, beside the upgrade's refusals): judged exactly.
	const methods = path === undefined ? undefined : options.routes?.[path];
	if (methods && !hasToken(headers.get("upgrade"), "websocket"))
		return judgeRouted({ method, version, headers, methods, rest, lenient, keepAlive: !!options.keepAlive });

	// Plain HTTP (not an upgrade) on a path with an HTTP route: 200 for a well-formed GET or HEAD.
	const malformed = faults.some(f => f[0] === 400 && !/^(no Upgrade|Upgrade |Connection |Sec-WebSocket-Key )/.test(f[1]));
	if (
		path !== undefined &&
		options.httpPaths?.includes(path) &&
		!hasToken(headers.get("upgrade"), "websocket") &&
		(method === "GET" || method === "HEAD") &&
		!malformed
	)
		faults.push([200, `plain HTTP on ${path}`]);
	const also = lenient.length ? [400] : [];
	const note = lenient.length ? ` (400 also allowed: ${lenient.join(", ")})` : "";
	const connection = headers.get("connection");
	const mayKeep = version === "HTTP/1.1" && hasToken(connection, "keep-alive") && !hasToken(connection, "close");
	if (faults.length) return { ...result([...faults.map(f => f[0]), ...also], faults.map(f => `${f[0]} ${f[1]}`).join("; ") + note), mayKeep };
	return result([101, ...also], `valid upgrade${note}`);
}

interface Routed {
	method: string;
	version: string;
	headers: Map<string, string>;
	methods: Readonly<Record<string, number>>;
	/** The bytes after the head: the body, and whatever follows it. */
	rest: Buffer;
	lenient: string[];
	keepAlive: boolean;
}

/** A plain HTTP request on a routed path (websocket/server #request), in the order the server checks. */
function judgeRouted({ method, version, headers, methods, rest, lenient, keepAlive }: Routed): HandshakeExpectation {
	const also = lenient.length ? [400] : [];
	const note = lenient.length ? ` (400 also allowed: ${lenient.join(", ")})` : "";
	const closes = (status: number | "drop", why: string): HandshakeExpectation => result([status, ...also], why + note);
	const host = headers.get("host");
	if (Number(version.slice(5)) >= 1.1 && (!host || host.includes(","))) return closes(400, host ? "more than one Host" : "no Host");
	const connection = headers.get("connection");
	const asked = version === "HTTP/1.1" && hasToken(connection, "keep-alive") && !hasToken(connection, "close");
	const declared = headers.get("content-length");
	const chunked = headers.get("transfer-encoding");
	const maxBody = methods[method === "HEAD" ? "GET" : method];
	if (maxBody === undefined) {
		const allow = Object.keys(methods)
			.flatMap(m => (m === "GET" ? ["GET", "HEAD"] : [m]))
			.join(", ");
		// Kept only with no body to leave unread.
		const keep = asked && (declared === undefined || declared === "0") && chunked === undefined;
		return { ...result([405, ...also], `${method} on a path routed for ${allow}${note}`), allow, mayKeep: keep, mustKeep: keep && keepAlive && !also.length };
	}
	if (chunked !== undefined) return closes(411, "a chunked body (Content-Length required)");
	if (declared !== undefined && !/^[0-9]+$/.test(declared)) return closes(400, `Content-Length "${declared}"`);
	const length = declared === undefined ? 0 : Number(declared);
	if (length > maxBody) return closes(413, `a body of ${length} B on a route taking ${maxBody}`);
	if (rest.length < length) return closes("drop", `a body of ${length} B of which ${rest.length} came (never completes)`);
	// The body of the app's /upload answers (GET routes' bodies are the page's, judged by their length only).
	const body = method === "GET" || method === "HEAD" ? undefined : uploadAnswer(method, rest.subarray(0, length));
	return {
		...result([200, ...also], `${method} with a body of ${length} B${rest.length > length ? ` and ${rest.length - length} B after it` : ""}${note}`),
		body,
		bodiless: method === "HEAD",
		mayKeep: asked,
		mustKeep: asked && keepAlive && !also.length,
	};
}

/** The path of an origin-form ("/p?q") or absolute-form ("ws://host/p?q") target; undefined when neither. */
function pathOf(target: string): string | undefined {
	let rest = target;
	if (!rest.startsWith("/")) {
		const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*([^#]*)$/.exec(rest);
		if (!absolute) return undefined;
		rest = absolute[1].startsWith("/") ? absolute[1] : `/${absolute[1]}`;
	}
	const question = rest.indexOf("?");
	return question < 0 ? rest : rest.slice(0, question);
}
