/*
 * Generators of opening-handshake cases: a valid upgrade request (RFC 6455
 * 4.1) with one or two mutations of its method, target, version, headers,
 * line ends or size; garbage request lines; heads cut short that never
 * complete. Heads the server should accept sometimes carry WebSocket frames
 * in the same write (the server must take them as the first frames).
 *
 * Beside them, plain HTTP requests on the server's HTTP routes (httpRoutes):
 * POST, PUT, DELETE (and GET, HEAD where no GET is routed) with and without
 * a body, its Content-Length right, short of the body, beyond it, over the
 * route's limit or malformed, or a chunked body; asking to keep the
 * connection or not.
 *
 * As with the WebSocket cases, the status the server must answer is not
 * decided here but by http-oracle.ts from the bytes produced.
 */

import { Op } from "../conformance/frames.js";
import type { HandshakeCase, Part } from "./case.js";
import type { HttpRouteTable } from "./http-oracle.js";
import { routedRequest } from "./http-request-cases.js";
import type { Rng } from "./prng.js";
import { clientFrame, textPayload, writePlan } from "./ws-cases.js";

export interface HandshakeGenOptions {
	/** "host:port" for the Host header. */
	host: string;
	/** The path the server serves ("/ws"). */
	path: string;
	maxDelayMs: number;
	/** The server's plain HTTP routes: a share of the cases are requests on them. Default none. */
	httpRoutes?: HttpRouteTable;
	/** Largest body sent with a plain HTTP request. Default 4096. */
	maxBody?: number;
}

type Value = string | Buffer;

interface Request {
	leading: string;
	method: string;
	target: string;
	version: string;
	/** Header lines: [name, value] or a raw line as given. */
	headers: ([string, Value] | { raw: Value })[];
	eol: string;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** A well-formed Sec-WebSocket-Key: 16 bytes in base64 (22 characters and "=="). */
export function wsKey(rng: Rng): string {
	return rng.bytes(16).toString("base64");
}

function render(request: Request): Buffer {
	const eol = Buffer.from(request.eol, "latin1");
	const pieces: Buffer[] = [Buffer.from(`${request.leading}${request.method} ${request.target} ${request.version}`, "latin1"), eol];
	for (const header of request.headers) {
		if ("raw" in header) pieces.push(typeof header.raw === "string" ? Buffer.from(header.raw, "latin1") : header.raw);
		else pieces.push(Buffer.from(`${header[0]}: `, "latin1"), typeof header[1] === "string" ? Buffer.from(header[1], "latin1") : header[1]);
		pieces.push(eol);
	}
	pieces.push(eol);
	return Buffer.concat(pieces);
}

function base(rng: Rng, options: HandshakeGenOptions): Request {
	return {
		leading: "",
		method: "GET",
		target: options.path,
		version: "HTTP/1.1",
		headers: [
			["Host", options.host],
			["Upgrade", "websocket"],
			["Connection", "Upgrade"],
			["Sec-WebSocket-Key", wsKey(rng)],
			["Sec-WebSocket-Version", "13"],
		],
		eol: "\r\n",
	};
}

const named = (request: Request, name: string) => request.headers.findIndex(h => Array.isArray(h) && h[0].toLowerCase() === name.toLowerCase());

function setHeader(request: Request, name: string, value: Value | undefined): void {
	const at = named(request, name);
	if (value === undefined) {
		if (at >= 0) request.headers.splice(at, 1);
	} else if (at >= 0) request.headers[at] = [name, value];
	else request.headers.push([name, value]);
}

function junkHeader(rng: Rng, length: number): [string, string] {
	let value = "";
	while (value.length < length) value += B64[rng.int(0, 63)];
	return [`X-Fuzz-${rng.int(0, 99999)}`, value];
}

type Mutation = (rng: Rng, request: Request, options: HandshakeGenOptions) => string;

/** Each mutation changes the request and says what it did. */
const mutations: readonly (readonly [Mutation, number])[] = [
	[(rng, r) => ((r.method = rng.pick(["POST", "PUT", "DELETE", "HEAD", "OPTIONS", "CONNECT", "get", "Get", "PATCH", "X-GET"])), `method ${r.method}`), 6],
	[(rng, r) => ((r.method = rng.pick(["", "G(T", 'GE"T', "GET/"])), `bad method "${r.method}"`), 2],
	[
		(rng, r, o) => (
			(r.target = rng.pick(["/", `${o.path}x`, `${o.path}/`, o.path.toUpperCase(), "/other", `${o.path}#frag`, `//${o.path}`])), `target ${r.target}`
		),
		6,
	],
	[
		(rng, r, o) => (
			(r.target = rng.pick([`${o.path}?a=1`, `${o.path}?`, `ws://${o.host}${o.path}`, `http://${o.host}${o.path}?q`, `ws://${o.host}`, `ws://${o.host}?x`])),
			`target ${r.target}`
		),
		4,
	],
	[(rng, r) => ((r.target = rng.pick(["*", "ws", "", "a b", "%2Fws"])), `bad target "${r.target}"`), 3],
	[
		(rng, r) => (
			(r.version = rng.pick(["HTTP/1.0", "HTTP/0.9", "HTTP/2.0", "HTTP/1.2", "http/1.1", "HTTP/1.10", "HTTP/11", "HTTP/1.1 ", "HTTP /1.1", "HTTP/1"])),
			`version "${r.version}"`
		),
		5,
	],
	[(rng, r) => (setHeader(r, "Host", rng.pick([undefined, ""])), "Host missing or empty"), 3],
	[(_rng, r) => (setHeader(r, "Upgrade", undefined), "Upgrade missing"), 3],
	[
		(rng, r) => {
			const v = rng.pick(["websocket2", "h2c", "", "web socket", "websocket/13", "WebSocket", "websocket, h2c", "h2c, websocket", " websocket "]);
			setHeader(r, "Upgrade", v);
			return `Upgrade "${v}"`;
		},
		5,
	],
	[(_rng, r) => (setHeader(r, "Connection", undefined), "Connection missing"), 3],
	[
		(rng, r) => {
			const v = rng.pick(["close", "keep-alive", "", "upgrade2", "Upgrade;q=1", "keep-alive, Upgrade", "UPGRADE", "Upgrade, close", ",upgrade,"]);
			setHeader(r, "Connection", v);
			return `Connection "${v}"`;
		},
		5,
	],
	[(_rng, r) => (setHeader(r, "Sec-WebSocket-Version", undefined), "Sec-WebSocket-Version missing"), 3],
	[
		(rng, r) => {
			const v = rng.pick(["12", "8", "7", "14", "0", "", "13.0", "013", " 13 ", "13, 8", "1 3"]);
			setHeader(r, "Sec-WebSocket-Version", v);
			return `Sec-WebSocket-Version "${v}"`;
		},
		6,
	],
	[(_rng, r) => (r.headers.push(["Sec-WebSocket-Version", "13"]), "Sec-WebSocket-Version twice"), 1],
	[(_rng, r) => (setHeader(r, "Sec-WebSocket-Key", undefined), "Sec-WebSocket-Key missing"), 3],
	[
		(rng, r) => {
			const good = wsKey(rng);
			const v = rng.pick([
				good.slice(0, 20),
				`${good}=`,
				good.replace("==", "AA"),
				`${good.slice(0, 21)}!==`,
				"",
				"dGhlIHNhbXBsZSBub25jZQ",
				rng.bytes(18).toString("base64"),
				good.replace(/^./, "-"),
			]);
			setHeader(r, "Sec-WebSocket-Key", v);
			return `Sec-WebSocket-Key "${v}"`;
		},
		5,
	],
	[(rng, r) => (r.headers.push(["Sec-WebSocket-Key", wsKey(rng)]), "Sec-WebSocket-Key twice"), 1],
	[
		(rng, r) => {
			const v = rng.pick(["chat", "chat, superchat", "chat,,superchat", "a b", "chat, chat", "", "x/y"]);
			setHeader(r, "Sec-WebSocket-Protocol", v);
			return `Sec-WebSocket-Protocol "${v}"`;
		},
		3,
	],
	[
		(rng, r) => {
			for (const h of r.headers) if (Array.isArray(h)) h[0] = [...h[0]].map(c => (rng.chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join("");
			return "header names in mixed case";
		},
		3,
	],
	[
		(rng, r) => {
			for (let i = r.headers.length - 1; i > 0; i--) {
				const j = rng.int(0, i);
				[r.headers[i], r.headers[j]] = [r.headers[j], r.headers[i]];
			}
			return "headers shuffled";
		},
		3,
	],
	[
		(rng, r) => {
			const n = rng.int(1, 5);
			for (let i = 0; i < n; i++) r.headers.splice(rng.int(0, r.headers.length), 0, junkHeader(rng, rng.int(0, 60)));
			return `${n} extra headers`;
		},
		5,
	],
	[
		(rng, r) => {
			// A header flood: many small headers up to a size near, at or over the 2 KB limit.
			const size = rng.pick([1800, 1990, 2040, 2048, 2100, 3000, 8000]);
			let n = 0;
			while (render(r).length < size) {
				r.headers.push(junkHeader(rng, rng.int(5, 40)));
				n++;
			}
			return `header flood: ${n} headers, head of ${render(r).length} B`;
		},
		5,
	],
	[
		(rng, r) => {
			const length = rng.pick([1900, 2100, 4000]);
			r.headers.push(junkHeader(rng, length));
			return `one header value of ${length} B`;
		},
		2,
	],
	[
		(rng, r) => {
			const length = rng.pick([2040, 2100, 3000]);
			r.target += `?${"q".repeat(length)}`;
			return `target of ${r.target.length} B`;
		},
		1,
	],
	[
		(rng, r) => {
			r.headers = r.headers.map(h =>
				Array.isArray(h) ? { raw: `${h[0]}:${rng.pick(["", "\t", "  ", " \t "])}${String(h[1])}${rng.pick(["", " ", "\t", " \t"])}` } : h,
			);
			return "odd whitespace around values";
		},
		3,
	],
	[
		(rng, r) => {
			const at = rng.int(0, r.headers.length - 1);
			const h = r.headers[at];
			if (Array.isArray(h)) r.headers[at] = { raw: `${h[0]} : ${String(h[1])}` };
			return "space before a colon";
		},
		2,
	],
	[
		(rng, r) => {
			r.headers.splice(rng.int(0, r.headers.length), 0, { raw: rng.pick(["no colon here", ": empty name", "Bad Name: x", "Name\u00e9: x"]) });
			return "malformed header line";
		},
		2,
	],
	[
		(rng, r) => {
			const h = junkHeader(rng, 8);
			r.headers.splice(rng.int(0, r.headers.length), 0, h, { raw: `${rng.pick([" ", "\t"])}folded` });
			return "obs-fold continuation line";
		},
		2,
	],
	[(rng, r) => ((r.eol = rng.pick(["\n", "\r\n"])), r.eol === "\n" ? "bare LF line ends" : "CRLF"), 3],
	[(rng, r) => ((r.leading = rng.pick(["\r\n", "\n", "\r\n\r\n"])), "empty lines before the request line"), 2],
	[
		(rng, r) => {
			const c = rng.pick(["\u0000", "\u0001", "\u001b", "\u007f", "\u000b", "\f"]);
			r.headers.push([`X-Control`, `a${c}b`]);
			return `control character 0x${c.charCodeAt(0).toString(16)} in a value`;
		},
		3,
	],
	[(_rng, r) => (r.headers.push(["X-Bare-CR", "a\rb"]), "bare CR in a value"), 1],
	[
		(rng, r) => {
			const valid = rng.chance(0.5);
			const value = valid ? Buffer.from(rng.pick(["café", "€uro", "日本", "😀"])) : Buffer.from(rng.pick([[0xff], [0xc0, 0x80], [0xe9], [0xed, 0xa0, 0x80]]));
			r.headers.push(["X-Bytes", value]);
			return `${valid ? "UTF-8" : "non-UTF-8"} bytes in a value`;
		},
		3,
	],
	[(_rng, r) => (r.headers.push(["Host", "other.example"]), "Host twice"), 1],
];

/** Whole requests that are not HTTP at all. */
function garbage(rng: Rng): { head: Buffer; label: string } {
	const kind = rng.weighted([
		["words", 3],
		["bytes", 2],
		["response", 1],
		["tls", 1],
		["blank", 1],
	] as const);
	switch (kind) {
		case "words": {
			const words = Array.from({ length: rng.int(1, 6) }, () =>
				Array.from({ length: rng.int(1, 10) }, () => String.fromCharCode(rng.int(0x21, 0x7e))).join(""),
			);
			return {
				head: Buffer.from(`${words.join(rng.pick([" ", "  ", "\t"]))}\r\n\r\n`, "latin1"),
				label: `garbage request line "${words.join(" ").slice(0, 40)}"`,
			};
		}
		case "bytes":
			return { head: Buffer.concat([rng.bytes(rng.int(1, 300)), Buffer.from("\r\n\r\n")]), label: "random bytes" };
		case "response":
			return { head: Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), label: "an HTTP response instead of a request" };
		case "tls":
			return { head: Buffer.from("16030100a5010000a10303", "hex"), label: "a TLS ClientHello start" };
		case "blank":
			return { head: Buffer.from("\r\n".repeat(rng.int(1, 4))), label: "empty lines only" };
	}
}

export function handshakeCase(rng: Rng, index: number, seed: number, options: HandshakeGenOptions): HandshakeCase {
	let head: Buffer, label: string;
	const routes = options.httpRoutes;
	if (routes && Object.keys(routes).length && rng.chance(0.3)) {
		// A plain HTTP request: its bytes whole (head and body), cut into writes as any case's.
		({ head, label } = routedRequest(rng, options, routes));
		return { kind: "handshake", index, seed, label, head, after: [], writes: writePlan(rng, head.length, options.maxDelayMs) };
	}
	if (rng.chance(0.08)) ({ head, label } = garbage(rng));
	else {
		const request = base(rng, options);
		const labels: string[] = [];
		const count = rng.weighted([
			[0, 10],
			[1, 70],
			[2, 20],
		] as const);
		for (let i = 0; i < count; i++) labels.push(rng.weighted(mutations)(rng, request, options));
		head = render(request);
		label = labels.join("; ") || "valid request";
	}
	// A head that never completes: cut before its end, then nothing.
	if (rng.chance(0.04)) {
		const cut = rng.int(0, Math.max(0, head.length - 2));
		head = head.subarray(0, cut);
		label += `, cut after ${cut} B (never completes)`;
	}
	const after: Part[] = [];
	if (rng.chance(0.25)) {
		const n = rng.int(1, 2);
		for (let i = 0; i < n; i++) {
			const text = rng.chance(0.5);
			const payload = text ? textPayload(rng, rng.int(0, 60)) : rng.bytes(rng.int(0, 60));
			after.push({ bytes: clientFrame(rng, text ? Op.TEXT : Op.BINARY, payload), label: `${text ? "text" : "binary"} ${payload.length} B` });
		}
	}
	const length = head.length + after.reduce((n, p) => n + p.bytes.length, 0);
	return { kind: "handshake", index, seed, label, head, after, writes: writePlan(rng, length, options.maxDelayMs) };
}
