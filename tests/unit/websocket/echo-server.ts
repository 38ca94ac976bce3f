// WebSocketEchoServer: a WebSocketServer with the kit's echo (app/ws-echo-server's
// WebSocketEcho) as its one route, for the unit tests that drive the echo over
// the Node host providers. Test code: not in the device image.
import { WebSocketEcho } from "app/ws-echo-server";
import { WebSocketServer, type WebSocketServerOptions } from "websocket/server";

export interface WebSocketEchoServerOptions extends Omit<WebSocketServerOptions, "logTag"> {
	/** Path served; other paths get 404. Default "/ws". */
	path?: string;
}

export class WebSocketEchoServer {
	readonly #server: WebSocketServer;

	constructor(options: WebSocketEchoServerOptions) {
		const { path = "/ws", ...serverOptions } = options;
		this.#server = new WebSocketServer(serverOptions);
		this.#server.route(path, new WebSocketEcho(this.#server.log), WebSocketEcho.routeOptions);
	}

	/** The port actually listened on (differs from the option when it was 0). */
	get port(): number {
		return this.#server.port;
	}

	/** WebSocket clients connected (past the handshake, not yet closed). */
	get clients(): number {
		return this.#server.clients;
	}

	/** Largest send queue any connection held, in bytes (diagnostics: memory stays bounded). */
	get maxQueued(): number {
		return this.#server.maxQueued;
	}

	start(): void {
		this.#server.start();
	}

	/** Stop listening; clients get Close 1001 "going away" and closeTimeout to answer it. */
	close(): void {
		this.#server.close();
	}
}
