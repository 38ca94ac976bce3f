/*
 * Whether a device answers at all, asked before a command spends its time:
 * a TCP connection to each of its TCP endpoints (the TCP echo, the
 * WebSocket port), a few seconds each, so `check`, `soak` and
 * `conformance` say in one line what they could not reach, and why,
 * instead of failing case after case on timeouts.
 */

import * as dgram from "node:dgram";
import * as net from "node:net";
import type { Endpoints } from "./targets.js";

/** Why nothing accepts a TCP connection at the URL's host and port, or undefined when something does. */
export function unreachable(target: URL, timeoutMs = 3000): Promise<string | undefined> {
	return new Promise(resolve => {
		const socket = net.connect({ host: target.hostname, port: Number(target.port || 80) });
		const done = (why?: string) => {
			socket.destroy();
			resolve(why);
		};
		socket.setTimeout(timeoutMs, () => done(`no answer to a TCP connection within ${timeoutMs} ms`));
		socket.once("connect", () => done());
		socket.once("error", e => done(`connect ${(e as NodeJS.ErrnoException).code ?? e.message}`));
	});
}

/** "tcp 192.168.1.9:8080: connect ECONNREFUSED" for each TCP endpoint that does not answer; empty when every one does (or there is none to ask). */
export async function unreachableEndpoints(endpoints: Endpoints, timeoutMs = 3000): Promise<string[]> {
	const asked: [string, URL][] = [];
	if (endpoints.tcp) asked.push(["tcp", new URL(`tcp://${endpoints.tcp.host}:${endpoints.tcp.port}`)]);
	if (endpoints.ws) asked.push(["ws", new URL(endpoints.ws)]);
	const answers = await Promise.all(asked.map(([, url]) => unreachable(url, timeoutMs)));
	return asked.flatMap(([name, url], i) => (answers[i] ? [`${name} ${url.hostname}:${url.port || 80}: ${answers[i]}`] : []));
}

/** What one datagram to a UDP port drew: an answer, the port's refusal, or nothing. */
export type UdpProbe = { answered: Buffer } | { refused: string } | { silent: true };

/**
 * Send one datagram to host:port from a connected UDP socket and wait up to
 * timeoutMs: an answer, or the ICMP port unreachable (RFC 1122 4.1.3.1: the
 * kernel reports it to a connected socket as ECONNREFUSED) that says no
 * socket is bound there. Silence means only that nothing refused: a
 * service need not answer every datagram.
 */
export function probeUdp(host: string, port: number, payload: Buffer, timeoutMs = 1000): Promise<UdpProbe> {
	return new Promise(resolve => {
		const socket = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
		const done = (probe: UdpProbe) => {
			clearTimeout(timer);
			socket.close();
			resolve(probe);
		};
		const timer = setTimeout(() => done({ silent: true }), timeoutMs);
		socket.once("message", answer => done({ answered: answer }));
		socket.once("error", e => done({ refused: (e as NodeJS.ErrnoException).code ?? e.message }));
		socket.connect(port, host, () => socket.send(payload));
	});
}
