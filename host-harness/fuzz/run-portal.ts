/*
 * Fuzzing the provisioning page: seeded cases (portal-cases.ts), one
 * connection each, written in the case's pieces; the status line read back
 * is judged against the reference oracle (portal-oracle.ts), and the answer
 * must be whole (its Content-Length of body) and end with the device
 * closing TCP. One case at a time: the page serves 3 connections at once.
 */

import net from "node:net";
import { type PortalCase, portalCase } from "./portal-cases.js";
import { caseSeed, Rng } from "./prng.js";

export interface PortalFuzzOptions {
	host: string;
	port: number;
	/** The page's code, read from the device's console. */
	code: string;
	seed: number;
	cases: number;
	/** Budget for one case's answer (ms). */
	timeoutMs: number;
	/** Longest pause between two pieces of a request (ms). */
	maxDelayMs: number;
	/** Wrong codes the run may send (default 4: the page takes 5 a minute). */
	wrongCodes?: number;
}

export interface PortalMismatch {
	index: number;
	label: string;
	expected: string;
	got: string;
}

export interface PortalFuzzReport {
	seed: number;
	cases: number;
	/** How many cases expected each status. */
	statuses: Record<number, number>;
	mismatches: PortalMismatch[];
}

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

/** Send one case; the status it got, or what went wrong instead. */
async function send(c: PortalCase, host: string, port: number, timeoutMs: number): Promise<{ status?: number; problem?: string }> {
	const socket = net.connect({ host, port, allowHalfOpen: true });
	socket.setNoDelay(true);
	const chunks: Buffer[] = [];
	const ended = new Promise<string | undefined>(resolve => {
		const timer = setTimeout(() => resolve(`no end of the answer within ${timeoutMs} ms`), timeoutMs);
		socket.on("data", chunk => chunks.push(chunk));
		socket.on("end", () => {
			clearTimeout(timer);
			resolve(undefined);
		});
		socket.on("close", () => {
			clearTimeout(timer);
			resolve(undefined);
		});
		socket.on("error", error => {
			clearTimeout(timer);
			resolve(chunks.length ? undefined : `connection failed: ${error.message}`);
		});
	});
	await new Promise<void>((resolve, reject) => {
		socket.once("connect", resolve);
		socket.once("error", reject);
	}).catch(() => undefined);
	let at = 0;
	for (const cut of [...c.writes.cuts, c.request.length]) {
		if (socket.destroyed) break;
		socket.write(c.request.subarray(at, cut));
		at = cut;
		if (c.writes.delayMs && cut < c.request.length) await sleep(c.writes.delayMs);
	}
	const problem = await ended;
	socket.destroy();
	const answer = Buffer.concat(chunks);
	if (problem && !answer.length) return { problem };
	const text = answer.toString("latin1");
	const status = /^HTTP\/1\.1 (\d{3}) /.exec(text);
	if (!status) return { problem: `no status line in ${JSON.stringify(text.slice(0, 40))}` };
	const headEnd = text.indexOf("\r\n\r\n");
	const length = /\r\nContent-Length: (\d+)\r\n/i.exec(text.slice(0, headEnd + 2));
	if (headEnd < 0 || !length || answer.length - (headEnd + 4) !== Number(length[1]))
		return { status: Number(status[1]), problem: "answer not whole (head, Content-Length and body disagree)" };
	if (!/\r\nConnection: close\r\n/i.test(text.slice(0, headEnd + 2))) return { status: Number(status[1]), problem: "answer without Connection: close" };
	if (problem) return { status: Number(status[1]), problem };
	return { status: Number(status[1]) };
}

export async function runPortalFuzz(options: PortalFuzzOptions): Promise<PortalFuzzReport> {
	const report: PortalFuzzReport = { seed: options.seed, cases: options.cases, statuses: {}, mismatches: [] };
	const generation = { code: options.code, maxDelayMs: options.maxDelayMs, triesLeft: options.wrongCodes ?? 4 };
	for (let index = 0; index < options.cases; index++) {
		const seed = caseSeed(options.seed, index);
		const c = portalCase(new Rng(seed), index, seed, generation);
		report.statuses[c.expect.status] = (report.statuses[c.expect.status] ?? 0) + 1;
		const got = await send(c, options.host, options.port, options.timeoutMs);
		if (got.problem || got.status !== c.expect.status)
			report.mismatches.push({
				index,
				label: c.label,
				expected: `${c.expect.status} (${c.expect.why})`,
				got: `${got.status ?? "nothing"}${got.problem ? `: ${got.problem}` : ""}`,
			});
	}
	return report;
}
