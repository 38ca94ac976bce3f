/*
 * The TCP echo client, after the ESP-IDF tcp_client example: the TCP
 * library's client (tcp/client: reconnect with capped backoff, idle and
 * dead-peer checks) with the echo handler (app/tcp-echo), which sends
 * "Hello World!" once connected, then echoes back everything it receives.
 * Only a connection that echoed something starts the backoff over.
 */

import { EchoService } from "app/tcp-echo";
import { Log } from "modules/log";
import type { TlsOptions } from "modules/secure-socket";
import { TcpClient } from "tcp/client";

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
	/** Connect over TLS: SNI name and CA (modules/secure-socket). */
	tls?: TlsOptions;
	/** With tls: wait this long for a clock that was never set (TcpClientOptions.clockWait). */
	clockWait?: number;
}

export function echoClient(options: EchoClientOptions): TcpClient {
	const log = new Log("tcp-client");
	const { host, port, connectTimeout, retryDelay, retryMaxDelay, maxAttempts, chunk, idleTimeout = 0, tls, clockWait } = options;
	return new TcpClient({
		host,
		port,
		connectTimeout,
		retryDelay,
		retryMaxDelay,
		maxAttempts,
		idleTimeout,
		tls,
		clockWait,
		service: new EchoService(chunk, greeting),
		log,
	});
}
