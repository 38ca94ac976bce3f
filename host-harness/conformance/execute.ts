/*
 * Running a frame-level case: open a connection, play its steps, wait until
 * the server has answered (or the time is up), close cleanly when the case
 * expects the connection to stay open, and judge what was observed against
 * the expectation strictly: exactly these messages and pongs, this Close
 * code, TCP closed by the server, no rule broken by the server's frames.
 */
import type { Case, CaseContext, Expect, FrameCaseSpec, Message, Outcome } from "./case.js";
import { categoryOf } from "./case.js";
import { RawConnection } from "./client.js";
import { frame, Op } from "./frames.js";
import { compareMessages } from "./messages.js";

/** What a case saw. */
interface Facts {
	messages: Message[];
	pongs: Buffer[];
	/** The server's Close code: undefined no Close, null one without a code. */
	close: number | null | undefined;
	/** We started the closing handshake after the steps (the connection had stayed open). */
	finalClose: boolean;
	tcpClosed: boolean;
	violation: string | undefined;
	/** Fail-fast gates the server missed. */
	slow: number;
	/** Bytes of the server's unfinished message when it closed (streamed echoes). */
	partial: number;
}

export function frameCase(spec: FrameCaseSpec): Case {
	const alternatives = Array.isArray(spec.expect) ? spec.expect : [spec.expect];
	const gated = spec.steps.some(step => "failFast" in step);
	return {
		id: spec.id,
		category: categoryOf(spec.id),
		description: spec.description,
		expected: alternatives.map(a => expectedText(a, gated)).join(" or "),
		run: context => runFrameCase(spec, alternatives, context),
	};
}

async function runFrameCase(spec: FrameCaseSpec, alternatives: Expect[], context: CaseContext): Promise<Outcome> {
	const connection = await RawConnection.open(context.url, context.timeoutMs, context.tls);
	try {
		let slow = 0;
		for (const step of spec.steps) {
			if ("send" in step) {
				const bytes = typeof step.send === "function" ? step.send() : step.send;
				const data = Array.isArray(bytes) ? Buffer.concat(bytes) : bytes;
				if (step.closes) connection.closeSent = true; // ours is on its way: the server's Close answers it
				await connection.write(data, step);
			} else if ("sleep" in step) await new Promise(resolve => setTimeout(resolve, step.sleep));
			else if ("messages" in step) {
				const count = step.messages;
				await connection.waitFor(() => messageCount(connection) >= count || !!connection.serverClose || connection.tcpClosed, context.timeoutMs);
			} else if (!(await connection.waitFor(() => !!connection.serverClose || connection.tcpClosed, context.failFastMs))) slow++;
		}
		const settled = () =>
			connection.tcpClosed ||
			!!connection.violation ||
			(!connection.closeSent && !connection.serverClose && alternatives.some(a => a.close === undefined && enough(a, connection)));
		// Large echoes get more time: the budget again per MiB expected. The closing handshake after
		// one gets as much: a server busy with other cases' large echoes answers it late, not never.
		const volume = Math.max(...alternatives.map(a => (a.messages ?? []).reduce((n, m) => n + m.data.length, 0)));
		const budget = context.timeoutMs * (1 + volume / (1 << 20));
		await connection.waitFor(settled, budget);
		const finalClose = !connection.tcpClosed && !connection.serverClose && !connection.closeSent && !connection.violation;
		if (finalClose) connection.sendClose(1000);
		if (!connection.tcpClosed && !connection.violation) await connection.waitFor(() => connection.tcpClosed || !!connection.violation, budget);
		const facts = factsOf(connection, finalClose, slow);
		const judged = alternatives.map(a => judge(a, facts, context.failFastMs));
		return judged.find(j => j.passed) ?? judged.find(j => j.late) ?? judged[0];
	} finally {
		connection.destroy();
	}
}

const messageCount = (connection: RawConnection) => connection.events.filter(e => e.kind === "message").length;

/** The expected messages and pongs have all arrived. */
function enough(expect: Expect, connection: RawConnection): boolean {
	if (messageCount(connection) < (expect.messages?.length ?? 0)) return false;
	const pongs = connection.events.filter(e => e.kind === "pong");
	const wanted = expect.pongs ?? [];
	if (expect.coalesce && wanted.length) return pongs.some(p => p.payload.equals(wanted[wanted.length - 1]));
	return pongs.length >= wanted.length;
}

function factsOf(connection: RawConnection, finalClose: boolean, slow: number): Facts {
	const messages: Message[] = [],
		pongs: Buffer[] = [];
	for (const event of connection.events) {
		if (event.kind === "message") messages.push({ type: event.type, data: event.data });
		else if (event.kind === "pong") pongs.push(event.payload);
	}
	const close = connection.serverClose ? (connection.serverClose.code ?? null) : undefined;
	return {
		messages,
		pongs,
		close,
		finalClose,
		slow,
		tcpClosed: connection.tcpClosed,
		violation: connection.violation,
		partial: connection.assembler.partial?.length ?? 0,
	};
}

/* ---------------------------------------------------------------- judging */

function judge(expect: Expect, facts: Facts, failFastMs: number): Outcome {
	const observed: string[] = [];
	let passed = true;
	let failures = 0;
	const fail = (text: string) => {
		passed = false;
		failures++;
		observed.push(text);
	};
	// A broken frame ends the reading: what followed it is unknown.
	if (facts.violation) return { passed: false, observed: `server broke a rule: ${facts.violation}` };

	const wanted = expect.messages ?? [];
	const mismatch = compareMessages(wanted, facts.messages);
	if (mismatch) fail(mismatch);
	else if (wanted.length) observed.push(wanted.length === 1 ? "echo ok" : `${wanted.length} echoes ok`);
	if (facts.partial) observed.push(`partial echo ${facts.partial} B`);

	const pongMismatch = comparePongs(expect.pongs ?? [], facts.pongs, expect.coalesce ?? false);
	if (pongMismatch) fail(pongMismatch);
	else if (facts.pongs.length) observed.push(facts.pongs.length === 1 ? "pong ok" : `${facts.pongs.length} pongs ok`);

	const closeText = facts.close === undefined ? "no close" : facts.close === null ? "close (empty)" : `close ${facts.close}`;
	if (expect.close === undefined) {
		if (!facts.finalClose) fail(facts.close === undefined ? "connection dropped without a close" : closeText);
		else if (facts.close !== 1000) fail(`answered our close 1000 with ${closeText}`);
		else observed.push("open, clean close");
	} else {
		const codes = Array.isArray(expect.close) ? expect.close : [expect.close];
		if (facts.finalClose) fail("no close: connection kept open");
		else if (facts.close === undefined || !codes.includes(facts.close)) fail(closeText);
		else observed.push(closeText);
		if (facts.slow) fail(`not fail-fast: no close within ${failFastMs} ms of the invalid byte`);
	}
	if (!facts.tcpClosed) fail("TCP left open by the server");
	// Only the fail-fast gate missed, everything else right: the right Close, late.
	const late = !passed && failures === 1 && facts.slow > 0;
	return { passed, observed: observed.join(", ") || "nothing", ...(late ? { late } : {}) };
}

function comparePongs(wanted: Buffer[], got: Buffer[], coalesce: boolean): string | undefined {
	const hex = (b: Buffer) => (b.length > 8 ? `${b.length} B` : `"${b.toString("latin1")}"`);
	if (!coalesce) {
		if (wanted.length !== got.length || wanted.some((w, i) => !w.equals(got[i])))
			return got.length === 0
				? `no pong (expected ${wanted.length})`
				: `pongs ${got.map(hex).join(" ")}; expected ${wanted.length ? wanted.map(hex).join(" ") : "none"}`;
		return undefined;
	}
	// An in-order subsequence of the pings' payloads, ending with the last one.
	let at = 0;
	for (const pong of got) {
		while (at < wanted.length && !wanted[at].equals(pong)) at++;
		if (at === wanted.length) return `pong ${hex(pong)} out of order or not asked for`;
		at++;
	}
	if (!got.length || !got[got.length - 1].equals(wanted[wanted.length - 1])) return "no pong for the latest ping";
	return undefined;
}

function expectedText(expect: Expect, gated: boolean): string {
	const parts: string[] = [];
	const n = expect.messages?.length ?? 0;
	if (n) parts.push(n === 1 ? "echo" : `${n} echoes`);
	const p = expect.pongs?.length ?? 0;
	if (p) parts.push(expect.coalesce ? "pong for latest ping" : p === 1 ? "pong" : `${p} pongs`);
	if (expect.close === undefined) parts.push(n || p ? "open" : "no answer, open");
	else {
		const codes = (Array.isArray(expect.close) ? expect.close : [expect.close]).map(c => (c === null ? "empty" : String(c)));
		parts.push(`close ${codes.join("|")}${gated ? " (fail-fast)" : ""}`);
	}
	return parts.join(", ");
}

/** After every case: a fresh client must get a text echo and a clean close. Undefined when served. */
export async function freshClientProblem(context: CaseContext, id: string): Promise<string | undefined> {
	let connection: RawConnection;
	try {
		connection = await RawConnection.open(context.url, context.timeoutMs, context.tls);
	} catch (e) {
		return `fresh client: ${(e as Error).message}`;
	}
	try {
		const payload = Buffer.from(`fresh client after ${id}`);
		await connection.write(frame(Op.TEXT, payload));
		await connection.waitFor(() => connection.events.some(e => e.kind === "message") || connection.tcpClosed || !!connection.violation, context.timeoutMs);
		const got = connection.events.find(e => e.kind === "message");
		if (connection.violation) return `fresh client: ${connection.violation}`;
		if (!got || got.type !== Op.TEXT || !got.data.equals(payload)) return `fresh client: ${got ? "wrong echo" : "no echo"}`;
		connection.sendClose(1000);
		await connection.waitFor(() => connection.tcpClosed, context.timeoutMs);
		if (connection.serverClose?.code !== 1000 || !connection.tcpClosed)
			return `fresh client: close ${connection.serverClose?.code ?? "missing"}${connection.tcpClosed ? "" : ", TCP left open"}`;
		return undefined;
	} finally {
		connection.destroy();
	}
}
