/*
 * WebSocket broadcast: every message a client sends goes to every other
 * open client on the route. A handler for a WebSocketServer route
 * (websocket/server), and the proof that the library serves more than an
 * echo.
 *
 * Memory is bounded per client, whatever the others do:
 * - a message is received whole up to maxMessage (1009 beyond) and the same
 *   bytes are queued to every recipient: one buffer, no copy per client
 *   (the server does not mask);
 * - each client's send queue holds at most maxQueue bytes. A message that
 *   does not fit a client's queue is skipped for that client (counted);
 * - slow consumer: a client whose queue has stayed too full to take a
 *   message for slowTimeout ms is failed with 1008 "too slow" (its queue is
 *   dropped at closeTimeout at the latest). One slow page never stalls the
 *   others or grows the heap: the sender is never held back by a recipient.
 *   (ESPAsyncWebServer's textAll answers with "Too many messages queued"
 *   and lets the queue hold the heap until a watchdog reset.)
 */

import type { Log } from "modules/log";
import { OPEN, type WebSocketConnection, type WebSocketHandler } from "websocket/connection";
import { CloseCode, type MessageType } from "websocket/constants";
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

/** One client, as the broadcast sees it: made at its first skipped message (a client never full holds none). */
class Listener {
	/** Since when messages did not fit its queue (0: they do). */
	fullSince = 0;
	/** Messages skipped because its queue was full. */
	skipped = 0;
}

export class WebSocketBroadcast implements WebSocketHandler {
	readonly maxMessage: number;
	readonly maxQueue: number;
	readonly slowTimeout: number;
	/** Messages relayed, and deliveries skipped (full queues), since start. */
	relayed = 0;
	skipped = 0;
	readonly #log: Log;
	readonly #clients = new Set<WebSocketConnection>();

	constructor(options: BroadcastOptions) {
		this.maxMessage = options.maxMessage ?? 1024;
		this.maxQueue = options.maxQueue ?? 4096;
		this.slowTimeout = options.slowTimeout ?? 2000;
		this.#log = options.log;
	}

	/** The route options this handler needs: whole messages, bounded queues. */
	get routeOptions(): WebSocketRouteOptions {
		return { streaming: false, maxMessage: this.maxMessage, maxQueue: this.maxQueue, sendBuffer: this.maxMessage };
	}

	/** Clients open on the route. */
	get clients(): number {
		return this.#clients.size;
	}

	onOpen(connection: WebSocketConnection): void {
		this.#clients.add(connection);
		this.#log.info(`Broadcast: ${connection.peer} joined, ${this.#clients.size} listening`);
	}

	onMessage(sender: WebSocketConnection, type: MessageType, data: ArrayBuffer): void {
		const now = Date.now();
		let sent = 0;
		for (const client of this.#clients) {
			if (client === sender || client.state !== OPEN)
				continue;
			let listener = client.context as Listener | undefined;
			if (client.sendMessage(type, data)) {
				if (listener)
					listener.fullSince = 0;
				sent++;
				continue;
			}
			listener ??= client.context = new Listener();
			listener.skipped++;
			this.skipped++;
			if (!listener.fullSince)
				listener.fullSince = now;
			else if (now - listener.fullSince >= this.slowTimeout) {
				this.#log.warn(`Broadcast: ${client.peer} took no message for ${now - listener.fullSince} ms (${listener.skipped} skipped), dropping it`);
				client.fail(CloseCode.POLICY_VIOLATION, "too slow");
			}
		}
		this.relayed++;
		if (this.#log.debugging)
			this.#log.debug(`Broadcast: ${data.byteLength} bytes from ${sender.peer} to ${sent} clients`);
	}

	onDrain(connection: WebSocketConnection): void {
		const listener = connection.context as Listener | undefined;
		if (listener)
			listener.fullSince = 0;
	}

	onClose(connection: WebSocketConnection): void {
		if (this.#clients.delete(connection))
			this.#log.info(`Broadcast: ${connection.peer} left, ${this.#clients.size} listening`);
	}
}
