/*
 * Running one TCP or UDP echo case: the bytes must come back exactly, no
 * more, and (TCP) the server must close its side once we half-closed ours.
 */

import * as dgram from "node:dgram";
import net from "node:net";
import type { Endpoint } from "../device/targets.js";
import { hexPreview, type TcpCase, type UdpCase } from "./case.js";
import type { Verdict } from "./run-ws.js";

const nextTurn = () => new Promise<void>(resolve => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

function firstDifference(a: Buffer, b: Buffer): number {
	let at = 0;
	while (at < a.length && at < b.length && a[at] === b[at]) at++;
	return at;
}

/** What came back against what went out: undefined when identical. */
function compareEcho(sent: Buffer, back: Buffer): string | undefined {
	if (back.length < sent.length && back.equals(sent.subarray(0, back.length))) return `only ${back.length} of ${sent.length} B came back`;
	if (back.length > sent.length && back.subarray(0, sent.length).equals(sent)) return `${back.length - sent.length} B more than were sent came back`;
	if (!back.equals(sent)) return `echo differs at byte ${firstDifference(sent, back)} (${back.length} B back)`;
	return undefined;
}

export async function runTcpCase(c: TcpCase, endpoint: Endpoint, timeoutMs: number): Promise<Verdict> {
	const sent = hexPreview(c.payload);
	const expected = `echo of ${c.payload.length} B, then TCP closed by the server after our FIN`;
	const chunks: Buffer[] = [];
	let have = 0,
		closed = false,
		reset = false,
		error: string | undefined;
	const waiters = new Set<() => void>();
	const notify = () => waiters.forEach(w => w());
	const waitFor = (test: () => boolean, ms: number) =>
		new Promise<boolean>(resolve => {
			if (test()) return resolve(true);
			const check = () => {
				if (test()) {
					clearTimeout(timer);
					waiters.delete(check);
					resolve(true);
				}
			};
			const timer = setTimeout(() => {
				waiters.delete(check);
				resolve(test());
			}, ms);
			waiters.add(check);
		});
	const socket = net.connect({ host: endpoint.host, port: endpoint.port, allowHalfOpen: true });
	socket.setNoDelay(true);
	socket.on("data", chunk => {
		chunks.push(chunk);
		have += chunk.length;
		notify();
	});
	socket.on("end", () => {
		closed = true;
		notify();
	});
	socket.on("close", () => {
		closed = true;
		notify();
	});
	socket.on("error", e => {
		error = (e as NodeJS.ErrnoException).code ?? e.message;
		reset = error === "ECONNRESET";
		closed = true;
		notify();
	});
	try {
		const connected = await new Promise<boolean>(resolve => {
			socket.once("connect", () => resolve(true));
			socket.once("close", () => resolve(false));
			setTimeout(() => resolve(false), timeoutMs);
		});
		if (!connected) return { problem: `connect failed${error ? `: ${error}` : ""}`, sent, expected, observed: error ?? "no connection" };
		const bounds = [0, ...c.writes.cuts.filter(x => x > 0 && x < c.payload.length), c.payload.length];
		for (let i = 0; i + 1 < bounds.length && !closed; i++) {
			if (i > 0) await (c.writes.delayMs ? sleep(c.writes.delayMs) : nextTurn());
			socket.write(c.payload.subarray(bounds[i], bounds[i + 1]));
		}
		if (c.finEarly) socket.end();
		await waitFor(() => have >= c.payload.length || closed, timeoutMs * (1 + c.payload.length / (1 << 20)));
		if (!c.finEarly) socket.end();
		await waitFor(() => closed, timeoutMs);
		const back = Buffer.concat(chunks, have);
		const observed = `${have} B back${closed ? `, TCP closed${reset ? " (reset)" : ""}` : ", TCP open"}`;
		const problem = compareEcho(c.payload, back) ?? (reset ? "connection reset" : closed ? undefined : "TCP left open by the server after our FIN");
		return { problem, sent, expected, observed };
	} finally {
		socket.destroy();
	}
}

export async function runUdpCase(c: UdpCase, endpoint: Endpoint, timeoutMs: number, attempts = 3): Promise<Verdict> {
	const sent = hexPreview(c.payload);
	const expected = `the same ${c.payload.length} B datagram back`;
	const socket = dgram.createSocket("udp4");
	try {
		await new Promise<void>((resolve, reject) => {
			socket.once("error", reject);
			socket.bind(0, () => resolve());
		});
		// UDP may lose a datagram: send it again, up to `attempts` times; a wrong datagram back is never excused.
		for (let attempt = 1; attempt <= attempts; attempt++) {
			const back = await new Promise<Buffer | undefined>(resolve => {
				const timer = setTimeout(() => {
					socket.off("message", take);
					resolve(undefined);
				}, timeoutMs);
				const take = (data: Buffer) => {
					clearTimeout(timer);
					resolve(data);
				};
				socket.once("message", take);
				socket.send(c.payload, endpoint.port, endpoint.host);
			});
			if (back)
				return { problem: compareEcho(c.payload, back), sent, expected, observed: `${back.length} B back${attempt > 1 ? ` (attempt ${attempt})` : ""}` };
		}
		return { problem: `no echo in ${attempts} attempts of ${timeoutMs} ms`, sent, expected, observed: "nothing back" };
	} finally {
		socket.close();
	}
}
