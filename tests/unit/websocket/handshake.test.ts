import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
	acceptKey,
	acceptResponse,
	errorResponse,
	generateKey,
	hasToken,
	isValidKey,
	type RequestHead,
	RequestHeadParser,
	type ResponseHead,
	ResponseHeadParser,
	rejectionResponse,
	selectProtocol,
	upgradeRequest,
	validateUpgradeRequest,
	validateUpgradeResponse,
} from "websocket/handshake";

const ab = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer;
const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

function parseRequest(text: string, limit?: number): RequestHeadParser {
	const p = new RequestHeadParser(limit);
	expect(p.feed(ab(text))).toBe(true);
	return p;
}

function request(lines: string[], first = "GET /chat HTTP/1.1"): RequestHead {
	const p = parseRequest([first, ...lines, "", ""].join("\r\n"));
	expect(p.error).toBeUndefined();
	return p.head!;
}

const good = ["Host: server.example.com", "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Key: ${KEY}`, "Sec-WebSocket-Version: 13"];
const without = (name: string) => good.filter(l => !l.toLowerCase().startsWith(name.toLowerCase() + ":"));
const withHeader = (line: string) => [...without(line.split(":")[0]), line];

describe("acceptKey", () => {
	// RFC 6455 1.3 and 4.2.2 give "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" for the sample nonce.
	it("matches the RFC 6455 1.3 example", () => {
		expect(acceptKey(KEY)).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	});
	it("matches node:crypto for generated keys", () => {
		for (let i = 0; i < 20; i++) {
			const key = generateKey();
			expect(isValidKey(key)).toBe(true);
			expect(Buffer.from(key, "base64")).toHaveLength(16);
			expect(acceptKey(key)).toBe(
				createHash("sha1")
					.update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
					.digest("base64"),
			);
		}
	});
	it("validates key syntax", () => {
		expect(isValidKey(KEY)).toBe(true);
		for (const bad of [
			undefined,
			"",
			"dGhlIHNhbXBsZSBub25jZQ=",
			"dGhlIHNhbXBsZSBub25jZQ===",
			"dGhlIHNhbXBsZSBub25jZQ",
			"dGhlIHNhbXBsZSBub25jZ!==",
			"AAAAAAAAAAAAAAAAAAAAAAAA",
		])
			expect(isValidKey(bad), String(bad)).toBe(false);
	});
});

describe("RequestHeadParser", () => {
	const text = ["GET /chat?room=1 HTTP/1.1", ...good, "X-Twice: a", "x-twice: b", "", ""].join("\r\n");

	it("parses a head fed in any split, one byte at a time included", () => {
		const bytes = new Uint8Array(ab(text + "FRAMES"));
		for (let split = 1; split < bytes.length; split++) {
			const p = new RequestHeadParser();
			const first = p.feed(bytes.slice(0, split).buffer);
			const done = first || p.feed(bytes.slice(split).buffer);
			expect(done).toBe(true);
			expect(p.head!.target).toBe("/chat?room=1");
			// The head completes in the first chunk when split >= its length: rest is what that chunk held after it.
			expect(new TextDecoder().decode(p.rest ?? new ArrayBuffer(0))).toBe(split < text.length ? "FRAMES" : "FRAMES".slice(0, split - text.length));
		}
		const p = new RequestHeadParser();
		let done = false;
		for (let i = 0; i < text.length && !done; i++) done = p.feed(bytes.slice(i, i + 1).buffer);
		expect(done).toBe(true);
		expect(p.rest).toBeUndefined();
		expect(p.head!.method).toBe("GET");
		expect(p.head!.version).toBe("1.1");
	});

	it("looks headers up case-insensitively and joins repeats", () => {
		const head = parseRequest(text).head!;
		expect(head.headers.get("sec-websocket-key")).toBe(KEY);
		expect(head.headers.get("x-twice")).toBe("a, b");
		expect(hasToken("keep-alive, UPGRADE", "upgrade")).toBe(true);
		expect(hasToken("keep-alive", "upgrade")).toBe(false);
	});

	it("tolerates bare LF and leading empty lines", () => {
		const p = parseRequest("\r\n\nGET / HTTP/1.1\nHost: h\n\n");
		expect(p.head!.headers.get("host")).toBe("h");
	});

	it("refuses malformed heads with 400 and oversized ones with 431", () => {
		expect(parseRequest("GET / HTTP/1.1\r\nHost : h\r\n\r\n").error?.status).toBe(400);
		expect(parseRequest("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n").error?.status).toBe(400);
		expect(parseRequest("GET /  HTTP/1.1\r\n\r\n").error?.status).toBe(400);
		expect(parseRequest("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n").error?.status).toBe(400);
		expect(parseRequest("GARBAGE\r\n\r\n").error?.status).toBe(400);
		const p = new RequestHeadParser(64);
		expect(p.feed(ab("GET / HTTP/1.1\r\n"))).toBe(false);
		expect(p.feed(ab(`X-Long: ${"a".repeat(60)}\r\n\r\n`))).toBe(true);
		expect(p.error).toEqual({ status: 431, message: "head too large" });
		expect(new RequestHeadParser(4096).feed(ab(`GET / HTTP/1.1\r\nX: ${"a".repeat(4000)}\r\n\r\n`))).toBe(true);
	});
});

describe("validateUpgradeRequest", () => {
	it("accepts the RFC example and reports path, query, protocols, origin", () => {
		const head = request([...good, "Origin: http://example.com", "Sec-WebSocket-Protocol: chat, superchat"], "GET /chat?x=1&y HTTP/1.1");
		expect(validateUpgradeRequest(head, { path: "/chat" })).toEqual({
			ok: true,
			key: KEY,
			path: "/chat",
			query: "x=1&y",
			protocols: ["chat", "superchat"],
			origin: "http://example.com",
		});
		expect(selectProtocol(["chat", "superchat"], ["superchat"])).toBe("superchat");
		expect(selectProtocol(["chat"], ["other"])).toBeUndefined();
	});

	it("is case-insensitive for names and Upgrade/Connection tokens", () => {
		const head = request(["host: h", "UPGRADE: WebSocket", "connection: keep-alive, upgrade", `SEC-WEBSOCKET-KEY: ${KEY}`, "Sec-Websocket-Version: 13"]);
		expect(validateUpgradeRequest(head).ok).toBe(true);
	});

	it("accepts an absolute-form target", () => {
		const result = validateUpgradeRequest(request(good, "GET ws://h:80/chat?q HTTP/1.1"));
		expect(result).toMatchObject({ ok: true, path: "/chat", query: "q" });
	});

	const cases: [string, RequestHead, number, [string, string][]?][] = [
		["POST", request(good, "POST /chat HTTP/1.1"), 405, [["Allow", "GET"]]],
		["HTTP/1.0", request(good, "GET /chat HTTP/1.0"), 400],
		["no Host", request(without("Host")), 400],
		["other path", request(good, "GET /other HTTP/1.1"), 404],
		["bad target", request(good, "GET chat HTTP/1.1"), 400],
		[
			"no Upgrade (plain HTTP)",
			request(without("Upgrade")),
			426,
			[
				["Upgrade", "websocket"],
				["Sec-WebSocket-Version", "13"],
			],
		],
		["Upgrade: h2c", request(withHeader("Upgrade: h2c")), 400],
		["Connection: keep-alive", request(withHeader("Connection: keep-alive")), 400],
		["no Connection", request(without("Connection")), 400],
		["version 8", request(withHeader("Sec-WebSocket-Version: 8")), 426, [["Sec-WebSocket-Version", "13"]]],
		["no version", request(without("Sec-WebSocket-Version")), 426, [["Sec-WebSocket-Version", "13"]]],
		["no key", request(without("Sec-WebSocket-Key")), 400],
		["short key", request(withHeader("Sec-WebSocket-Key: AAAA")), 400],
		["two keys", request([...good, `Sec-WebSocket-Key: ${KEY}`]), 400],
		["bad protocol token", request([...good, "Sec-WebSocket-Protocol: a b"]), 400],
		["duplicate protocol", request([...good, "Sec-WebSocket-Protocol: a, a"]), 400],
	];
	for (const [name, head, status, headers] of cases) {
		it(`${name} → ${status}`, () => {
			const result = validateUpgradeRequest(head, { path: "/chat" });
			expect(result.ok).toBe(false);
			if (!result.ok) {
				expect(result.status).toBe(status);
				expect(result.headers).toEqual(headers ?? []);
				const response = rejectionResponse(result);
				expect(response.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
				if (status === 426) expect(response).toContain("\r\nSec-WebSocket-Version: 13\r\n");
			}
		});
	}
});

describe("response builders", () => {
	it("builds the 101 response", () => {
		expect(acceptResponse(KEY)).toBe(
			"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
		);
		expect(acceptResponse(KEY, "chat")).toContain("\r\nSec-WebSocket-Protocol: chat\r\n\r\n");
	});

	it("builds error responses with a text body, Content-Length and Connection: close", () => {
		const text = errorResponse(426, "unsupported WebSocket version", [["Sec-WebSocket-Version", "13"]]);
		const [head, body] = text.split("\r\n\r\n");
		expect(head.split("\r\n")).toEqual([
			"HTTP/1.1 426 Upgrade Required",
			"Content-Type: text/plain; charset=utf-8",
			"Content-Length: 30",
			"Connection: close",
			"Sec-WebSocket-Version: 13",
		]);
		expect(body).toBe("unsupported WebSocket version\n");
		expect(errorResponse(400, "né")).toContain("Content-Length: 4\r\n");
		expect(() => errorResponse(400, "x", [["X", "a\r\nInjected: 1"]])).toThrow();
	});
});

describe("client side: upgradeRequest and validateUpgradeResponse", () => {
	function response(text: string): ResponseHead {
		const p = new ResponseHeadParser();
		expect(p.feed(ab(text))).toBe(true);
		expect(p.error).toBeUndefined();
		return p.head!;
	}

	it("builds a request the server-side validator accepts", () => {
		const key = generateKey();
		const text = upgradeRequest({ host: "h:8080", path: "/chat?q=1", key, protocols: ["a", "b"], origin: "http://o" });
		const result = validateUpgradeRequest(parseRequest(text).head!, { path: "/chat" });
		expect(result).toEqual({ ok: true, key, path: "/chat", query: "q=1", protocols: ["a", "b"], origin: "http://o" });
	});

	it("accepts our own 101 response and returns the bytes after it", () => {
		const p = new ResponseHeadParser();
		const head = new Uint8Array(ab(acceptResponse(KEY, "b")));
		const withFrame = new Uint8Array(head.length + 4);
		withFrame.set(head);
		withFrame.set([0x81, 2, 0x68, 0x69], head.length);
		expect(p.feed(withFrame.buffer)).toBe(true);
		expect(validateUpgradeResponse(p.head!, KEY, ["a", "b"])).toEqual({ ok: true, protocol: "b" });
		expect(new Uint8Array(p.rest!)).toEqual(Uint8Array.of(0x81, 2, 0x68, 0x69));
		expect(response("HTTP/1.1 101\r\nupgrade: WebSocket\r\nconnection: upgrade\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n").status).toBe(
			101,
		);
	});

	it("refuses a wrong status, Upgrade, Connection, accept value, extension or subprotocol", () => {
		const ok = ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="];
		const make = (status: string, lines: string[]) => response([status, ...lines, "", ""].join("\r\n"));
		expect(validateUpgradeResponse(make("HTTP/1.1 101 Switching Protocols", ok), KEY).ok).toBe(true);
		const bad: [string, string[]][] = [
			["HTTP/1.1 200 OK", ok],
			["HTTP/1.1 101 Switching Protocols", [ok[1], ok[2]]],
			["HTTP/1.1 101 Switching Protocols", [ok[0], "Connection: close", ok[2]]],
			["HTTP/1.1 101 Switching Protocols", [ok[0], ok[1], "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA="]],
			["HTTP/1.1 101 Switching Protocols", [...ok, "Sec-WebSocket-Extensions: permessage-deflate"]],
			["HTTP/1.1 101 Switching Protocols", [...ok, "Sec-WebSocket-Protocol: chat"]],
		];
		for (const [status, lines] of bad) expect(validateUpgradeResponse(make(status, lines), KEY).ok).toBe(false);
	});
});

/*
 * The head parsers parse by hand (no RegExp in a preloaded module: see
 * modules/http). The regular expressions they replaced are the oracle
 * here, over seeded random lines from an alphabet dense in the characters
 * that matter (token characters, separators, spaces, tabs, digits).
 */
describe("hand-written start and header lines agree with the regular expressions they replaced", () => {
	const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
	const requestLine = new RegExp(`^(${TOKEN}) (\\S+) HTTP/(\\d)\\.(\\d)$`);
	const statusLine = /^HTTP\/(\d)\.(\d) (\d{3})(?: (.*))?$/;
	const headerLine = new RegExp(`^(${TOKEN}):[ \\t]*(.*?)[ \\t]*$`);
	const pieces = [
		"GET",
		"POST",
		"HTTP/",
		"HTTP/1.1",
		"HTTP/1.",
		"1",
		"10",
		"101",
		"1011",
		".",
		"/",
		"/a?b=c",
		" ",
		"  ",
		"\t",
		":",
		"x",
		"X-Y",
		"@",
		"(",
		"é",
		'"',
		"~",
		"OK",
	];
	let seed = 12;
	const random = (n: number) => {
		seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
		return (seed >>> 8) % n;
	};
	const line = () => {
		let s = "";
		for (let n = 1 + random(6); n > 0; n--) s += pieces[random(pieces.length)];
		return s;
	};
	const pick = (list: string[]) => list[random(list.length)];
	const token = () => pick(["GET", "POST", "X-Y", "x", "~", "1", "a.b", "Sec-WebSocket-Key"]);
	// A well-formed line, then in one case of two a random piece inserted somewhere.
	const mutated = (good: string) => {
		if (random(2)) return good;
		const at = random(good.length + 1);
		return good.slice(0, at) + pick(pieces) + good.slice(at);
	};

	it("request lines (3,000 random and the edge cases)", () => {
		const lines = [
			"GET / HTTP/1.1",
			"GET /a HTTP/1.0",
			"GET  / HTTP/1.1",
			"GET / HTTP/1.1 ",
			"GET /\t HTTP/1.1",
			"G@T / HTTP/1.1",
			" GET / HTTP/1.1",
			"GET / HTTP/11",
			"GET / http/1.1",
			"GET /é HTTP/1.1",
		];
		for (let i = 0; i < 3000; i++)
			lines.push(random(4) ? mutated(`${token()} ${pick(["/", "/a?b=c", "x", "/é", "*", "ws://h/p"])} HTTP/${random(10)}.${random(10)}`) : line());
		let accepted = 0;
		for (const l of lines) {
			const match = requestLine.exec(l);
			const p = parseRequest(`${l}\r\n\r\n`);
			expect(p.head === undefined, JSON.stringify(l)).toBe(match === null);
			if (match) {
				accepted++;
				expect([p.head!.method, p.head!.target, p.head!.version]).toEqual([match[1], match[2], `${match[3]}.${match[4]}`]);
			}
		}
		expect(accepted).toBeGreaterThan(100);
	});

	it("status lines (3,000 random and the edge cases)", () => {
		const lines = [
			"HTTP/1.1 101 Switching Protocols",
			"HTTP/1.1 101",
			"HTTP/1.1 101 ",
			"HTTP/1.1 1011",
			"HTTP/1.1 10",
			"HTTP/1.1  101",
			"http/1.1 101",
			"HTTP/1.1 101\tx",
		];
		for (let i = 0; i < 3000; i++)
			lines.push(
				random(4) ? mutated(`HTTP/${random(10)}.${random(10)} ${100 + random(900)}${pick(["", " ", " OK", " Switching Protocols", " a\tb "])}`) : line(),
			);
		let accepted = 0;
		for (const l of lines) {
			const match = statusLine.exec(l);
			const p = new ResponseHeadParser();
			expect(p.feed(ab(`${l}\r\n\r\n`))).toBe(true);
			expect(p.head === undefined, JSON.stringify(l)).toBe(match === null);
			if (match) {
				accepted++;
				expect([p.head!.version, p.head!.status, p.head!.statusText]).toEqual([`${match[1]}.${match[2]}`, Number(match[3]), match[4] ?? ""]);
			}
		}
		expect(accepted).toBeGreaterThan(100);
	});

	it("header lines (3,000 random and the edge cases)", () => {
		const lines = ["Host: h", "Host:h", "Host:", "Host: \t h \t ", "Host : h", ": h", "X-Y: a: b", "H@st: h", "Host: a\tb"];
		for (let i = 0; i < 3000; i++)
			lines.push(random(4) ? mutated(`${token()}:${pick(["", " ", "\t", " v"])}${pick(["v", "a b", "", "a: b", "x\t"])}${pick(["", " ", " \t"])}`) : line());
		let accepted = 0;
		for (const l of lines) {
			if (l === "") continue; // an empty line ends the head
			const match = headerLine.exec(l);
			const p = parseRequest(`GET / HTTP/1.1\r\n${l}\r\n\r\n`);
			expect(p.head === undefined, JSON.stringify(l)).toBe(match === null);
			if (match) {
				accepted++;
				expect(p.head!.headers.get(match[1].toLowerCase())).toBe(match[2]);
			}
		}
		expect(accepted).toBeGreaterThan(100);
	});

	it("refuses a CR that does not end a line (RFC 7230 3.5), in the start line and in a header", () => {
		expect(parseRequest("GET /a\rb HTTP/1.1\r\n\r\n").error?.status).toBe(400);
		expect(parseRequest("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n").error?.status).toBe(400);
		expect(parseRequest("GET / HTTP/1.1\r\nX: a\r\r\n\r\n").error?.status).toBe(400);
	});
});
