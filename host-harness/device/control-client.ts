/*
 * Talks to the Node-hosted device's control channel
 * (host-harness/node-host/control.ts): one command line, one JSON answer.
 */

import * as net from "node:net";

export function sendControl(port: number, command: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
	return new Promise((resolve, reject) => {
		const socket = net.connect({ host: "127.0.0.1", port });
		let text = "";
		const timer = setTimeout(() => {
			socket.destroy();
			reject(new Error(`no answer to "${command}" from the device's control channel within ${timeoutMs} ms`));
		}, timeoutMs);
		socket.on("connect", () => socket.write(`${command}\n`));
		socket.on("data", chunk => {
			text += chunk.toString();
			if (!text.includes("\n")) return;
			clearTimeout(timer);
			socket.destroy();
			const reply = JSON.parse(text.slice(0, text.indexOf("\n"))) as Record<string, unknown>;
			if (typeof reply.error === "string") reject(new Error(reply.error));
			else resolve(reply);
		});
		socket.on("error", e => {
			clearTimeout(timer);
			reject(e);
		});
	});
}
