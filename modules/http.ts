/*
 * HTTP/1.1 heads, the one copy for every HTTP speaker in the kit (the
 * WebSocket handshake on both sides, the provisioning page): an
 * incremental head parser for requests and responses, the status texts
 * (one table), and the builder of a short, closing response.
 *
 * Heads are ASCII; builders return strings (send with ArrayBuffer.fromString).
 * Parsed header names are lower-cased; repeated headers are joined with ", "
 * (RFC 7230 3.2.2), so token lists read the same either way.
 */

/** Fields common to request and response heads. */
export interface HttpHead {
	/** HTTP version as "1.1". */
	version: string;
	/** Lower-cased names; repeated headers joined with ", ". */
	headers: Map<string, string>;
}

export interface RequestHead extends HttpHead {
	method: string;
	/** The request-target as sent ("/chat?room=1"). */
	target: string;
}

export interface ResponseHead extends HttpHead {
	status: number;
	statusText: string;
}

/** Why a head was refused: the HTTP status to answer with and a short text. */
export interface HeadError {
	status: number;
	message: string;
}

/*
 * No RegExp here, and none at module level anywhere in the kit: the kit's
 * modules are preloaded (code and module-level objects in flash), and XS
 * (SDK 8.2.3, xsre.c fxAllocateRegExpData) gives a preloaded RegExp's
 * working data a malloc'd block that the collector then marks and sweeps
 * as a chunk of its heap: the heap is corrupted on the next collection
 * after such an exec (a segfault under load on the simulator). The start
 * and header lines are parsed by hand below, which also costs XS no match
 * arrays.
 */

/** tchar (RFC 7230 3.2.6): "!" "#" "$" "%" "&" "'" "*" "+" "-" "." "^" "_" "`" "|" "~", DIGIT, ALPHA. */
function isTokenChar(c: number): boolean {
	if (c >= 0x61 && c <= 0x7a)
		// a-z
		return true;
	if (c >= 0x41 && c <= 0x5a)
		// A-Z
		return true;
	if (c >= 0x30 && c <= 0x39)
		// 0-9
		return true;
	switch (c) {
		case 0x21:
		case 0x23:
		case 0x24:
		case 0x25:
		case 0x26:
		case 0x27:
		case 0x2a:
		case 0x2b:
		case 0x2d:
		case 0x2e:
		case 0x5e:
		case 0x5f:
		case 0x60:
		case 0x7c:
		case 0x7e:
			return true;
	}
	return false;
}

/** An HTTP token (RFC 7230 3.2.6), text[start, end) non-empty: header names, methods, WebSocket subprotocols. */
export function isToken(text: string, start = 0, end = text.length): boolean {
	if (end <= start) return false;
	for (let i = start; i < end; i++) {
		if (!isTokenChar(text.charCodeAt(i))) return false;
	}
	return true;
}

function isDigit(c: number): boolean {
	return c >= 0x30 && c <= 0x39;
}

/** "HTTP/" DIGIT "." DIGIT at text[at] (RFC 7230 2.6); the version as "1.1", or undefined. */
function httpVersion(text: string, at: number): string | undefined {
	if (!text.startsWith("HTTP/", at) || !isDigit(text.charCodeAt(at + 5)) || text.charCodeAt(at + 6) !== 0x2e || !isDigit(text.charCodeAt(at + 7)))
		return undefined;
	return text.slice(at + 5, at + 8);
}

/** Space or horizontal tab (OWS, RFC 7230 3.2.3). */
function isBlank(c: number): boolean {
	return c === 0x20 || c === 0x09;
}

/**
 * Incremental HTTP/1.1 head reader: feed chunks until feed() returns true,
 * then read `head` or `error`, and `rest` (bytes received after the head,
 * e.g. a body or the first WebSocket frames; undefined when none).
 *
 * Tolerant: bare LF line ends, empty lines before the start line (RFC 7230
 * 3.5), any header name case. Strict: at most `limit` bytes (431), no
 * control characters, no whitespace before a header's colon, no obs-fold
 * continuation lines, a well-formed start line (400).
 */
abstract class HeadParser<Head extends HttpHead> {
	head: Head | undefined;
	error: HeadError | undefined;
	rest: ArrayBuffer | undefined;

	private readonly limit: number;
	private buffer: Uint8Array | undefined;
	private have = 0;
	private done = false;

	constructor(limit = 4096) {
		this.limit = limit;
	}

	/** Consume a chunk (a buffer, or a view of the caller's kept buffer); true once the head is complete (or refused). Ignores input after that. */
	feed(chunk: ArrayBuffer | Uint8Array): boolean {
		if (this.done) return true;
		const bytes = chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk);
		const count = bytes.length;
		let from = 0;
		if (this.have === 0) {
			while (from < count && (bytes[from] === 13 || bytes[from] === 10)) from++; // empty lines before the start line are ignored (RFC 7230 3.5)
			if (from === count) return false;
		}
		const buffer = (this.buffer ??= new Uint8Array(this.limit));
		const have = this.have;
		const take = Math.min(count - from, this.limit - have);
		buffer.set(bytes.subarray(from, from + take), have);
		const scanEnd = have + take;
		for (let i = have; i < scanEnd; i++) {
			const c = buffer[i];
			if (c === 10) {
				// The head ends with an empty line: LF LF or LF CR LF.
				if (buffer[i - 1] === 10 || (buffer[i - 1] === 13 && i >= 2 && buffer[i - 2] === 10)) {
					const used = i + 1 - have;
					if (from + used < count) this.rest = bytes.slice(from + used).buffer as ArrayBuffer;
					this.have = i + 1;
					this.finish();
					return true;
				}
			} else if ((c < 32 && c !== 9 && c !== 13) || c === 127) return this.fail(400, "control character in head");
		}
		this.have = scanEnd;
		if (scanEnd >= this.limit) return this.fail(431, "head too large");
		return false;
	}

	/** The start line is valid for this kind of head: fill in its fields, or return an error. */
	protected abstract start(line: string): Head | undefined;

	private finish(): void {
		let text: string;
		try {
			text = String.fromArrayBuffer((this.buffer!.buffer as ArrayBuffer).slice(0, this.have));
		} catch {
			this.fail(400, "head is not UTF-8");
			return;
		}
		this.buffer = undefined;
		const lines = text.split("\n");
		let line = stripCR(lines[0]);
		const head = line === undefined ? undefined : this.start(line);
		if (!head) {
			this.fail(400, "malformed start line");
			return;
		}
		const headers = head.headers;
		for (let i = 1; i < lines.length; i++) {
			line = stripCR(lines[i]);
			if (line === "") break;
			if (line === undefined) {
				this.fail(400, "malformed header line");
				return;
			}
			// header-field = field-name ":" OWS field-value OWS (RFC 7230 3.2); no whitespace before the colon (3.2.4).
			const colon = line.indexOf(":");
			if (!isToken(line, 0, colon)) {
				this.fail(400, "malformed header line");
				return;
			}
			let from = colon + 1,
				to = line.length;
			while (from < to && isBlank(line.charCodeAt(from))) from++;
			while (to > from && isBlank(line.charCodeAt(to - 1))) to--;
			const name = line.slice(0, colon).toLowerCase(),
				value = line.slice(from, to);
			const previous = headers.get(name);
			headers.set(name, previous === undefined ? value : `${previous}, ${value}`);
		}
		this.head = head;
		this.done = true;
	}

	private fail(status: number, message: string): true {
		this.error = { status, message };
		this.buffer = undefined;
		this.rest = undefined;
		this.done = true;
		return true;
	}
}

/** The line without its CR before LF; a CR anywhere else makes the head malformed (undefined: RFC 7230 3.5 allows only CRLF or a bare LF). */
function stripCR(line: string): string | undefined {
	const cr = line.indexOf("\r");
	if (cr < 0) return line;
	return cr === line.length - 1 ? line.slice(0, cr) : undefined;
}

/** Reads a request head ("GET /path HTTP/1.1" ...): a server's first input. */
export class RequestHeadParser extends HeadParser<RequestHead> {
	protected start(line: string): RequestHead | undefined {
		// request-line = method SP request-target SP HTTP-version (RFC 7230 3.1.1); the target has no whitespace.
		const space = line.indexOf(" ");
		if (!isToken(line, 0, space)) return undefined;
		const targetEnd = line.indexOf(" ", space + 1);
		if (targetEnd <= space + 1 || line.length !== targetEnd + 9) return undefined;
		for (let i = space + 1; i < targetEnd; i++) {
			const c = line.charCodeAt(i);
			if (c <= 0x20 || c === 0x7f) return undefined;
		}
		const version = httpVersion(line, targetEnd + 1);
		if (version === undefined) return undefined;
		return { method: line.slice(0, space), target: line.slice(space + 1, targetEnd), version, headers: new Map() };
	}
}

/** Reads a response head ("HTTP/1.1 101 Switching Protocols" ...): a client's first input. */
export class ResponseHeadParser extends HeadParser<ResponseHead> {
	protected start(line: string): ResponseHead | undefined {
		// status-line = HTTP-version SP status-code SP reason-phrase (RFC 7230 3.1.2); a missing reason is tolerated.
		const version = httpVersion(line, 0);
		if (version === undefined || line.charCodeAt(8) !== 0x20) return undefined;
		for (let i = 9; i < 12; i++) {
			if (!isDigit(line.charCodeAt(i))) return undefined;
		}
		if (line.length > 12 && line.charCodeAt(12) !== 0x20) return undefined;
		return { version, status: Number(line.slice(9, 12)), statusText: line.slice(13), headers: new Map() };
	}
}

/* --------------------------------------------------------------- building */

/** Reason phrases (RFC 7231 6.1) for the statuses the kit sends. */
export const statusTexts: Readonly<Record<number, string>> = Object.freeze({
	101: "Switching Protocols",
	200: "OK",
	201: "Created",
	204: "No Content",
	400: "Bad Request",
	401: "Unauthorized",
	403: "Forbidden",
	404: "Not Found",
	405: "Method Not Allowed",
	411: "Length Required",
	413: "Payload Too Large",
	426: "Upgrade Required",
	429: "Too Many Requests",
	431: "Request Header Fields Too Large",
	500: "Internal Server Error",
	501: "Not Implemented",
	503: "Service Unavailable",
});

export type HeaderList = readonly (readonly [string, string])[];

/** Header lines; refuses CR/LF in names or values (response splitting, RFC 7230 3.2.4). */
export function headerLines(headers: HeaderList): string {
	let out = "";
	for (const [name, value] of headers) {
		if (name.includes("\r") || name.includes("\n") || value.includes("\r") || value.includes("\n")) throw new Error("CR or LF in header");
		out += `${name}: ${value}\r\n`;
	}
	return out;
}

/** A complete response with a body, after which the connection closes (head and body as one string). */
export function closingResponse(status: number, type: string, body: string, headers: HeaderList = []): string {
	return (
		`HTTP/1.1 ${status} ${statusTexts[status] ?? "Error"}\r\n` +
		`Content-Type: ${type}\r\n` +
		`Content-Length: ${ArrayBuffer.fromString(body).byteLength}\r\n` +
		"Connection: close\r\n" +
		headerLines(headers) +
		"\r\n" +
		body
	);
}

/** An error response with a short text body; the connection closes after it. */
export function errorResponse(status: number, message: string, headers: HeaderList = []): string {
	return closingResponse(status, "text/plain; charset=utf-8", `${message}\n`, headers);
}

/** A parameter of a query string ("a=1&key=x"), URI-decoded; undefined when absent or malformed. */
export function queryParameter(query: string, name: string): string | undefined {
	for (const part of query.split("&")) {
		const equals = part.indexOf("=");
		if ((equals < 0 ? part : part.slice(0, equals)) !== name) continue;
		try {
			// "+" is a space in a query (application/x-www-form-urlencoded); no regular expression on the device.
			return decodeURIComponent(
				equals < 0
					? ""
					: part
							.slice(equals + 1)
							.split("+")
							.join(" "),
			);
		} catch {
			return undefined;
		}
	}
	return undefined;
}
