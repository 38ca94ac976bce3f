/*
 * Whether a device answers at all, asked before a command spends its time:
 * a TCP connection to each of its TCP endpoints (the TCP echo, the
 * WebSocket port), a few seconds each, so `check`, `soak` and
 * `conformance` say in one line what they could not reach, and why,
 * instead of failing case after case on timeouts.
 */

import * as net from "node:net";
import type { Endpoints } from "../device/targets.js";

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
	if (endpoints.tcp)
		asked.push(["tcp", new URL(`tcp://${endpoints.tcp.host}:${endpoints.tcp.port}`)]);
	if (endpoints.ws)
		asked.push(["ws", new URL(endpoints.ws)]);
	const answers = await Promise.all(asked.map(([, url]) => unreachable(url, timeoutMs)));
	return asked.flatMap(([name, url], i) => answers[i] ? [`${name} ${url.hostname}:${url.port || 80}: ${answers[i]}`] : []);
}
