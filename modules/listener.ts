/*
 * The accept loop, once: an ECMA-419 listener whose new sockets go to a
 * target's accept(). An exception for one socket is logged and never stops
 * the loop or reaches the platform (an exception escaping a callback aborts
 * XS). The listener's callback reaches its owner as `this.target`, with no
 * closure per listener.
 */

import Listener from "embedded:io/socket/listener";
import type TCP from "embedded:io/socket/tcp";
import type { Log } from "modules/log";

/** ECMA-419 listeners have close(); Moddable's typings (SDK and npm) leave it out. */
type ClosableListener = Listener & { close(): void };

export interface Acceptor {
	accept(socket: TCP): void;
}

export interface TcpListenerOptions {
	port: number;
	target: Acceptor;
	log: Log;
}

interface ListenerState {
	target: Acceptor;
	log: Log;
}

function listenerReadable(this: Listener & { target: ListenerState }, count: number): void {
	const { target, log } = this.target;
	while (count-- > 0) {
		try {
			const socket = this.read() as TCP | undefined;
			if (socket)
				target.accept(socket);
		}
		catch (e) {
			log.error(`accept failed: ${(e as Error).message}`);
		}
	}
}

export class TcpListener {
	readonly #listener: ClosableListener;

	constructor(options: TcpListenerOptions) {
		const state: ListenerState = { target: options.target, log: options.log };
		this.#listener = new Listener({
			port: options.port, target: state, onReadable: listenerReadable,
		} as ConstructorParameters<typeof Listener>[0]) as ClosableListener;
	}

	/** The port listened on (the one the platform chose when the option was 0). */
	get port(): number {
		return this.#listener.port ?? 0;
	}

	close(): void {
		this.#listener.close();
	}
}
