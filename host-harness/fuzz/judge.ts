/*
 * Judging what a server did against what the oracle allows: each function
 * returns undefined when the facts match the expectation, else the first
 * difference in words. A case passes when its facts match any one of its
 * alternatives.
 */

import { checkUpgrade } from "../conformance/client.js";
import { keepsConnection } from "../conformance/http-head.js";
import { compareMessages } from "../conformance/messages.js";
import type { HandshakeExpectation } from "./http-oracle.js";
import type { FuzzConnection } from "./ws-client.js";
import { type Message, typeName, type WsExpectation } from "./ws-oracle.js";

export interface JudgeOptions {
	/** The server pings on its own (heartbeat): more server Pings than the "Ping" messages asked for are fine. */
	heartbeat: boolean;
}

const describe = (m: Message) => `${typeName(m.type)} ${m.data.length} B`;

/** Pongs: an in-order subset of the pings' payloads that ends with the latest one (5.5.3). */
function comparePongs(pings: Buffer[], pongs: Buffer[]): string | undefined {
	const show = (b: Buffer) => (b.length > 8 ? `${b.length} B` : `"${b.toString("hex")}"`);
	if (!pings.length) return pongs.length ? `pong ${show(pongs[0])} for no ping` : undefined;
	let at = 0;
	for (const pong of pongs) {
		while (at < pings.length && !pings[at].equals(pong)) at++;
		if (at === pings.length) return `pong ${show(pong)} out of order or for no ping`;
		at++;
	}
	if (!pongs.length || !pongs[pongs.length - 1].equals(pings[pings.length - 1]))
		return `no pong for the latest ping (${pings.length} pings, ${pongs.length} pongs)`;
	return undefined;
}

export function judgeWs(expect: WsExpectation, conn: FuzzConnection, options: JudgeOptions): string | undefined {
	if (conn.violation) return `server broke a rule: ${conn.violation}`;
	const messages = compareMessages(expect.messages, conn.messages);
	if (messages) return messages;
	const partial = conn.partial;
	if (partial?.data.length) {
		const allowed = expect.partial;
		if (!allowed) return `unfinished echo (${describe(partial)}) where no message was in progress`;
		if (allowed.type !== partial.type || partial.data.length > allowed.data.length || !allowed.data.subarray(0, partial.data.length).equals(partial.data))
			return `unfinished echo ${describe(partial)} is not a prefix of the message in progress (${describe(allowed)})`;
	}
	const pongs = comparePongs(expect.pings, conn.pongs);
	if (pongs) return pongs;
	if (options.heartbeat ? conn.serverPings < expect.serverPings : conn.serverPings !== expect.serverPings)
		return `${conn.serverPings} server pings, expected ${expect.serverPings}`;
	const code = conn.serverClose ? (conn.serverClose.code ?? null) : undefined;
	const shown = code === undefined ? "no close" : code === null ? "empty close" : `close ${code}`;
	if (expect.close === "none") {
		if (code !== undefined) return `${shown}, expected none (TCP closed after our FIN)`;
	} else {
		const codes = Array.isArray(expect.close) ? expect.close : [expect.close];
		if (code === undefined || !codes.includes(code)) return `${shown}, expected close ${codes.map(c => c ?? "empty").join("|")}`;
	}
	if (!conn.tcpClosed) return "TCP left open by the server";
	return undefined;
}

/** What the server did, in one line, for reports. */
export function observedWs(conn: FuzzConnection): string {
	const parts: string[] = [];
	if (conn.messages.length) parts.push(conn.messages.length === 1 ? `echo ${describe(conn.messages[0])}` : `${conn.messages.length} echoes`);
	const partial = conn.partial;
	if (partial?.data.length) parts.push(`unfinished ${describe(partial)}`);
	if (conn.pongs.length) parts.push(`${conn.pongs.length} pong${conn.pongs.length > 1 ? "s" : ""}`);
	if (conn.serverPings) parts.push(`${conn.serverPings} server ping${conn.serverPings > 1 ? "s" : ""}`);
	const code = conn.serverClose?.code;
	parts.push(
		conn.serverClose
			? `close ${code ?? "(empty)"}${conn.serverClose.reason.length ? ` "${conn.serverClose.reason.toString().slice(0, 40)}"` : ""}`
			: "no close",
	);
	parts.push(conn.tcpClosed ? `TCP closed${conn.reset ? " (reset)" : ""}` : "TCP open");
	if (conn.violation) parts.push(`violation: ${conn.violation}`);
	return parts.join(", ");
}

/** The server's HTTP answer to a head: a status the oracle allows, with the headers that status requires. */
export function judgeAnswer(expect: HandshakeExpectation, conn: FuzzConnection, key: string | undefined, offered: string[] = []): string | undefined {
	const answer = conn.answer;
	if (!answer) {
		if (!expect.outcomes.includes("drop"))
			return conn.received ? `${conn.received} B that are not an HTTP answer` : conn.tcpClosed ? "closed without an answer" : "no answer";
		if (conn.received) return `${conn.received} B for a head that never completed`;
		return conn.tcpClosed ? undefined : "a head that never completes was not dropped";
	}
	if (!expect.outcomes.includes(answer.status)) return `HTTP ${answer.status || `"${answer.statusLine.slice(0, 40)}"`}`;
	if (answer.status === 101) return key === undefined ? "101 without a key to check" : checkUpgrade({ status: 101, headers: answer.headers }, key, offered);
	if (answer.status === 405 && expect.allow !== undefined && answer.headers.get("allow") !== expect.allow)
		return `405 with Allow "${answer.headers.get("allow") ?? ""}", expected "${expect.allow}"`;
	if (answer.status === 405 && expect.allow === undefined && !/\bGET\b/.test(answer.headers.get("allow") ?? "")) return "405 without Allow: GET";
	if (answer.status === 426 && answer.headers.get("sec-websocket-version") !== "13") return "426 without Sec-WebSocket-Version: 13";
	const kept = keepsConnection(answer);
	if (kept && !expect.mayKeep) return `Connection: keep-alive for a request that did not ask for it, or whose body was left unread`;
	if (!kept && expect.mustKeep) return `Connection: close for a request that asked to keep it, its body read whole`;
	if (!conn.tcpClosed && !kept) return `TCP left open after ${answer.status}`;
	const length = answer.headers.get("content-length");
	// A kept connection may carry the answers to bytes sent after the request (pipelined) after this one's body.
	const body = kept ? conn.body.subarray(0, Number(length ?? 0)) : conn.body;
	if (length !== undefined && !expect.bodiless && (kept ? conn.body.length < Number(length) : Number(length) !== conn.body.length))
		return `Content-Length ${length}, body of ${conn.body.length} B`;
	if (expect.bodiless && conn.body.length) return `${conn.body.length} B of body after the answer to a HEAD request`;
	if (answer.status === 200 && expect.body !== undefined && body.toString() !== expect.body)
		return `body ${JSON.stringify(body.toString().slice(0, 80))}, expected ${JSON.stringify(expect.body)}`;
	return undefined;
}
