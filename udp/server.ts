/*
 * UDP server, for any service: binds a port and hands each datagram to a
 * handler, which may answer through send(). A handler's exception for one
 * datagram is logged and the socket keeps serving everyone else.
 *
 * ECMA-419 style: the socket's callback reaches this object as
 * `this.target`. The datagram handed over is the platform's own buffer
 * (with its sender's address and port), not a copy.
 */

import UDP from "embedded:io/socket/udp";
import { enroll } from "modules/census";
import { Log, peerName } from "modules/log";

/** A received datagram: its bytes, and who sent it. */
export type Datagram = ArrayBuffer & { address: string; port: number };

export interface DatagramHandler {
	onDatagram(server: UdpServer, datagram: Datagram): void;
}

export interface UdpServerOptions {
	port: number;
	handler: DatagramHandler;
	/** Where it logs. Default a Log tagged logTag. */
	log?: Log;
	/** The tag of the default log. Default "udp-server". */
	logTag?: string;
}

/** ECMA-419 UDP sockets have close(); Moddable's typings (SDK and npm) leave it out. */
type ClosableUDP = UDP & { close(): void };

type SocketThis = UDP & { target: UdpServer };

/** The default log: preloaded (a Log is frozen), no slot at run time. */
const serverLog = new Log("udp-server");

export class UdpServer {
	readonly options: UdpServerOptions;
	readonly log: Log;
	/** Datagrams received so far. */
	received = 0;
	private socket: ClosableUDP | undefined;

	constructor(options: UdpServerOptions) {
		const port = options.port;
		// 0 would bind no port of its own (lin binds none until a first send; none of the SDK's UDP
		// sockets says which port it took), so a server on it could never be reached or reported.
		if (!(port >= 1 && port <= 65535 && port === Math.trunc(port)))
			throw new RangeError(`UdpServer: port must be a whole number 1 to 65535, not ${port} (the SDK's UDP sockets do not say which port 0 took)`);
		this.options = options;
		this.log = options.log ?? (options.logTag && options.logTag !== serverLog.tag ? new Log(options.logTag) : serverLog);
		enroll(this);
	}

	get port(): number {
		return this.options.port;
	}

	start(): void {
		if (this.socket) throw new Error("already started");
		this.socket = <ClosableUDP>new UDP({
			port: this.options.port,
			target: this,
			onReadable: socketReadable,
		} as ConstructorParameters<typeof UDP>[0]);
		this.log.info(`Socket bound, port ${this.options.port}`);
	}

	close(): void {
		this.socket?.close();
		this.socket = undefined;
	}

	/** Send a datagram (an answer); throws when the platform refuses it. */
	send(data: ArrayBuffer | Uint8Array, address: string, port: number): void {
		this.socket?.write(data, address, port);
	}

	/** From the socket: `count` datagrams wait. */
	readable(count: number): void {
		const socket = this.socket;
		while (socket && count-- > 0) {
			const datagram = socket.read() as Datagram | undefined;
			if (!datagram) return;
			this.received++;
			try {
				this.options.handler.onDatagram(this, datagram);
			} catch (e) {
				this.log.error(`datagram from ${peerName(datagram.address, datagram.port)}: ${(e as Error).message}`);
			}
		}
	}
}

function socketReadable(this: SocketThis, count: number): void {
	this.target.readable(count);
}
