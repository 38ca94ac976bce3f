/*
 * The one place bench xs knows how the WebSocket server is built and fed
 * (its options and handler methods may change in a merge: adapt here only).
 *
 * The server is the device's own websocket/server over the memory doubles
 * (the bench manifest maps embedded:io/socket/tcp and /listener to them): a
 * "client" is the other end of a memory pair, which sends the HTTP upgrade
 * and masked frames as a browser would, and the measured path is the one a
 * real message takes: the socket's onReadable, the connection's reads, the
 * reader, the handler; and for sending, the connection's queue, framing and
 * writes within the socket's budget.
 */

import Listener from "embedded:io/socket/listener";
import TCP from "embedded:io/socket/tcp";
import { WebSocketServer } from "websocket/server";

const request = ArrayBuffer.fromString(
	"GET / HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
);

/** Counts what the route delivers; keeps the last connection opened, to send on. */
class Counter {
	messages = 0;
	bytes = 0;
	connection = undefined;
	onOpen(connection) {
		this.connection = connection;
	}
	onMessage(connection, type, data) {
		this.messages++;
		this.bytes += data.byteLength;
	}
}

/** Start a server with one route ("/"); `maxMessage` and `maxQueue` sized for the largest workload. */
export function startWebSocketServer(maxMessage) {
	const handler = new Counter();
	const server = new WebSocketServer({ port: 80, maxClients: 16, heartbeat: 0, handshakeTimeout: 0, logTag: "bench-ws" });
	server.route("/", handler, { maxMessage, maxQueue: maxMessage + 64 });
	server.start();
	const listener = Listener.last;
	return {
		handler,
		/** Connect a client and complete the upgrade: the client's socket, the server's (the driver calls deliver/refill on it), the server's connection. */
		connect() {
			const [clientEnd, serverEnd] = TCP.pair();
			const client = new TCP({ from: clientEnd });
			listener.connect(serverEnd);
			const serverSocket = serverEnd.endpoint.socket;
			serverSocket.refill();
			client.write(request);
			serverSocket.deliver();
			serverSocket.refill();
			const response = String.fromArrayBuffer(client.read() ?? new ArrayBuffer(0));
			if (!response.startsWith("HTTP/1.1 101")) throw new Error(`upgrade refused: ${response.split("\r\n")[0]}`);
			if (!handler.connection) throw new Error("the route's handler was not opened");
			return { client, serverSocket, connection: handler.connection };
		},
		close() {
			server.close();
		},
	};
}
