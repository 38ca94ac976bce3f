/*
 * The HTTP/1.1 Upgrade handshake of RFC 6455 section 4, as pure helpers:
 * Sec-WebSocket-Accept computation, request validation for a server,
 * response validation for a client, and builders for the heads to send.
 *
 * The HTTP head parser, the status texts and errorResponse() live in
 * modules/http (shared with provisioning); they are re-exported here so
 * importers of websocket/handshake compile unchanged.
 */

import Base64 from "base64";
import { Digest } from "crypt";
import { errorResponse, type HeadError, headerLines, isToken, type RequestHead, type ResponseHead } from "modules/http";
import { WEBSOCKET_GUID } from "websocket/constants";

export {
	errorResponse,
	type HeadError,
	type HttpHead,
	type RequestHead,
	RequestHeadParser,
	type ResponseHead,
	ResponseHeadParser,
	statusTexts,
} from "modules/http";

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)) (4.2.2 step 5.4). */
export function acceptKey(key: string): string {
	const sha1 = new Digest("SHA1");
	sha1.write(key + WEBSOCKET_GUID);
	return Base64.encode(sha1.close());
}

/** A Sec-WebSocket-Key must be base64 of 16 bytes: 22 characters and "==" (4.1, 4.2.1). */
export function isValidKey(key: string | undefined): key is string {
	if (key === undefined || key.length !== 24 || !key.endsWith("==")) return false;
	for (let i = 0; i < 22; i++) {
		const c = key.charCodeAt(i);
		if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f)) return false;
	}
	return true;
}

/** A fresh Sec-WebSocket-Key: 16 random bytes, base64 (4.1). random as Math.random. */
export function generateKey(random: () => number = Math.random): string {
	const bytes = new Uint8Array(16);
	for (let i = 0; i < 16; i++) bytes[i] = (random() * 256) & 0xff;
	return Base64.encode(bytes.buffer);
}

/** Comma-separated list elements, trimmed, empty ones dropped (RFC 7230 7). */
export function tokenList(value: string | undefined): string[] {
	if (!value) return [];
	const out: string[] = [];
	for (const part of value.split(",")) {
		const item = part.trim();
		if (item) out.push(item);
	}
	return out;
}

/** Whether a list header holds a token, case-insensitively ("Connection: keep-alive, Upgrade"). */
export function hasToken(value: string | undefined, token: string): boolean {
	token = token.toLowerCase();
	for (const item of tokenList(value)) if (item.toLowerCase() === token) return true;
	return false;
}

/** The first protocol the client offered that the server supports (4.2.2 step 5.5). */
export function selectProtocol(offered: readonly string[], supported: readonly string[]): string | undefined {
	for (const protocol of offered) if (supported.includes(protocol)) return protocol;
	return undefined;
}

/* ------------------------------------------------------------- validation */

/** An acceptable opening handshake (RFC 6455 4.2.1). */
export interface UpgradeRequest {
	ok: true;
	/** Sec-WebSocket-Key, for acceptResponse(). */
	key: string;
	/** Target path, "/" at least, without the query. */
	path: string;
	/** Query string without "?", "" when none. */
	query: string;
	/** Sec-WebSocket-Protocol values offered, in the client's order (maybe empty). */
	protocols: string[];
	/** Origin header, if any (browsers send it; 4.2.1 step 7). */
	origin: string | undefined;
}

/** A refused handshake: answer with rejectionResponse(). */
export interface Rejection {
	ok: false;
	status: number;
	message: string;
	/** Extra response headers the status requires (Allow for 405; Sec-WebSocket-Version for 426). */
	headers: [string, string][];
}

export interface UpgradeRequestOptions {
	/** Serve only this path (exact match, query ignored): 404 otherwise. Default: any path. */
	path?: string;
}

/**
 * Check a request head against RFC 6455 4.2.1. Refusals:
 * 405 method not GET; 400 HTTP older than 1.1, no Host, bad target,
 * Upgrade not "websocket", Connection without "upgrade", bad key, bad
 * protocol list; 404 other path; 426 no Upgrade header at all (a plain HTTP
 * request) or Sec-WebSocket-Version not 13 (with "Sec-WebSocket-Version: 13", 4.4).
 */
export function validateUpgradeRequest(head: RequestHead, options: UpgradeRequestOptions = {}): UpgradeRequest | Rejection {
	const headers = head.headers;
	if (head.method !== "GET") return reject(405, "WebSocket handshake must use GET", [["Allow", "GET"]]);
	if (!(Number(head.version) >= 1.1)) return reject(400, "HTTP/1.1 or later required");
	const host = headers.get("host");
	if (!host) return reject(400, "missing Host header");
	if (host.includes(","))
		// repeated headers arrive joined with ", "; a host never holds a comma
		return reject(400, "more than one Host header"); // RFC 7230 5.4
	const target = splitTarget(head.target);
	if (!target) return reject(400, "invalid request target");
	if (options.path !== undefined && target.path !== options.path) return reject(404, "not found");
	const upgrade = headers.get("upgrade");
	if (upgrade === undefined)
		return reject(426, "WebSocket upgrade required", [
			["Upgrade", "websocket"],
			["Sec-WebSocket-Version", "13"],
		]);
	if (!hasToken(upgrade, "websocket")) return reject(400, "Upgrade header must be websocket");
	if (!hasToken(headers.get("connection"), "upgrade")) return reject(400, "Connection header must include Upgrade");
	if (headers.get("sec-websocket-version") !== "13") return reject(426, "unsupported WebSocket version", [["Sec-WebSocket-Version", "13"]]);
	const key = headers.get("sec-websocket-key");
	if (!isValidKey(key)) return reject(400, "invalid Sec-WebSocket-Key");
	const protocols = tokenList(headers.get("sec-websocket-protocol"));
	for (let i = 0; i < protocols.length; i++)
		if (!isToken(protocols[i]) || protocols.indexOf(protocols[i]) !== i) return reject(400, "invalid Sec-WebSocket-Protocol");
	return { ok: true, key, path: target.path, query: target.query, protocols, origin: headers.get("origin") };
}

/** origin-form "/p?q", or absolute-form "ws://host/p?q" (RFC 7230 5.3). */
export function splitTarget(target: string): { path: string; query: string } | undefined {
	if (!target.startsWith("/")) {
		const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*([^#]*)$/.exec(target);
		if (!absolute) return undefined;
		target = absolute[1];
		if (target.startsWith("?") || !target) target = "/" + target;
	}
	const question = target.indexOf("?");
	if (question < 0) return { path: target, query: "" };
	return { path: target.slice(0, question), query: target.slice(question + 1) };
}

function reject(status: number, message: string, headers: [string, string][] = []): Rejection {
	return { ok: false, status, message, headers };
}

/** An accepted server response: the subprotocol the server chose, if any. */
export interface UpgradeAccepted {
	ok: true;
	protocol: string | undefined;
}

export interface UpgradeFailed {
	ok: false;
	message: string;
}

/**
 * Check a server's response against RFC 6455 4.1 (client side): status 101,
 * Upgrade websocket, Connection upgrade, Sec-WebSocket-Accept matching our
 * key, no extension we did not offer (we offer none), a subprotocol only
 * from those offered.
 */
export function validateUpgradeResponse(head: ResponseHead, key: string, protocols: readonly string[] = []): UpgradeAccepted | UpgradeFailed {
	const headers = head.headers;
	if (head.status !== 101) return { ok: false, message: `unexpected status ${head.status} ${head.statusText}`.trim() };
	if (!hasToken(headers.get("upgrade"), "websocket")) return { ok: false, message: "Upgrade header must be websocket" };
	if (!hasToken(headers.get("connection"), "upgrade")) return { ok: false, message: "Connection header must include Upgrade" };
	if (headers.get("sec-websocket-accept") !== acceptKey(key)) return { ok: false, message: "Sec-WebSocket-Accept mismatch" };
	if (headers.get("sec-websocket-extensions")) return { ok: false, message: "server selected an extension that was not offered" };
	const protocol = headers.get("sec-websocket-protocol");
	if (protocol !== undefined && !protocols.includes(protocol)) return { ok: false, message: "server selected a subprotocol that was not offered" };
	return { ok: true, protocol };
}

/* --------------------------------------------------------------- building */

/** The 101 response accepting a handshake (4.2.2 step 5). */
export function acceptResponse(key: string, protocol?: string, headers: readonly (readonly [string, string])[] = []): string {
	let head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n`;
	if (protocol) head += `Sec-WebSocket-Protocol: ${protocol}\r\n`;
	return head + headerLines(headers) + "\r\n";
}

/** errorResponse() for a refused request (head parse error or validation). */
export function rejectionResponse(rejection: HeadError | Rejection): string {
	return errorResponse(rejection.status, rejection.message, "headers" in rejection ? rejection.headers : []);
}

export interface UpgradeRequestFields {
	/** Host header value: "host" or "host:port" (port when not the default). */
	host: string;
	/** Request target: path and query, "/" at least. */
	path: string;
	/** From generateKey(). */
	key: string;
	protocols?: readonly string[];
	origin?: string;
	headers?: readonly (readonly [string, string])[];
}

/** A client's opening handshake (4.1). */
export function upgradeRequest(fields: UpgradeRequestFields): string {
	let head =
		`GET ${fields.path || "/"} HTTP/1.1\r\nHost: ${fields.host}\r\n` +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n" +
		`Sec-WebSocket-Key: ${fields.key}\r\nSec-WebSocket-Version: 13\r\n`;
	if (fields.protocols?.length) head += `Sec-WebSocket-Protocol: ${fields.protocols.join(", ")}\r\n`;
	if (fields.origin) head += `Origin: ${fields.origin}\r\n`;
	return head + headerLines(fields.headers ?? []) + "\r\n";
}
