/*
 * Free ports for devices started on this PC: one found free (bound, then
 * released) and handed to the device's configuration.
 *
 * Below the kernel's ephemeral range (ip_local_port_range, 32768 and up by
 * default), never in it: a port the kernel handed out there is handed out
 * again to the next outgoing connection, and between its release here and
 * the device's bind a busy machine (two device runs, thousands of client
 * connections) may give it to a connection, and the device's bind fails. A
 * port below the range is taken only by another explicit bind; one picked
 * at random there is tried, and another on EADDRINUSE. Where the range
 * leaves no room below it, the kernel picks (port 0).
 */

import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as net from "node:net";

/** The lowest port tried: above the registered ports most services use. */
const lowest = 10_000;
/** Random picks tried before the kernel is asked. */
const attempts = 40;

/** The first port of the kernel's ephemeral range; 32768 (Linux's default) where it cannot be read. */
export function ephemeralStart(): number {
	try {
		const start = Number(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
		return Number.isInteger(start) && start > 0 ? start : 32768;
	} catch {
		return 32768;
	}
}

/** A port to try: at random in [lowest, end), or 0 (the kernel's pick) where there is no room. */
function candidate(attempt: number, end: number): number {
	return attempt < attempts && end - lowest >= 1000 ? lowest + Math.floor(Math.random() * (end - lowest)) : 0;
}

function tryTcp(port: number): Promise<number | undefined> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once("error", (e: NodeJS.ErrnoException) => (e.code === "EADDRINUSE" || e.code === "EACCES" ? resolve(undefined) : reject(e)));
		server.listen(port, "0.0.0.0", () => {
			const { port: bound } = server.address() as net.AddressInfo;
			server.close(() => resolve(bound));
		});
	});
}

function tryUdp(port: number): Promise<number | undefined> {
	return new Promise((resolve, reject) => {
		const socket = dgram.createSocket("udp4");
		socket.once("error", (e: NodeJS.ErrnoException) => {
			socket.close();
			if (e.code === "EADDRINUSE" || e.code === "EACCES") resolve(undefined);
			else reject(e);
		});
		socket.bind(port, "0.0.0.0", () => {
			const { port: bound } = socket.address();
			socket.close(() => resolve(bound));
		});
	});
}

async function freePort(attempt: (port: number) => Promise<number | undefined>): Promise<number> {
	const end = ephemeralStart(); // (read once per port, not once per pick)
	for (let i = 0; ; i++) {
		const port = await attempt(candidate(i, end));
		if (port !== undefined) return port;
		if (i >= attempts) throw new Error("no free port found");
	}
}

export function freeTcpPort(): Promise<number> {
	return freePort(tryTcp);
}

export function freeUdpPort(): Promise<number> {
	return freePort(tryUdp);
}

/** The device's server ports for a host target: fresh free ports for its TCP, UDP and WebSocket services, as config strings. */
export async function freeServicePorts(): Promise<{ tcpPort: string; udpPort: string; wsPort: string }> {
	return { tcpPort: String(await freeTcpPort()), udpPort: String(await freeUdpPort()), wsPort: String(await freeTcpPort()) };
}
