/*
 * 12 Opening Handshake (RFC 6455 4.1, 4.2): what the server answers to
 * valid requests in their legal variations (101 with the right
 * Sec-WebSocket-Accept, then an echo) and to broken ones (the HTTP error
 * the RFCs name). Requests are raw bytes, written as the case says.
 */
import { type Case, type CaseContext, categoryOf, type Outcome } from "../case.js";
import { checkUpgrade, newKey, RawConnection, upgradeRequest, type WriteOptions } from "../client.js";
import { frame, Op } from "../frames.js";

type Accepts = { upgrade: true; offered?: string[]; pipelined?: boolean };
/** header: [name, pattern its value must match, what the report shows]. */
type Refuses = { status: number[]; header?: [string, RegExp, string] };

interface HandshakeSpec {
	id: string;
	description: string;
	request(url: URL, key: string): string;
	write?: WriteOptions;
	expect: Accepts | Refuses;
}

const ECHO = "handshake echo";
/** 4.4: Sec-WebSocket-Version lists the versions the server speaks; 13 among them. */
const VERSION: [string, RegExp, string] = ["Sec-WebSocket-Version", /(^|[ ,])13([ ,]|$)/, "13"];

function handshakeCase(spec: HandshakeSpec): Case {
	const expect = spec.expect;
	const expected =
		"upgrade" in expect ? "101, echo" : `HTTP ${expect.status.join("|")}${expect.header ? ` with ${expect.header[0]}: ${expect.header[2]}` : ""}`;
	return { id: spec.id, category: categoryOf(spec.id), description: spec.description, expected, run: context => runHandshake(spec, context) };
}

async function runHandshake(spec: HandshakeSpec, context: CaseContext): Promise<Outcome> {
	const connection = await RawConnection.connect(context.url, context.timeoutMs, context.tls);
	try {
		const key = newKey();
		const expect = spec.expect;
		const pipelined = "upgrade" in expect && expect.pipelined;
		const request = Buffer.from(spec.request(context.url, key), "latin1");
		await connection.write(pipelined ? Buffer.concat([request, frame(Op.TEXT, ECHO)]) : request, spec.write);
		const head = await connection.readHead(context.timeoutMs);
		if (!head) return { passed: false, observed: connection.tcpClosed ? "closed without an HTTP answer" : "no HTTP answer" };
		if (!("upgrade" in expect)) {
			const header = expect.header;
			const value = header && head.headers.get(header[0].toLowerCase());
			const observed = `HTTP ${head.status}${header ? `, ${header[0]}: ${value ?? "(none)"}` : ""}`;
			return { passed: expect.status.includes(head.status) && (!header || (value !== undefined && header[1].test(value))), observed };
		}
		const problem = checkUpgrade(head, key, expect.offered ?? []);
		if (problem) return { passed: false, observed: problem };
		if (!pipelined) await connection.write(frame(Op.TEXT, ECHO));
		await connection.waitFor(() => connection.events.some(e => e.kind === "message") || connection.tcpClosed || !!connection.violation, context.timeoutMs);
		const message = connection.events.find(e => e.kind === "message");
		if (connection.violation || !message || message.type !== Op.TEXT || message.data.toString() !== ECHO)
			return { passed: false, observed: `101, then ${connection.violation ?? (message ? "a wrong echo" : "no echo")}` };
		const protocol = head.headers.get("sec-websocket-protocol");
		connection.sendClose(1000);
		await connection.waitFor(() => connection.tcpClosed, context.timeoutMs);
		const closed = connection.serverClose?.code === 1000 && connection.tcpClosed;
		return { passed: closed, observed: `101${protocol ? ` (protocol ${protocol})` : ""}, echo ok${closed ? "" : ", no clean close"}` };
	} finally {
		connection.destroy();
	}
}

/** The standard request with header lines replaced (name: value, or name: undefined to drop) and added. */
function variant(changes: Record<string, string | undefined>, options: { method?: string; version?: string; path?: string } = {}) {
	return (url: URL, key: string): string => {
		const lines = upgradeRequest(url, key, [], options.path).split("\r\n").slice(0, -2);
		for (const [name, value] of Object.entries(changes)) {
			const at = lines.findIndex(l => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
			if (at >= 0) lines.splice(at, 1);
			if (value !== undefined) lines.push(`${name}: ${value}`);
		}
		lines[0] = lines[0].replace(/^GET/, options.method ?? "GET").replace(/HTTP\/1\.1$/, `HTTP/${options.version ?? "1.1"}`);
		return [...lines, "", ""].join("\r\n");
	};
}

export function handshakeCases(): Case[] {
	const accepted = (id: string, description: string, request: HandshakeSpec["request"], extra: Partial<Accepts> = {}, write?: WriteOptions) =>
		handshakeCase({ id, description, request, write, expect: { upgrade: true, ...extra } });
	const refused = (id: string, description: string, request: HandshakeSpec["request"], status: number[], header?: [string, RegExp, string]) =>
		handshakeCase({ id, description, request, expect: { status, header } });
	const lower = (url: URL, key: string) => upgradeRequest(url, key).replace(/^([\w-]+):/gm, name => name.toLowerCase());
	return [
		accepted("12.1.1", "the standard request: 101 with the right Sec-WebSocket-Accept", variant({})),
		// 4.2.1: header names are case-insensitive (RFC 7230 3.2), and so are the Upgrade/Connection tokens.
		accepted("12.1.2", "header names in lower case", lower),
		accepted("12.1.3", "Upgrade: WebSocket (mixed case)", variant({ Upgrade: "WebSocket" })),
		accepted("12.1.4", "Connection: keep-alive, Upgrade (a token list)", variant({ Connection: "keep-alive, Upgrade" })),
		accepted("12.1.5", "Connection: upgrade (lower case)", variant({ Connection: "upgrade" })),
		accepted("12.1.6", "request written byte by byte", variant({}), {}, { chunk: 1 }),
		accepted("12.1.7", "request and a text frame in one write", variant({}), { pipelined: true }),
		accepted("12.1.8", "request target with a query string", (url, key) => upgradeRequest(url, key, [], `${url.pathname}?a=1&b=two`)),
		accepted("12.1.9", "with an Origin header", variant({ Origin: "http://example.com" })),
		// 4.2.2: the server selects one of the offered subprotocols, or none.
		accepted("12.1.10", "offering subprotocols chat, superchat", variant({ "Sec-WebSocket-Protocol": "chat, superchat" }), { offered: ["chat", "superchat"] }),
		// 9.1: the server must not select an extension the client did not offer, nor one it does not support.
		accepted("12.1.11", "offering an unknown extension: none selected", variant({ "Sec-WebSocket-Extensions": "x-unknown-extension" })),
		accepted("12.1.12", "extra headers and spaces around values", variant({ Upgrade: "   websocket  ", "X-Extra": "1", "User-Agent": "conformance" })),

		// 4.2.1 item 1 and RFC 7231 6.5.5: a 405 carries Allow.
		refused("12.2.1", "POST instead of GET", variant({}, { method: "POST" }), [405], ["Allow", /\bGET\b/, "GET"]),
		refused("12.2.2", "HTTP/1.0 (4.1: HTTP/1.1 or higher)", variant({}, { version: "1.0" }), [400]),
		refused("12.2.3", "no Host header", variant({ Host: undefined }), [400]),
		// 4.2.2 / 4.1: a resource the server does not serve: 404.
		refused("12.2.4", "a path the server does not serve", (url, key) => upgradeRequest(url, key, [], `${url.pathname.replace(/\/$/, "")}/not-served`), [404]),
		// RFC 7231 6.5.15: a plain request to an upgrade-only resource: 426.
		refused("12.2.5", "a plain GET, no Upgrade headers", url => `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`, [426]),
		refused("12.2.6", "Upgrade: h2c", variant({ Upgrade: "h2c" }), [400]),
		// Without "Upgrade" in Connection the request is not an upgrade request at all (RFC 7230 6.7): 400 or 426.
		refused("12.2.7", "Connection: keep-alive (no Upgrade token)", variant({ Connection: "keep-alive" }), [400, 426]),
		// 4.4: a version the server does not speak gets Sec-WebSocket-Version listing its versions (the RFC shows 400; 4.2.2 suggests 426).
		refused("12.2.8", "Sec-WebSocket-Version: 12", variant({ "Sec-WebSocket-Version": "12" }), [426, 400], VERSION),
		refused("12.2.9", "no Sec-WebSocket-Version", variant({ "Sec-WebSocket-Version": undefined }), [426, 400], VERSION),
		refused("12.2.10", "Sec-WebSocket-Version: 14", variant({ "Sec-WebSocket-Version": "14" }), [426, 400], VERSION),
		// 4.1 item 7: the key is 16 random bytes, base64-encoded.
		refused("12.2.11", "no Sec-WebSocket-Key", variant({ "Sec-WebSocket-Key": undefined }), [400]),
		refused("12.2.12", "Sec-WebSocket-Key of 8 bytes", variant({ "Sec-WebSocket-Key": Buffer.alloc(8, 7).toString("base64") }), [400]),
		refused("12.2.13", "Sec-WebSocket-Key of 17 bytes", variant({ "Sec-WebSocket-Key": Buffer.alloc(17, 7).toString("base64") }), [400]),
		refused("12.2.14", "Sec-WebSocket-Key not base64", variant({ "Sec-WebSocket-Key": "!!!!!!!!!!!!!!!!!!!!!!==" }), [400]),
		// 4.1 item 10: subprotocols are unique tokens.
		refused("12.2.15", "duplicate subprotocols chat, chat", variant({ "Sec-WebSocket-Protocol": "chat, chat" }), [400]),
		refused("12.2.16", "subprotocol with a separator, chat/1", variant({ "Sec-WebSocket-Protocol": "chat/1" }), [400]),
		refused("12.2.17", "a malformed request line", () => "HELLO\r\n\r\n", [400]),
	];
}
