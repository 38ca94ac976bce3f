/*
 * UDP echo checks from the harness side: one socket per sender, datagrams
 * matched to their echoes by content.
 */

import * as dgram from "node:dgram";
import type { Endpoint } from "../device/targets.js";

export interface UdpSender {
	port: number;
	/** Send a datagram and wait for the first datagram back. */
	echo(payload: Uint8Array, timeoutMs?: number): Promise<{ data: Buffer; from: dgram.RemoteInfo }>;
	close(): void;
}

export function udpSender(endpoint: Endpoint): Promise<UdpSender> {
	return new Promise((resolve, reject) => {
		const socket = dgram.createSocket("udp4");
		const waiting: ((data: Buffer, from: dgram.RemoteInfo) => void)[] = [];
		socket.on("message", (data, from) => waiting.shift()?.(data, from));
		socket.once("error", reject);
		// Loopback for a device on this PC; any interface for one elsewhere (a board,
		// a device in a network namespace), whose answer comes back to the address it reached.
		socket.bind(0, endpoint.host.startsWith("127.") ? "127.0.0.1" : "0.0.0.0", () => {
			resolve({
				port: socket.address().port,
				echo(payload, timeoutMs = 5000) {
					return new Promise((res, rej) => {
						const timer = setTimeout(() => {
							waiting.splice(waiting.indexOf(take), 1);
							rej(new Error(`no UDP echo from ${endpoint.host}:${endpoint.port} within ${timeoutMs} ms`));
						}, timeoutMs);
						const take = (data: Buffer, from: dgram.RemoteInfo) => {
							clearTimeout(timer);
							res({ data, from });
						};
						waiting.push(take);
						socket.send(payload, endpoint.port, endpoint.host);
					});
				},
				close() {
					socket.close();
				},
			});
		});
	});
}
