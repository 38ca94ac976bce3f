/*
 * WebSocket broadcast: every message a client sends goes to every other
 * open client on the route. A handler for a WebSocketServer route
 * (websocket/server), and the proof that the library serves more than an
 * echo.
 *
 * The route keeps the clients and relays (websocket/route broadcast()):
 * memory is bounded per client whatever the others do. A message is
 * received whole up to maxMessage (1009 beyond) and the same bytes are
 * queued to every recipient; a message that does not fit a client's queue
 * (maxQueue) is skipped for it, and a client that could take none for
 * slowTimeout ms is failed with 1008 "too slow".
 */

import type { Log } from "modules/log";
import type { WebSocketConnection, WebSocketHandler } from "websocket/connection";
import type { MessageType } from "websocket/constants";
import type { WebSocketRouteOptions } from "websocket/server";

export interface BroadcastOptions {
	/** Largest message relayed (1009 beyond). Default 1024. */
	maxMessage?: number;
	/** Bytes each client may have waiting; a message that does not fit is skipped for it. Default 4096. */
	maxQueue?: number;
	/** A client that could take no message for this long (ms) is dropped with 1008. Default 2000. */
	slowTimeout?: number;
	log: Log;
}

export class WebSocketBroadcast implements WebSocketHandler {
	readonly maxMessage: number;
	readonly maxQueue: number;
	readonly slowTimeout: number;
	/** Messages relayed since start. */
	relayed = 0;
	private readonly log: Log;

	constructor(options: BroadcastOptions) {
		this.maxMessage = options.maxMessage ?? 1024;
		this.maxQueue = options.maxQueue ?? 4096;
		this.slowTimeout = options.slowTimeout ?? 2000;
		this.log = options.log;
	}

	/** The route options this handler needs: whole messages, bounded queues, the slow-consumer limit. */
	get routeOptions(): WebSocketRouteOptions {
		return { streaming: false, maxMessage: this.maxMessage, maxQueue: this.maxQueue, sendBuffer: this.maxMessage, slowTimeout: this.slowTimeout };
	}

	onOpen(connection: WebSocketConnection): void {
		this.log.info(`Broadcast: ${connection.peer} joined, ${connection.route!.count} listening`);
	}

	onMessage(sender: WebSocketConnection, type: MessageType, data: ArrayBuffer): void {
		const sent = sender.route!.broadcast(type, data, sender);
		this.relayed++;
		if (this.log.debugging) this.log.debug(`Broadcast: ${data.byteLength} bytes from ${sender.peer} to ${sent} clients`);
	}

	onClose(connection: WebSocketConnection): void {
		this.log.info(`Broadcast: ${connection.peer} left, ${connection.route!.count} listening`);
	}
}
