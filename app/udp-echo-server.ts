/*
 * UDP echo server: the TCP library's UDP server (udp/server) with a
 * handler that sends each datagram back to its sender unchanged. A datagram
 * that cannot be sent back is logged and dropped.
 */

import { Log, peerName, preview } from "modules/log";
import { type Datagram, type DatagramHandler, UdpServer } from "udp/server";

export interface UdpEchoServerOptions {
	port: number;
}

class UdpEcho implements DatagramHandler {
	constructor(readonly log: Log) {}

	onDatagram(server: UdpServer, datagram: Datagram): void {
		if (this.log.debugging) this.log.debug(`Received ${datagram.byteLength} bytes from ${peerName(datagram.address, datagram.port)}: ${preview(datagram)}`);
		try {
			server.send(datagram, datagram.address, datagram.port);
		} catch (e) {
			this.log.error(`echo to ${peerName(datagram.address, datagram.port)} failed: ${(e as Error).message}`);
		}
	}
}

const log = new Log("udp-server");

export function udpEchoServer(options: UdpEchoServerOptions): UdpServer {
	return new UdpServer({ port: options.port, handler: new UdpEcho(log), log });
}
