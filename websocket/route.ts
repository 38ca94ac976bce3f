/*
 * A WebSocket route of a server (websocket/server route()): its path, what
 * its connections are opened with, and the connections themselves, so an
 * app keeps no client set of its own. A connection belongs to the route
 * from just before its handler's onOpen to just after its onClose; count
 * and iteration agree with what a handler would have tracked with those two
 * events.
 *
 * broadcast() sends one message to every open connection of the route,
 * with a policy for slow consumers, so memory stays bounded per client
 * whatever the others do:
 * - the same bytes are queued to every client (a server does not mask, RFC
 *   6455 5.1): one buffer, no copy per client;
 * - a message that does not fit a client's send queue (the route's
 *   maxQueue) is skipped for that client and counted; the next message it
 *   takes logs how many it missed;
 * - a client whose queue has stayed too full to take a message for
 *   slowTimeout ms is failed with 1008 "too slow" (its queue is dropped at
 *   closeTimeout at the latest). One slow page never stalls the others, and
 *   the sender is never held back by a recipient. (ESPAsyncWebServer's
 *   AsyncWebSocket closes a client whose queue is full; its textAll() is
 *   this broadcast.)
 *
 * Memory: the route holds no entry per connection. Its connections are
 * found among the server's (each knows its route through the options it
 * was opened with), and a client is remembered only while it lags.
 */

import type { Log } from "modules/log";
import { type ConnectionRoute, OPEN, type OpenOptions, type SendData, type WebSocketConnection } from "websocket/connection";
import { CloseCode, type MessageType } from "websocket/constants";

/** A client whose queue could not take a broadcast: since when, and how many it missed. */
class Lag {
	since: number;
	skipped = 0;
	constructor(since: number) {
		this.since = since;
	}
}

export class WebSocketRoute implements ConnectionRoute {
	/** The path served (exact match, query ignored). */
	readonly path: string;
	/** @internal What each of the route's connections is opened with: one frozen object, which each connection keeps. */
	readonly open: Readonly<OpenOptions>;
	/** A client that could take no broadcast for this long (ms) is failed with 1008; 0: never. */
	readonly slowTimeout: number;
	/** Broadcast deliveries skipped, since start, because a client's queue was full. */
	skipped = 0;
	/** Connections from just before onOpen to just after onClose. */
	private members = 0;
	/** Every connection of the server (the server's own set), among which the route's are found. */
	private readonly connections: ReadonlySet<WebSocketConnection>;
	private readonly log: Log;
	/** Clients lagging behind the broadcasts, with their lag; made at the first one. */
	declare private lags: Map<WebSocketConnection, Lag> | undefined;

	/** @internal Made by the server's route(). */
	constructor(path: string, open: Omit<OpenOptions, "route">, slowTimeout: number, connections: ReadonlySet<WebSocketConnection>, log: Log) {
		this.path = path;
		this.slowTimeout = slowTimeout;
		this.connections = connections;
		this.log = log;
		this.open = Object.freeze({ ...open, route: this });
	}

	/** The route's connections: opened (onOpen) and not yet closed (onClose). */
	get count(): number {
		return this.members;
	}

	/** Clients whose queue could not take the last broadcast they were sent (remembered until they take one, or close). */
	get lagging(): number {
		return this.lags?.size ?? 0;
	}

	/**
	 * The route's connections, as count counts them; a CLOSING one among them
	 * takes no more messages. An array's iterator, not a generator: a
	 * generator method's prototype object cannot be frozen in a preloaded
	 * module (the XS linker warns), and the list is a few connections.
	 */
	[Symbol.iterator](): IterableIterator<WebSocketConnection> {
		const list: WebSocketConnection[] = [];
		for (const connection of this.connections) if (connection.route === this) list.push(connection);
		return list[Symbol.iterator]();
	}

	/**
	 * Send one message to every OPEN connection of the route but `except`
	 * (usually its sender): a string as UTF-8 (encoded once), bytes as they
	 * are, not copied (they must not change until written). Returns how many
	 * clients took it; a client whose queue was full skips it (see above).
	 */
	broadcast(type: MessageType, data: SendData, except?: WebSocketConnection): number {
		const bytes = typeof data === "string" ? ArrayBuffer.fromString(data) : data;
		let now = 0;
		let sent = 0;
		for (const client of this.connections) {
			if (client === except || client.route !== this || client.state !== OPEN) continue;
			const lag = this.lags?.get(client);
			if (client.sendMessage(type, bytes)) {
				sent++;
				if (lag) this.caughtUp(client, lag);
				continue;
			}
			this.skipped++;
			now ||= Date.now();
			if (!lag) {
				(this.lags ??= new Map()).set(client, new Lag(now)).get(client)!.skipped = 1;
				continue;
			}
			lag.skipped++;
			if (this.slowTimeout > 0 && now - lag.since >= this.slowTimeout) {
				this.log.warn(`Route ${this.path}: ${client.peer} took no message for ${now - lag.since} ms (${lag.skipped} skipped), dropping it`);
				this.forget(client);
				client.fail(CloseCode.POLICY_VIOLATION, "too slow");
			}
		}
		return sent;
	}

	/** A lagging client took a message again. */
	private caughtUp(client: WebSocketConnection, lag: Lag): void {
		this.log.warn(`Route ${this.path}: ${lag.skipped} messages skipped for ${client.peer}: its queue was full`);
		this.forget(client);
	}

	/** @internal From the server: a connection of the route is about to be opened. */
	opened(): void {
		this.members++;
	}

	/** @internal From the server: a connection of the route closed (before its handler's onClose). */
	closed(connection: WebSocketConnection): void {
		this.members--;
		this.forget(connection);
	}

	private forget(connection: WebSocketConnection): void {
		const lags = this.lags;
		if (lags?.delete(connection) && !lags.size) delete this.lags; // none lagging: no map, no slots for it
	}
}
