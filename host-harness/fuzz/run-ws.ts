/*
 * Running one WebSocket or handshake case against a server: connect, send
 * the case's bytes as planned, let the server answer, end the exchange the
 * way the oracle says (our Close, or a half-close when the input stops
 * inside a frame), wait for the server to close TCP, and judge.
 */

import { upgradeRequest } from "../conformance/client.js";
import { keepsConnection } from "../conformance/http-head.js";
import { concat, type HandshakeCase, hexPreview, type WritePlan, type WsCase } from "./case.js";
import { wsKey } from "./handshake-cases.js";
import { expectHandshake, type HttpRouteTable } from "./http-oracle.js";
import { judgeAnswer, judgeWs, observedWs } from "./judge.js";
import { Rng } from "./prng.js";
import { FuzzConnection } from "./ws-client.js";
import { describeExpectation, expectWs, type WsExpectation } from "./ws-oracle.js";

export interface WsContext {
	url: URL;
	/** Budget for each wait within a case (ms). */
	timeoutMs: number;
	/** The server's handshake timeout (ms): a head that never completes is dropped after it. */
	handshakeTimeoutMs: number;
	heartbeat: boolean;
	/** The server's plain HTTP routes (http-oracle appHttpRoutes()). Default: the kit app's page only. */
	httpRoutes?: HttpRouteTable;
}

/** The verdict on one case. */
export interface Verdict {
	/** undefined: the server did what the oracle allows. */
	problem?: string;
	sent: string;
	expected: string;
	observed: string;
}

const host = (url: URL) => url.hostname.replace(/^\[|\]$/g, "");
const port = (url: URL) => Number(url.port || 80);

/** Whether the server has given everything an expectation that stays open asks for. */
function reached(expect: WsExpectation, conn: FuzzConnection): boolean {
	if (conn.messages.length < expect.messages.length || conn.serverPings < expect.serverPings) return false;
	if (!expect.pings.length) return true;
	const last = conn.pongs[conn.pongs.length - 1];
	return !!last && last.equals(expect.pings[expect.pings.length - 1]);
}

/** Frames after a 101: write, settle, end, wait for TCP, judge. */
async function exchange(
	conn: FuzzConnection,
	stream: Buffer,
	plan: WritePlan,
	alternatives: WsExpectation[],
	context: WsContext,
): Promise<Omit<Verdict, "sent">> {
	const expected = alternatives.map(describeExpectation).join(" | ");
	// Nothing after a valid Close of ours is read: write it with the Close, in one piece, and do not answer the server's.
	const closes = alternatives.map(a => a.closeAt).filter((at): at is number => at !== undefined);
	const closeAt = closes.length ? Math.min(...closes) : undefined;
	const cuts = closeAt === undefined ? plan.cuts : plan.cuts.filter(c => c <= closeAt);
	conn.hangUp = !!plan.hangUp;
	if (closeAt !== undefined) conn.closeSent = true;
	await conn.write(stream, { cuts, delayMs: plan.delayMs });
	const open = alternatives.filter(a => a.end !== "none");
	const volume = alternatives.reduce(
		(most, a) =>
			Math.max(
				most,
				a.messages.reduce((n, m) => n + m.data.length, 0),
			),
		0,
	);
	await conn.waitFor(
		() => conn.tcpClosed || !!conn.violation || !!conn.serverClose || open.some(a => reached(a, conn)),
		context.timeoutMs * (1 + volume / (1 << 20)),
	);
	if (!conn.tcpClosed && !conn.serverClose && !conn.violation && open.length) {
		const end = (open.find(a => reached(a, conn)) ?? open[0]).end;
		if (end === "close") conn.sendClose(1000);
		else conn.fin();
	}
	await conn.waitFor(() => conn.tcpClosed || !!conn.violation, context.timeoutMs);
	const problems = alternatives.map(a => judgeWs(a, conn, context));
	const problem = problems.includes(undefined) ? undefined : problems[0];
	return { problem, expected, observed: observedWs(conn) };
}

async function upgraded(context: WsContext, seed: number): Promise<FuzzConnection> {
	const conn = await FuzzConnection.connect(host(context.url), port(context.url), context.timeoutMs);
	const key = wsKey(new Rng(seed ^ 0x5bd1e995));
	conn.socket.write(upgradeRequest(context.url, key));
	await conn.waitFor(() => !!conn.answer || conn.tcpClosed, context.timeoutMs);
	const problem = judgeAnswer({ outcomes: [101], why: "valid upgrade" }, conn, key);
	if (problem) {
		conn.destroy();
		throw new Error(`handshake failed: ${problem}`);
	}
	return conn;
}

export async function runWsCase(c: WsCase, context: WsContext): Promise<Verdict> {
	const stream = concat(c.parts);
	const sent = hexPreview(stream);
	const alternatives = expectWs(stream);
	let conn: FuzzConnection;
	try {
		conn = await upgraded(context, c.seed);
	} catch (e) {
		return { problem: (e as Error).message, sent, expected: "101", observed: (e as Error).message };
	}
	try {
		return { sent, ...(await exchange(conn, stream, c.writes, alternatives, context)) };
	} finally {
		conn.destroy();
	}
}

export async function runHandshakeCase(c: HandshakeCase, context: WsContext): Promise<Verdict> {
	const after = concat(c.after);
	const data = Buffer.concat([c.head, after]);
	const sent = `${hexPreview(c.head, 16)} "${c.head.toString("latin1").slice(0, 80).replace(/\r/g, "\\r").replace(/\n/g, "\\n")}"`;
	// "/" and "/routes.json": the kit app's page, answered as plain HTTP (httpPage, on by default).
	const expect = expectHandshake(data, {
		path: context.url.pathname,
		httpPaths: ["/", "/routes.json"],
		routes: context.httpRoutes,
		// A server keeps connections that ask when its idle limit (the handshake timeout, in whole seconds) is 1 s or more.
		keepAlive: context.handshakeTimeoutMs >= 1000,
	});
	const alternatives = expectWs(after);
	let expected = expect.outcomes.map(o => (o === "drop" ? "dropped" : `HTTP ${o}`)).join(" | ") + ` (${expect.why})`;
	const key = /sec-websocket-key:[ \t]*([^\r\n]*?)[ \t]*\r?\n/i.exec(c.head.toString("latin1"))?.[1];
	// A server configured with subprotocols (wsProtocols) may select one the head offers.
	const offered = [...c.head.toString("latin1").matchAll(/sec-websocket-protocol:([^\r\n]*)/gi)].flatMap(m =>
		m[1]
			.split(",")
			.map(p => p.trim())
			.filter(Boolean),
	);
	let conn: FuzzConnection;
	try {
		conn = await FuzzConnection.connect(host(context.url), port(context.url), context.timeoutMs);
	} catch (e) {
		return { problem: `connect: ${(e as Error).message}`, sent, expected, observed: (e as Error).message };
	}
	try {
		conn.hangUp = !!c.writes.hangUp;
		// A server that refuses may close before our last write: write() then stops.
		await conn.write(data, c.writes);
		const wait = expect.outcomes.includes("drop") ? context.handshakeTimeoutMs + context.timeoutMs : context.timeoutMs;
		// Done once TCP closes, or at a 101, or at a kept answer whose body is whole (the server then waits for the next request).
		const whole = (answer: NonNullable<typeof conn.answer>) =>
			keepsConnection(answer) && (expect.bodiless || conn.body.length >= Number(answer.headers.get("content-length") ?? 0));
		await conn.waitFor(
			() => (!!conn.answer && (conn.answer.status === 101 || conn.tcpClosed || whole(conn.answer))) || conn.tcpClosed || !!conn.violation,
			wait,
		);
		// A refusal closes; a kept plain HTTP answer (Connection: keep-alive) stays open once its body is whole.
		const answered = conn.answer;
		if (answered && answered.status !== 101) {
			const length = Number(answered.headers.get("content-length") ?? 0);
			const kept = keepsConnection(answered);
			await conn.waitFor(() => conn.tcpClosed || (kept && (expect.bodiless || conn.body.length >= length)), context.timeoutMs);
		}
		const problem = judgeAnswer(expect, conn, key, offered);
		const observed = conn.answer
			? `HTTP ${conn.answer.status}${conn.tcpClosed ? ", TCP closed" : keepsConnection(conn.answer) ? ", kept" : ""}`
			: conn.tcpClosed
				? `closed without an answer${conn.received ? ` (${conn.received} B)` : ""}`
				: "no answer";
		if (problem || conn.answer?.status !== 101) return { problem, sent, expected, observed };
		// Accepted: the frames sent with the head are the first frames; then our Close.
		conn.upgraded();
		expected += `, then ${alternatives.map(describeExpectation).join(" | ")}`;
		const rest = await exchange(
			conn,
			Buffer.alloc(0),
			{ cuts: [], delayMs: 0 },
			alternatives.map(a => ({ ...a, closeAt: undefined })),
			context,
		);
		return { problem: rest.problem, sent, expected, observed: `${observed}, then ${rest.observed}` };
	} finally {
		conn.destroy();
	}
}
