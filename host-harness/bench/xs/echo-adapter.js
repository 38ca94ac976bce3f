/*
 * The one place bench xs knows how the TCP echo server is built and fed
 * (its constructor options may change in a merge: adapt here only).
 *
 * The server is the device's own app/tcp-echo-server (tcp/server, tcp/connection, app/tcp-echo); the
 * bench manifest maps embedded:io/socket/tcp and embedded:io/socket/listener
 * to the memory doubles, so a "client" is the other end of a memory pair.
 */

import Listener from "embedded:io/socket/listener";
import TCP from "embedded:io/socket/tcp";
import { echoServer } from "app/tcp-echo-server";

/** Start the echo server; `chunk` is tcpChunk (bytes held per connection). */
export function startEchoServer(chunk, maxClients = 16) {
	const server = echoServer({ port: 7, maxClients, backlog: 0, idleTimeout: 0, chunk });
	server.start();
	const listener = Listener.last;
	return {
		/** Connect a client: returns the client's socket and the server's socket (the driver calls deliver/refill on it). */
		connect(onReadable) {
			const [clientEnd, serverEnd] = TCP.pair();
			const client = new TCP({ from: clientEnd, onReadable });
			listener.connect(serverEnd);
			const serverSocket = serverEnd.endpoint.socket;
			serverSocket.refill(); // the platform's first onWritable
			return { client, serverSocket };
		},
		close() {
			server.close();
		},
	};
}
