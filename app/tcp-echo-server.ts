/*
 * The TCP echo server, after the classic ESP32 example: the TCP library's
 * server (tcp/server: slots, backlog, idle timeout, dead peers) with the
 * echo handler (app/tcp-echo) on each connection.
 */

import { EchoService } from "app/tcp-echo";
import { Log } from "modules/log";
import { TcpServer } from "tcp/server";

export interface EchoServerOptions {
	port: number;
	maxClients: number;
	backlog: number;
	/** ms without a byte moved before a served connection is closed; 0: never. */
	idleTimeout: number;
	/** Bytes the echo holds per connection. */
	chunk: number;
	lruPurge?: boolean;
}

const log = new Log("tcp-server");

export function echoServer(options: EchoServerOptions): TcpServer {
	const { port, maxClients, backlog, idleTimeout, lruPurge, chunk } = options;
	return new TcpServer({ port, maxClients, backlog, idleTimeout, lruPurge, service: new EchoService(chunk), log });
}
