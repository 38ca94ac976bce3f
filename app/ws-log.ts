/*
 * The device's log on its WebSocket server: each line the app logs
 * (modules/log) from the moment a client opens the route is sent to it as
 * one text message, so a board's log is read over its network as a host
 * target's is (`host-harness logs --device`), in any build, without a
 * serial cable. What a client sends is ignored.
 *
 * The route keeps the followers and sends (websocket/route broadcast()):
 * a line is encoded once and the same bytes are queued to every follower;
 * a line that does not fit a follower's queue (maxQueue) is skipped for it,
 * and the route says how many it missed when it takes one again. A slow
 * follower is never dropped (slowTimeout 0). Lines logged while a line is
 * being sent are printed only (modules/log followLog), so sending never
 * feeds itself. The log is followed only while someone follows it.
 */

import { followLog, type Log } from "modules/log";
import type { ConnectionRoute, WebSocketConnection, WebSocketHandler } from "websocket/connection";
import { MessageType } from "websocket/constants";
import type { WebSocketRouteOptions } from "websocket/server";

export interface LogRouteOptions {
	/** Bytes each client may have waiting; a line that does not fit is skipped for that client. Default 4096. */
	maxQueue?: number;
	log: Log;
}

export class WebSocketLog implements WebSocketHandler {
	readonly maxQueue: number;
	private readonly log: Log;
	/** The route followed, while anyone follows it. */
	private following: ConnectionRoute | undefined;

	constructor(options: LogRouteOptions) {
		this.maxQueue = options.maxQueue ?? 4096;
		this.log = options.log;
	}

	/** The route options this handler needs: small messages in (ignored), a bounded queue out, no follower dropped. */
	get routeOptions(): WebSocketRouteOptions {
		return { streaming: false, maxMessage: 125, maxQueue: this.maxQueue, slowTimeout: 0 };
	}

	onOpen(connection: WebSocketConnection): void {
		const route = connection.route!;
		if (!this.following) {
			this.following = route;
			followLog(line => route.broadcast(MessageType.TEXT, line));
		}
		this.log.info(`Log: ${connection.peer} follows the log, ${route.count} following`);
	}

	onMessage(): void {
		// What a follower sends is not for the device.
	}

	onClose(connection: WebSocketConnection): void {
		const route = connection.route!;
		if (!route.count && this.following) {
			this.following = undefined;
			followLog(undefined);
		}
		this.log.info(`Log: ${connection.peer} left, ${route.count} following`);
	}
}
