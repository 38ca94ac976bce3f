/*
 * The TCP echo client, after the ESP-IDF tcp_client example: the TCP
 * library's client (tcp/client: reconnect with capped backoff, idle and
 * dead-peer checks) whose handler sends "Hello World!" once connected, then
 * echoes back everything it receives (tcp/echo). Only a connection that
 * echoed something starts the backoff over.
 */

import { Log } from "modules/log";
import { TcpClient } from "tcp/client";
import { Echo } from "tcp/echo";
import type { TcpConnection, TcpHandler, TcpService } from "tcp/connection";

export const greeting = "Hello World!";

export interface EchoClientOptions {
	host: string;
	port: number;
	connectTimeout: number;
	retryDelay: number;
	retryMaxDelay: number;
	/** Consecutive failed attempts before giving up; 0: never give up. */
	maxAttempts: number;
	chunk: number;
	/** Close (and retry) a connection that moved no byte either way for this long (ms); 0: never. */
	idleTimeout?: number;
}

/** The echo, greeting first. */
class GreetingEcho extends Echo {
	#greeted = false;

	override onWritable(connection: TcpConnection): void {
		super.onWritable(connection);
		if (this.#greeted || this.pending)
			return;
		const hello = ArrayBuffer.fromString(greeting);
		if (hello.byteLength > connection.writable)
			return;		// the whole greeting at once, with the next budget
		connection.write(hello);
		this.#greeted = true;
		this.log.info(`Sent "${greeting}" to ${connection.peer}`);
	}
}

class GreetingEchoService implements TcpService {
	constructor(readonly log: Log, readonly chunk: number) {}

	open(): TcpHandler {
		return new GreetingEcho(this.log, this.chunk);
	}
}

export function echoClient(options: EchoClientOptions): TcpClient {
	const log = new Log("tcp-client");
	const { host, port, connectTimeout, retryDelay, retryMaxDelay, maxAttempts, chunk, idleTimeout = 0 } = options;
	return new TcpClient({ host, port, connectTimeout, retryDelay, retryMaxDelay, maxAttempts, idleTimeout, service: new GreetingEchoService(log, chunk), log });
}
