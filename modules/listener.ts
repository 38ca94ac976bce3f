/*
 * The accept loop, once for every server in the kit (the TCP server,
 * provisioning, the WebSocket server): an ECMA-419 listener whose accepted
 * sockets go, one by one, to `target.accept(socket)`. An exception while
 * accepting or handing over one socket is logged, that socket is closed,
 * and the loop goes on: one connection's fault never stops a listener.
 *
 * ECMA-419 style: the listener's callback is a prototype function reaching
 * its owner through `this.target`, so no closure is made per server or per
 * connection. The socket handed over is the listener's, not yet adopted:
 * the target adopts it with `new TCP({ from: socket, … })`, or closes it.
 *
 * ECMA-419 listeners have close(); Moddable's typings (SDK and npm) leave it
 * out, so this is the one place that says so.
 */

import Listener from "embedded:io/socket/listener";
import type TCP from "embedded:io/socket/tcp";
import { type Log, peerName } from "modules/log";

type ClosableListener = Listener & { close(): void };

/** What the listener's callback sees as `this`. */
type ListenerThis = Listener & { target: TcpListener };

export interface AcceptTarget {
	/** A socket accepted by the listener, not yet adopted. */
	accept(socket: TCP): void;
}

export interface TcpListenerOptions {
	/** 0: any free port (read `port` afterwards). */
	port: number;
	target: AcceptTarget;
	log: Log;
}

export class TcpListener {
	readonly target: AcceptTarget;
	readonly log: Log;
	private listener: ClosableListener | undefined;
	private boundPort: number;

	constructor(options: TcpListenerOptions) {
		this.target = options.target;
		this.log = options.log;
		this.boundPort = options.port;
		try {
			this.listener = <ClosableListener>new Listener({
				port: options.port,
				target: this,
				onReadable: accepted,
			} as ConstructorParameters<typeof Listener>[0]);
		} catch (e) {
			// The platform says only "bind socket failed" (lin) or "bind failed" (lwip): name the port.
			throw new Error(`cannot listen on port ${options.port}: ${(e as Error).message} (is another program using it?)`);
		}
		this.boundPort = this.listener.port ?? options.port;
	}

	/** The port listened on (the one chosen when the option was 0). */
	get port(): number {
		return this.boundPort;
	}

	get listening(): boolean {
		return this.listener !== undefined;
	}

	/** Stop accepting; connections already handed over are the target's. Idempotent. */
	close(): void {
		const listener = this.listener;
		this.listener = undefined;
		listener?.close();
	}

	/** Hand one accepted socket to the target; a fault is logged and closes that socket only. */
	handOver(socket: TCP): void {
		try {
			this.target.accept(socket);
		} catch (e) {
			// lwip: a peer that reset since the accept leaves a socket the target cannot adopt ("invalid from").
			if (socketAlive(socket)) this.log.error(`accepting a connection failed: ${(e as Error).message}`);
			else this.log.info(`Connection closed: ${peerName(socket.remoteAddress, socket.remotePort)}, gone before it was accepted`);
			closeQuietly(socket);
		}
	}
}

function accepted(this: ListenerThis, count: number): void {
	const owner = this.target;
	while (count-- > 0) {
		let socket: TCP | undefined;
		try {
			socket = this.read();
		} catch (e) {
			owner.log.error(`accept failed: ${(e as Error).message}`);
			continue;
		}
		if (socket) owner.handOver(socket);
	}
}

/** Whether a socket still has its connection: a zero-length write answers a number until the platform found it gone (lwip throws). */
export function socketAlive(socket: TCP): boolean {
	try {
		return typeof (socket.write(new ArrayBuffer(0)) as unknown) === "number";
	} catch {
		return false;
	}
}

/** Close a socket the platform may have closed already. */
export function closeQuietly(socket: { close(): void } | undefined): void {
	try {
		socket?.close();
	} catch {
		// already closed by the platform
	}
}
