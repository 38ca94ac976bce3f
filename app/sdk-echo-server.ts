/*
 * The WebSocket echo service on Moddable's own SDK `websocket` module
 * ($MODDABLE/modules/network/websocket: Server over the SDK's `socket`
 * module), selected with wsImpl=sdk, beside ours (app/ws-echo-server),
 * so the choice between them stays visible and reproducible: the same
 * service API and log lines where the module allows.
 *
 * What the SDK module does not offer, and so this service does not either:
 * - no path routing: every path is upgraded (ours answers 404);
 * - no limit on clients before the handshake: a client beyond maxClients is
 *   closed once upgraded (ours answers 503);
 * - no API to send a Ping: "Ping" gets its echo only;
 * - no token, subprotocol selection, heartbeat or purge;
 * - messages are delivered whole (no streaming, no size limit of ours).
 * The conformance suite measures the rest (host-harness conformance).
 */

import { Log } from "modules/log";
import Timer from "timer";
import { Server } from "websocket";

const log = new Log("ws-server");

const TRIGGER_ASYNC = "Trigger async";
const ASYNC_DATA = "Async data";

export interface SdkWebSocketEchoServerOptions {
	port: number;
	path: string;
	maxClients: number;
}

/** The SDK's per-connection object (its Client), as this service uses it. */
interface SdkConnection {
	write(data: string | ArrayBuffer): void;
	close(): void;
	/** Ours: whether it counts as a client. */
	counted?: boolean;
}

export class SdkWebSocketEchoServer {
	readonly options: SdkWebSocketEchoServerOptions;
	private server: Server | undefined;
	private clientCount = 0;

	constructor(options: SdkWebSocketEchoServerOptions) {
		// Only the Node host's stand-in has it (host-harness/node-host/sdk-websocket): why it cannot serve.
		if ("unavailable" in Server) throw new Error(String(Server.unavailable));
		this.options = options;
	}

	get port(): number {
		return this.options.port;
	}

	get clients(): number {
		return this.clientCount;
	}

	start(): void {
		const server = new Server({ port: this.options.port });
		this.server = server;
		const owner = this;
		// The SDK calls this with `this` = the connection; one function for the server, none per connection.
		server.callback = function (this: SdkConnection, message: number, value?: unknown) {
			try {
				owner.event(this, message, value);
			} catch (e) {
				log.error(`SDK websocket event ${message}: ${(e as Error).message}`);
			}
		};
		log.info(`WebSocket echo server (SDK websocket module) listening on port ${this.options.port}, any path, ` + `${this.options.maxClients} clients at once`);
	}

	close(): void {
		this.server?.close();
		this.server = undefined;
		log.info(`WebSocket echo server (SDK websocket module) closing, ${this.clientCount} clients`);
	}

	private event(connection: SdkConnection, message: number, value: unknown): void {
		switch (message) {
			case Server.handshake:
				if (this.clientCount >= this.options.maxClients) {
					log.warn(`Connection refused after its handshake: ${this.options.maxClients} clients already connected`);
					connection.close();
					return;
				}
				connection.counted = true;
				this.clientCount++;
				log.info(`Handshake done (SDK websocket module), ${this.clientCount} clients`);
				break;
			case Server.receive: {
				const text = typeof value === "string";
				if (log.debugging)
					log.debug(`Received ${text ? "text" : "binary"} message of ${text ? (value as string).length : (value as ArrayBuffer).byteLength} bytes`);
				connection.write(value as string | ArrayBuffer);
				if (value === TRIGGER_ASYNC)
					Timer.set(() => {
						try {
							log.info("Sending async data");
							connection.write(ASYNC_DATA);
						} catch (e) {
							log.error(`async data: ${(e as Error).message}`);
						}
					}, 0);
				break;
			}
			case Server.disconnect:
				if (connection.counted) {
					connection.counted = false;
					this.clientCount--;
				}
				log.info("Connection closed (SDK websocket module)");
				break;
		}
	}
}
