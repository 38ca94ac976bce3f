/*
 * UDP echo server on the ECMA-419 UDP socket: each datagram goes back to its
 * sender unchanged. A datagram that cannot be sent back is logged and
 * dropped; the socket keeps serving everyone else.
 */

import UDP from "embedded:io/socket/udp";
import { Log, peerName, preview } from "modules/log";

const log = new Log("udp-server");

export interface UdpEchoServerOptions {
	port: number;
}

type Datagram = ArrayBuffer & { address: string; port: number };

/** ECMA-419 UDP sockets have close(); Moddable's typings (SDK and npm) leave it out. */
type ClosableUDP = UDP & { close(): void };

export class UdpEchoServer {
	readonly options: UdpEchoServerOptions;
	#socket: ClosableUDP | undefined;
	received = 0;

	constructor(options: UdpEchoServerOptions) {
		this.options = options;
	}

	start(): void {
		const server = this;
		this.#socket = <ClosableUDP>new UDP({
			port: this.options.port,
			onReadable(packets: number) {
				while (packets-- > 0)
					server.#echo(this.read() as Datagram);
			},
		});
		log.info(`Socket bound, port ${this.options.port}`);
	}

	close(): void {
		this.#socket?.close();
		this.#socket = undefined;
	}

	#echo(datagram: Datagram): void {
		const sender = peerName(datagram.address, datagram.port);
		this.received++;
		if (log.debugging)
			log.debug(`Received ${datagram.byteLength} bytes from ${sender}: ${preview(datagram)}`);
		try {
			this.#socket!.write(datagram, datagram.address, datagram.port);
		}
		catch (e) {
			log.error(`echo to ${sender} failed: ${(e as Error).message}`);
		}
	}
}
