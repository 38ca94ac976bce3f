/*
 * Free loopback ports for devices started on this PC: the kernel picks one
 * (bind to port 0), we release it and hand the number to the device's
 * configuration.
 */

import * as dgram from "node:dgram";
import * as net from "node:net";

export function freeTcpPort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once("error", reject);
		server.listen(0, "0.0.0.0", () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

export function freeUdpPort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const socket = dgram.createSocket("udp4");
		socket.once("error", reject);
		socket.bind(0, "0.0.0.0", () => {
			const { port } = socket.address();
			socket.close(() => resolve(port));
		});
	});
}

/** The device's server ports for a host target: fresh free ports for its TCP, UDP and WebSocket services, as config strings. */
export async function freeServicePorts(): Promise<{ tcpPort: string; udpPort: string; wsPort: string }> {
	return { tcpPort: String(await freeTcpPort()), udpPort: String(await freeUdpPort()), wsPort: String(await freeTcpPort()) };
}
