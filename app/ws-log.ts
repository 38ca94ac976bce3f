/*
 * The device's log on its WebSocket server: each line the app logs
 * (modules/log) from the moment a client opens the route is sent to it as
 * one text message, so a board's log is read over its network as a host
 * target's is (`host-harness logs --device`), in any build, without a
 * serial cable. What a client sends is ignored.
 *
 * Memory is bounded per client, and the log never waits for one: a line is
 * encoded once and the same bytes are queued to every client; a line that
 * does not fit a client's queue (maxQueue) is skipped for it and counted,
 * and when its queue drains a warning says how many it missed. Lines
 * logged while a line is being sent are printed only (modules/log
 * followLog), so sending never feeds itself.
 */

import { followLog, type Log } from "modules/log";
import { OPEN, type WebSocketConnection, type WebSocketHandler } from "websocket/connection";
import { MessageType } from "websocket/constants";
import type { WebSocketRouteOptions } from "websocket/server";

export interface LogRouteOptions {
	/** Bytes each client may have waiting; a line that does not fit is skipped for that client. Default 4096. */
	maxQueue?: number;
	log: Log;
}

/** One client, as the route sees it: made at its first skipped line (a client never full holds none). */
class Follower {
	/** Lines skipped since its queue was last drained. */
	skipped = 0;
}

export class WebSocketLog implements WebSocketHandler {
	readonly maxQueue: number;
	readonly #log: Log;
	readonly #clients = new Set<WebSocketConnection>();

	constructor(options: LogRouteOptions) {
		this.maxQueue = options.maxQueue ?? 4096;
		this.#log = options.log;
	}

	/** The route options this handler needs: small messages in (ignored), a bounded queue out. */
	get routeOptions(): WebSocketRouteOptions {
		return { streaming: false, maxMessage: 125, maxQueue: this.maxQueue };
	}

	/** Clients open on the route. */
	get clients(): number {
		return this.#clients.size;
	}

	onOpen(connection: WebSocketConnection): void {
		this.#clients.add(connection);
		if (this.#clients.size === 1)
			followLog(line => this.#send(line));
		this.#log.info(`Log: ${connection.peer} follows the log, ${this.#clients.size} following`);
	}

	onMessage(): void {
		// What a follower sends is not for the device.
	}

	onDrain(connection: WebSocketConnection): void {
		const follower = connection.context as Follower | undefined;
		if (!follower?.skipped)
			return;
		const skipped = follower.skipped;
		follower.skipped = 0;
		this.#log.warn(`Log: ${skipped} lines skipped for ${connection.peer}: its queue was full`);
	}

	onClose(connection: WebSocketConnection): void {
		if (!this.#clients.delete(connection))
			return;
		if (!this.#clients.size)
			followLog(undefined);
		this.#log.info(`Log: ${connection.peer} left, ${this.#clients.size} following`);
	}

	#send(line: string): void {
		const bytes = ArrayBuffer.fromString(line);
		for (const client of this.#clients) {
			if (client.state !== OPEN || client.sendMessage(MessageType.TEXT, bytes))
				continue;
			const follower = (client.context as Follower | undefined) ?? (client.context = new Follower());
			follower.skipped++;
		}
	}
}
