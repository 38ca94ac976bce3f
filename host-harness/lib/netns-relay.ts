/*
 * A TCP port on the loopback of a network namespace, relayed to a Unix
 * socket of this process: how a process in a namespace whose kernel holds
 * no address (the lwip tier: its address is lwIP's, host-harness/device/
 * lwip.ts) reaches a server of the harness, such as its xsbug server for a
 * debug build (the machine connects to XSBUG_HOST:XSBUG_PORT with the
 * kernel's sockets). Unix sockets belong to the file system, not to a
 * network namespace, so a small Node process inside the namespace listens
 * on 127.0.0.1 and pipes each connection to the socket file.
 */

import { spawn } from "node:child_process";
import type { LanLink } from "./netns.js";
import { trackPid, untrackPid } from "./pids.js";

export interface NetnsRelay {
	/** The port on the namespace's 127.0.0.1. */
	port: number;
	stop(): Promise<void>;
}

const relaySource = `
const net = require("node:net");
const target = process.argv[1];
const server = net.createServer(client => {
	const upstream = net.connect(target);
	client.pipe(upstream);
	upstream.pipe(client);
	client.on("error", () => upstream.destroy());
	upstream.on("error", () => client.destroy());
	client.on("close", () => upstream.destroy());
	upstream.on("close", () => client.destroy());
});
server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));
`;

/** Relay 127.0.0.1:<a free port> inside the link's namespace to the Unix socket at socketPath. */
export function startNetnsRelay(link: LanLink, socketPath: string, timeoutMs = 10_000): Promise<NetnsRelay> {
	const [command, ...prefix] = link.exec;
	const child = spawn(command, [...prefix, process.execPath, "-e", relaySource, socketPath], { stdio: ["ignore", "pipe", "pipe"] });
	trackPid(child.pid);
	const stop = async () => {
		if (child.exitCode === null && child.signalCode === null) {
			const gone = new Promise<void>(resolve => child.once("exit", () => resolve()));
			child.kill("SIGTERM");
			await gone;
		}
		untrackPid(child.pid);
	};
	return new Promise((resolve, reject) => {
		let text = "";
		let errors = "";
		const timer = setTimeout(() => {
			void stop();
			reject(new Error(`the relay in ${link.ns} did not start within ${timeoutMs} ms: ${errors.trim()}`));
		}, timeoutMs);
		child.stderr.on("data", (chunk: Buffer) => {
			errors += chunk.toString();
		});
		child.stdout.on("data", (chunk: Buffer) => {
			text += chunk.toString();
			if (!text.includes("\n")) return;
			clearTimeout(timer);
			resolve({ port: Number(text.trim()), stop });
		});
		child.once("exit", code => {
			clearTimeout(timer);
			untrackPid(child.pid);
			reject(new Error(`the relay in ${link.ns} exited (${code}): ${errors.trim()}`));
		});
	});
}
