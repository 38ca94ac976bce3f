/*
 * WebSocket server (RFC 6455) on the ECMA-419 listener and TCP sockets: the
 * HTTP upgrade, path routing, limits and the upkeep of open connections; what
 * a connection is for is the handler of its route (app/ws-echo-server,
 * app/ws-broadcast, or an app's own).
 *
 * - Handshake (4.2): validateUpgradeRequest, then the server's own rules:
 *   a path no route serves gets 404, a route's access key when it has one
 *   (websocket/access: 401 without it, 429 while a wrong one's wait lasts),
 *   at most maxClients across all routes (503). Refusals get an HTTP response
 *   with a short text body; TCP closes once it is written.
 * - Beyond capacity: at most maxClients + 2 sockets are open at once. The 2
 *   spare ones read a newcomer's handshake and answer it 503 (or 401, 404…);
 *   a connection that arrives while every one of them is taken is closed at
 *   once, without an answer (the peer sees a reset or an end). So 8 clients
 *   connecting at once to a server of maxClients 4 get 4 served, 2 answered
 *   503 and 2 closed; one at a time, every client beyond 4 is answered 503.
 * - heartbeat: every N ms each client is pinged; one that did not pong since
 *   the previous ping is dropped (Close 1001, then TCP). This is how a peer
 *   that vanished without FIN or RST (out of WiFi range) loses its slot: a
 *   live client answers pings by itself (5.5.2; browsers do), however quiet
 *   it is, so unlike an idle timeout it never drops a page that is merely
 *   waiting.
 * - Dead peers: one timer per server, while it holds a socket, checks
 *   every connection each quietLimit ms (check(): the TCP connection's probe, tcp/connection), so
 *   a connection the platform went silent on (the simulator after an error
 *   it never reports) is found and frees its slot.
 * - lruPurge (ESP-IDF httpd's lru_purge_enable): a client beyond maxClients
 *   closes the client idle the longest (Close 1001) and takes its place,
 *   instead of being answered 503.
 * - Plain HTTP (get, post, put, delete; websocket/http-routes): a request
 *   that is not an upgrade, on a path with an HTTP route, is answered there
 *   (its body read within the route's maxBody, whole or handed over in
 *   pieces as read; 405 for a method the path has no route for) and TCP
 *   closes once the response is written; any
 *   other request is judged as an upgrade (404 for a path with no route,
 *   426 without Upgrade on a WebSocket path, 400 when malformed). Such a request is read within the same limits as a handshake (431,
 *   the sockets beyond maxClients, handshakeTimeout for the whole answer,
 *   dead peers) and holds no client slot; a body taken in pieces may take
 *   any time, but not handshakeTimeout without a byte, and its handler is
 *   told (onAbort) when the connection ends before the body is whole.
 * - Persistent connections (RFC 9112 9.3; httpKeepAlive): a reply stays on
 *   an open connection only when the request asked for it (HTTP/1.1 with a
 *   `Connection: keep-alive` token and no `close`, 9.6), its body was read
 *   whole (none left unread), the route made its reply (not a 500) and no
 *   earlier reply is still being written. The connection then goes back to
 *   waiting for a request head as a fresh one does: the same 431, the
 *   handshakeTimeout as its idle limit (said in `Keep-Alive: timeout=<s>`;
 *   a timeout under 1 s keeps none), a socket among the server's and no
 *   client slot; an upgrade on it opens a WebSocket. Bytes after the
 *   request (pipelined, 9.3.2) are read as the next request, answered in
 *   order; one whose reply is made while an earlier reply is still being
 *   written gets `Connection: close`, so at most two replies wait per
 *   connection. A newcomer that finds every socket taken closes the kept
 *   connection idle the longest, if one is (9.5), instead of being closed.
 */

import type TCP from "embedded:io/socket/tcp";
import { enroll } from "modules/census";
import { type AcceptTarget, TcpListener } from "modules/listener";
import { Log, peerName } from "modules/log";
import { repeatFor } from "modules/timer-target";
import type { TlsServerCredentials } from "modules/tls-credentials";
import { CloseCause } from "tcp/close-cause";
import { quietLimit } from "tcp/connection";
import Timer from "timer";
import { keyProblem, presentedKey, RetryGate, sameKey } from "websocket/access";
import { CONNECTING, type ConnectionOptions, type ConnectionOwner, OPEN, WebSocketEndpoint, type WebSocketHandler } from "websocket/connection";
import { CloseCode } from "websocket/constants";
import { FrameWriter } from "websocket/frame-writer";
import {
	acceptResponse,
	errorResponse,
	hasToken,
	type RequestHead,
	RequestHeadParser,
	rejectionResponse,
	selectProtocol,
	splitTarget,
	validateUpgradeRequest,
} from "websocket/handshake";
import {
	allowed,
	answer,
	BodyRequest,
	type HttpAnswer,
	type HttpBodyHandler,
	HttpError,
	type HttpHandler,
	type HttpMethod,
	type HttpRoute,
	type HttpRouteOptions,
	HttpRoutes,
	handlerAnswer,
	httpRequest,
	keepAliveLines,
	type PathRoutes,
	type PreparedRoute,
	refusal,
	routeFor,
	takesPieces,
} from "websocket/http-routes";
import { WebSocketRoute } from "websocket/route";

/** Read the handshake in pieces this small, so what follows the head is small too. */
const HANDSHAKE_READ = 1024;
/** Largest request head accepted (431 beyond). */
const MAX_HEAD = 2048;
/** Sockets kept beyond maxClients just to answer a handshake (503 when full); more are closed at once. */
const SPARE_SOCKETS = 2;
/** The default log: preloaded (a Log is frozen), no slot at run time. */
const serverLog = new Log("ws-server");

export interface WebSocketRouteOptions {
	/** Deliver messages in pieces (onMessageStart/Data/End) rather than whole (onMessage). Default false. */
	streaming?: boolean;
	/** Largest message accepted (1009 beyond); whole mode holds this much per connection. Default 65536. */
	maxMessage?: number;
	/** Largest frame payload sent: longer messages are fragmented into frames of this size. Default 0: no limit, a message is one frame. */
	sendBuffer?: number;
	/** Bytes a connection may hold to send; a send that does not fit is refused. Default 8192. */
	maxQueue?: number;
	/** Bytes read at most per read: what one read adds to memory. Default 1024. */
	readSize?: number;
	/** broadcast(): a client whose queue could take no message for this long (ms) is failed with 1008 "too slow"; 0 = never. Default 2000. */
	slowTimeout?: number;
	/** The access key this route needs ("" = none, even when the server has one). Default: the server's key. */
	key?: string;
}

export interface WebSocketServerOptions {
	/** TCP port; 0 = any (read `port` after start()). */
	port: number;
	/**
	 * WebSocket clients served at once, across all paths. Default 4. A client
	 * beyond them is answered 503 while at most 2 more sockets are reading
	 * handshakes; beyond those, a new connection is closed without an answer.
	 */
	maxClients?: number;
	/** A handshake must complete within this (ms). Default 5000. */
	handshakeTimeout?: number;
	/** Ping every client this often (ms) and drop those that did not pong since the last ping; 0 = off. Default 20000. */
	heartbeat?: number;
	/** Wait this long for the peer's Close, or for a closing connection's output to drain (ms). Default 3000. */
	closeTimeout?: number;
	/**
	 * An access key every route needs unless its own options say otherwise
	 * (websocket/access: presented as `Authorization: Bearer`, a `bearer.`
	 * subprotocol, or `?key=`; 401 without it, 429 while a peer that gave a
	 * wrong one waits). Letters, digits and `-._~`, 8 to 64. Default "" (none).
	 */
	key?: string;
	/** Subprotocols supported, preferred first; the first one the client offers is selected. Default none. */
	protocols?: string[];
	/** A client beyond maxClients closes the longest-idle client instead of being answered 503. Default false. */
	lruPurge?: boolean;
	/** Tag of the server's log lines. Default "ws-server". */
	logTag?: string;
	/**
	 * Serve wss:// (and HTTPS on the HTTP routes): every accepted connection
	 * runs a TLS server handshake with these credentials first
	 * (modules/tls-server-socket: TLS 1.2, RSA key exchange, an RSA
	 * certificate); modules/tls-credentials loadServerCredentials() reads
	 * them from resources or base64. A client that fails the handshake is
	 * closed and logged, as any connection that fails. Default none: ws://.
	 */
	tls?: TlsServerCredentials;
	/**
	 * Keep a plain HTTP request's connection open for the next request when
	 * it asks for it (HTTP/1.1, `Connection: keep-alive`; RFC 9112 9.3), for
	 * handshakeTimeout at most between a reply and the next request head.
	 * Default true.
	 */
	httpKeepAlive?: boolean;
}

type Settings = Required<Omit<WebSocketServerOptions, "tls">> & { tls: TlsServerCredentials | undefined };

/*
 * The server is the owner of all its connections (no object per connection
 * of its own: each would be slots on every connection): #peers holds every
 * accepted connection; those past the handshake that hold a client slot
 * are marked (connection.marked: a bit of the connection's, where a second
 * Set was 2 slots per connection) and counted in #clientCount; #heads
 * holds the request head being read, during the handshake only.
 */
export class WebSocketServer {
	// The hooks the library calls (the listener's accept, the connections'
	// received and closed) are TypeScript `private`, off the server's public
	// type. The listener and the connections get `hooks` instead of the
	// server: one object per server, of a class that implements their
	// interfaces (so a hook renamed on either side is a type error) and,
	// written inside this class, may call its private methods. Prototype
	// methods and one field: no closures, a few slots per server.
	private static readonly Hooks = class implements AcceptTarget, ConnectionOwner {
		constructor(readonly server: WebSocketServer) {}
		accept(from: TCP): void {
			this.server.accept(from);
		}
		received(connection: WebSocketEndpoint, chunk: ArrayBuffer): void {
			this.server.received(connection, chunk);
		}
		closed(connection: WebSocketEndpoint, cause: CloseCause, reason: string): void {
			this.server.closed(connection, cause, reason);
		}
		/** The server's timer (modules/timer-target). */
		fired(): void {
			this.server.tick();
		}
	};
	readonly options: Settings;
	readonly log: Log;
	private readonly hooks = new WebSocketServer.Hooks(this);
	private readonly webSocketRoutes: WebSocketRoute[] = [];
	/** Plain HTTP routes (get(), post(), put(), delete()). */
	private readonly httpRoutes = new HttpRoutes();
	/** Requests whose body is being read (whole, or in pieces: BodyRequest): made at the first, never more entries than sockets. */
	private bodies: Map<WebSocketEndpoint, PendingBody | BodyRequest> | undefined;
	private listener: TcpListener | undefined;
	/** One timer, while the server holds a socket: connection checks every quietLimit ms, and the heartbeat. */
	private timer: Timer | undefined;
	private nextBeat = 0;
	private readonly peers = new Set<WebSocketEndpoint>();
	private clientCount = 0;
	private readonly heads = new Map<WebSocketEndpoint, RequestHeadParser>();
	/** The largest send queue of any connection (ConnectionOptions.queueStats). */
	private readonly queueStats = { maxQueued: 0 };
	/**
	 * What every connection is made with: one object, which each keeps
	 * (ConnectionOptions), with one frame writer for them all, not one each:
	 * frames are built synchronously within one call, and the machine runs
	 * one call at a time.
	 */
	private readonly connectionOptions: ConnectionOptions;
	/** The access key of each route that needs one: made at the first. */
	private keys: Map<WebSocketRoute, string> | undefined;
	/** Peers that gave a wrong key, and how long they wait: made at the first wrong key. */
	private retryGate: RetryGate | undefined;
	/** The Connection lines of a reply that keeps its connection (one string for all), or undefined when none is kept. */
	private readonly keepAlive: string | undefined;
	/** Bytes read after a request whose connection was kept: the next request's, read by received()'s loop. */
	private pipelined: ArrayBuffer | undefined;
	/** Kept connections no byte of whose next request has come, oldest first: made at the first, dropped when empty. */
	private idle: Set<WebSocketEndpoint> | undefined;

	constructor(options: WebSocketServerOptions) {
		this.options = {
			port: options.port,
			maxClients: options.maxClients ?? 4,
			handshakeTimeout: options.handshakeTimeout ?? 5000,
			heartbeat: options.heartbeat ?? 20000,
			closeTimeout: options.closeTimeout ?? 3000,
			key: options.key ?? "",
			protocols: options.protocols ?? [],
			lruPurge: options.lruPurge ?? false,
			logTag: options.logTag ?? "ws-server",
			tls: options.tls,
			httpKeepAlive: options.httpKeepAlive ?? true,
		};
		// Keep-Alive says the idle limit in whole seconds, rounded down: a client stops using the connection before the server closes it.
		const idleSeconds = Math.floor(this.options.handshakeTimeout / 1000);
		this.keepAlive = this.options.httpKeepAlive && idleSeconds >= 1 ? keepAliveLines(idleSeconds) : undefined;
		this.log = this.options.logTag === serverLog.tag ? serverLog : new Log(this.options.logTag);
		this.connectionOptions = Object.freeze({
			role: "server",
			log: this.log,
			owner: this.hooks,
			closeTimeout: this.options.closeTimeout,
			readSize: HANDSHAKE_READ,
			writer: new FrameWriter({ role: "server" }),
			queueStats: this.queueStats,
		});
		enroll(this);
	}

	/**
	 * Serve WebSocket connections on `path` (exact match, query ignored) with
	 * handler. Before start(). A handler that cannot receive on the route (a
	 * streaming route and only onMessage, or a whole-message route and only
	 * onMessageData) gets a warning in the log: its messages are dropped.
	 * Returns the route: its connections (count, iteration) and broadcast().
	 */
	route(path: string, handler: WebSocketHandler, options: WebSocketRouteOptions = {}): WebSocketRoute {
		if (this.webSocketRoutes.some(route => route.path === path)) throw new Error(`path ${path} is already routed`);
		const key = options.key ?? this.options.key;
		const problem = key ? keyProblem(key) : undefined;
		if (problem) throw new Error(`route ${path}: ${problem}`);
		const deaf = deafness(handler, options.streaming ?? false);
		if (deaf) this.log.warn(`Route ${path}: ${deaf}`);
		const route = new WebSocketRoute(
			path,
			{
				role: "server",
				handler,
				streaming: options.streaming ?? false,
				maxMessage: options.maxMessage ?? 65536,
				sendBuffer: options.sendBuffer ?? 0,
				maxQueue: options.maxQueue ?? 8192,
				readSize: options.readSize ?? 1024,
			},
			options.slowTimeout ?? 2000,
			this.peers,
			this.log,
		);
		this.webSocketRoutes.push(route);
		if (key) (this.keys ??= new Map()).set(route, key);
		return route;
	}

	/**
	 * Answer plain HTTP GET and HEAD requests on `path` (exact, or with
	 * `:name` segments: request.params; query ignored) with a resource of the
	 * app or a handler (websocket/http-routes); a method the path has no
	 * route for gets 405. Before start(). A path may have both an HTTP route
	 * and a WebSocket route: upgrades go to the one, other requests to the
	 * other. Throws when the route's resource is not in the app.
	 */
	get(path: string, route: HttpRoute): this {
		return this.http("GET", path, route);
	}

	/**
	 * Answer POST on `path` with handler: a function given the body read whole,
	 * or an HttpBodyHandler given it in pieces as they are read; either way up
	 * to options.maxBody (default 1024; 413 beyond, judged from Content-Length).
	 */
	post(path: string, handler: HttpHandler | HttpBodyHandler, options?: HttpRouteOptions): this {
		return this.http("POST", path, handler, options);
	}

	/** Answer PUT on `path`, as post(). */
	put(path: string, handler: HttpHandler | HttpBodyHandler, options?: HttpRouteOptions): this {
		return this.http("PUT", path, handler, options);
	}

	/** Answer DELETE on `path`, as post(). */
	delete(path: string, handler: HttpHandler | HttpBodyHandler, options?: HttpRouteOptions): this {
		return this.http("DELETE", path, handler, options);
	}

	/** Answer `method` on `path` (get(), post(), put(), delete() are this). Before start(). */
	http(method: HttpMethod, path: string, route: HttpRoute, options?: HttpRouteOptions): this {
		if (this.listener) throw new Error("HTTP routes are added before start()");
		this.httpRoutes.add(method, path, route, options);
		return this;
	}

	/** The port actually listened on (differs from the option when it was 0). */
	get port(): number {
		return this.listener?.port ?? this.options.port;
	}

	/** WebSocket clients connected (past the handshake, not yet closed). */
	get clients(): number {
		return this.clientCount;
	}

	/** Sockets the server holds: clients, handshakes and plain HTTP requests being read or answered, connections closing. */
	get sockets(): number {
		return this.peers.size;
	}

	/** Request heads being read (a socket before its handshake is answered). */
	get handshakes(): number {
		return this.heads.size;
	}

	/** The WebSocket routes, in the order they were made. */
	get routes(): readonly WebSocketRoute[] {
		return this.webSocketRoutes;
	}

	/** Largest send queue any connection held, in bytes (diagnostics: memory stays bounded). */
	get maxQueued(): number {
		return this.queueStats.maxQueued;
	}

	start(): void {
		if (this.listener) throw new Error("already started");
		if (!this.webSocketRoutes.length && !this.httpRoutes.size) throw new Error("no route: call route(path, handler) or get(path, route) before start()");
		this.listener = new TcpListener({ port: this.options.port, target: this.hooks, log: this.log });
		const { heartbeat, lruPurge, maxClients } = this.options;
		this.log.info(
			`WebSocket server listening on port ${this.port}${this.options.tls ? " (TLS)" : ""}, ${this.webSocketRoutes.map(r => r.path).join(", ")}, ` +
				`${maxClients} clients at once${heartbeat > 0 ? `, heartbeat ${heartbeat} ms` : ""}${lruPurge ? ", longest-idle purged when full" : ""}`,
		);
	}

	/** Stop listening; clients get Close 1001 "going away" and closeTimeout to answer it. */
	close(): void {
		const listener = this.listener;
		if (!listener) return;
		this.listener = undefined;
		if (this.timer) Timer.clear(this.timer);
		this.timer = undefined;
		listener.close();
		this.log.info(`WebSocket server closing, ${this.clientCount} clients`);
		for (const connection of [...this.peers]) {
			try {
				connection.close(CloseCode.GOING_AWAY, "going away");
			} catch (e) {
				this.log.error(`closing ${connection.peer}: ${(e as Error).message}`);
			}
		}
	}

	/** From the listener: a new socket. */
	private accept(from: TCP): void {
		if (this.peers.size >= this.options.maxClients + SPARE_SOCKETS && !this.closeIdle()) {
			const peer = peerName(from.remoteAddress, from.remotePort);
			from.close();
			this.log.warn(`Connection refused from ${peer}: ${this.peers.size} connections open`);
			return;
		}
		const tls = this.options.tls;
		const connection = new WebSocketEndpoint(tls ? { from, tls } : { from }, this.connectionOptions);
		this.peers.add(connection);
		if (!this.timer) {
			// The first socket: the checks and the heartbeat start (none run while the server holds none).
			const heartbeat = this.options.heartbeat;
			this.nextBeat = heartbeat > 0 ? Date.now() + heartbeat : Infinity;
			this.timer = repeatFor(this.hooks, heartbeat > 0 ? Math.min(quietLimit, heartbeat) : quietLimit);
		}
		this.heads.set(connection, new RequestHeadParser(MAX_HEAD));
		connection.deadline(this.options.handshakeTimeout, CloseCause.TIMEOUT, "handshake timeout");
	}

	/**
	 * From a connection (ConnectionOwner): bytes of the request head, or of an
	 * HTTP request's body. Bytes after a request whose connection was kept are
	 * the next request's (pipelined, RFC 9112 9.3.2): read in this loop, one
	 * request after the other, not by a call per request.
	 */
	private received(connection: WebSocketEndpoint, chunk: ArrayBuffer): void {
		if (this.idle) this.busy(connection);
		for (let bytes: ArrayBuffer | undefined = chunk; bytes; ) {
			this.read(connection, bytes);
			bytes = this.pipelined;
			this.pipelined = undefined;
		}
	}

	private read(connection: WebSocketEndpoint, chunk: ArrayBuffer): void {
		const pending = this.bodies?.get(connection);
		if (pending instanceof BodyRequest) return this.bodyPiece(connection, pending, chunk);
		if (pending) return this.bodyBytes(connection, pending, chunk);
		const parser = this.heads.get(connection);
		if (!parser?.feed(chunk)) return;
		this.heads.delete(connection);
		this.upgrade(connection, parser);
	}

	/** The request head is complete: route, check, answer. */
	private upgrade(connection: WebSocketEndpoint, parser: RequestHeadParser): void {
		if (parser.error) return this.refuse(connection, parser.error.status, rejectionResponse(parser.error), parser.error.message);
		const routes = this.webSocketRoutes;
		const target = parser.head!.target;
		const question = target.indexOf("?");
		const path = question < 0 ? target : target.slice(0, question);
		const found = routes.find(r => r.path === path);
		if (!hasToken(parser.head!.headers.get("upgrade"), "websocket")) {
			// Plain HTTP on a path with an HTTP route; anything else is judged as an upgrade (below): 404 for
			// another path, 426 without Upgrade on a WebSocket path, 400 for what is malformed.
			const http = this.httpRoutes.match(splitTarget(target)?.path ?? path);
			if (http) return this.request(connection, http.routes, http.params, parser, path);
		}
		if (!routes.length) return this.refuse(connection, 404, errorResponse(404, `nothing at ${path}`), "no WebSocket route");
		// No route for the path: validate against the first, so a malformed request still gets its 400 before a 404.
		const route = found ?? routes[0];
		const request = validateUpgradeRequest(parser.head!, { path: route.path });
		if (!request.ok) return this.refuse(connection, request.status, rejectionResponse(request), request.message);
		const settings = this.options;
		let keyProtocol: string | undefined;
		const key = found && this.keys?.get(found);
		if (key) {
			const address = connection.peer.slice(0, connection.peer.lastIndexOf(":"));
			const gate = (this.retryGate ??= new RetryGate());
			const now = Date.now();
			const wait = gate.wait(address, now);
			if (wait)
				return this.refuse(
					connection,
					429,
					errorResponse(429, "wrong key: try again later", [["Retry-After", String(Math.ceil(wait / 1000))]]),
					"wrong key given lately",
				);
			const presented = presentedKey(parser.head!, request.protocols, request.query);
			if (!presented) return this.refuse(connection, 401, errorResponse(401, "this route needs a key", [["WWW-Authenticate", "Bearer"]]), "no key");
			if (!sameKey(presented.key, key)) {
				gate.failed(address, now);
				return this.refuse(connection, 401, errorResponse(401, "wrong key", [["WWW-Authenticate", "Bearer"]]), "wrong key");
			}
			gate.passed(address);
			keyProtocol = presented.protocol;
		}
		if (this.clientCount >= settings.maxClients && !this.purge(connection.peer))
			return this.refuse(connection, 503, errorResponse(503, "too many clients"), `${settings.maxClients} clients already connected`);
		const protocol = selectProtocol(request.protocols, settings.protocols);
		// A browser fails a handshake whose offered protocols got no answer: a key offered as one is answered when no other is chosen.
		connection.sendRaw(ArrayBuffer.fromString(acceptResponse(request.key, protocol ?? keyProtocol)));
		connection.marked = true;
		this.clientCount++;
		this.log.info(`Handshake done, peer ${connection.peer}, path ${request.path}${protocol ? `, protocol ${protocol}` : ""}`);
		// The route's own object, shared; a copy of it only for a connection with a subprotocol.
		route.opened();
		connection.open(protocol === undefined ? route.open : { ...route.open, protocol });
		if (parser.rest && connection.state === OPEN) connection.received(parser.rest);
	}

	/**
	 * A plain HTTP request on a routed path: its method's route, its body read
	 * within the route's maxBody (judged from Content-Length first), then
	 * answered; TCP closes once the response is written.
	 */
	private request(connection: WebSocketEndpoint, routes: PathRoutes, params: Record<string, string>, parser: RequestHeadParser, path: string): void {
		const head = parser.head!;
		// HTTP/1.1 needs one Host (RFC 7230 5.4); repeated headers arrive joined with ", ".
		const host = head.headers.get("host");
		if (Number(head.version) >= 1.1 && (!host || host.includes(",")))
			return this.refuse(connection, 400, errorResponse(400, host ? "more than one Host header" : "missing Host header"), "bad Host");
		const route = routeFor(routes, head.method);
		const declared = head.headers.get("content-length");
		if (!route) {
			// Kept only when there is no body to leave unread (RFC 9112 9.3: the next request starts where this one ends).
			const keep = (declared === undefined || declared === "0") && head.headers.get("transfer-encoding") === undefined && this.keeps(connection, head);
			const refused = refusal(405, `${head.method} is not allowed here: ${allowed(routes)}`, [["Allow", allowed(routes)]], keep ? this.keepAlive : undefined);
			return this.reply(connection, head, path, refused, keep, parser.rest);
		}
		// A body has a Content-Length here: chunked transfer coding is not read (RFC 9112 6.3: 411 asks for a length).
		if (head.headers.get("transfer-encoding") !== undefined) return this.reply(connection, head, path, refusal(411, "send the body with a Content-Length"));
		const length = declared === undefined ? 0 : Number(declared);
		if (!(length >= 0) || !Number.isInteger(length) || (declared !== undefined && !isDigits(declared)))
			return this.reply(connection, head, path, refusal(400, "malformed Content-Length"));
		if (length > route.maxBody)
			return this.reply(connection, head, path, refusal(413, `the body is ${length} bytes; this route takes ${route.maxBody} at most`));
		if (takesPieces(route.route)) return this.startBody(connection, new BodyRequest(head, route, params, length), parser.rest);
		const pending: PendingBody = { route, head, params, path, body: new Uint8Array(length), filled: 0 };
		if (!length) return this.answer(connection, pending, parser.rest);
		(this.bodies ??= new Map()).set(connection, pending);
		if (parser.rest) this.bodyBytes(connection, pending, parser.rest);
	}

	/** Bytes of a request's body; answered once it is whole. Bytes beyond it are the next request's (read when the connection is kept). */
	private bodyBytes(connection: WebSocketEndpoint, pending: PendingBody, chunk: ArrayBuffer): void {
		const body = pending.body;
		const count = Math.min(chunk.byteLength, body.byteLength - pending.filled);
		body.set(new Uint8Array(chunk, 0, count), pending.filled);
		pending.filled += count;
		if (pending.filled < body.byteLength) return;
		this.forget(connection);
		this.answer(connection, pending, count < chunk.byteLength ? chunk.slice(count) : undefined);
	}

	/**
	 * A body taken in pieces (an HttpBodyHandler's): onBodyStart, then the
	 * pieces as they come. Its whole-answer deadline becomes an idle limit:
	 * a body may take any time, but not handshakeTimeout without a byte.
	 */
	private startBody(connection: WebSocketEndpoint, request: BodyRequest, rest: ArrayBuffer | undefined): void {
		try {
			request.handler.onBodyStart?.(request);
		} catch (e) {
			return this.failed(connection, request, e);
		}
		if (!request.length) return this.endBody(connection, request, rest);
		(this.bodies ??= new Map()).set(connection, request);
		this.stalled(connection, request, Date.now());
		if (rest) this.bodyPiece(connection, request, rest);
	}

	/** Bytes of a body taken in pieces: the body's part of them handed on, as a view; the rest, the next request's. */
	private bodyPiece(connection: WebSocketEndpoint, request: BodyRequest, chunk: ArrayBuffer): void {
		const count = Math.min(chunk.byteLength, request.length - request.received);
		request.received += count;
		const last = request.received === request.length;
		try {
			request.handler.onBodyData(request, new Uint8Array(chunk, 0, count), last);
		} catch (e) {
			this.forget(connection);
			return this.failed(connection, request, e);
		}
		if (!last) {
			const now = Date.now();
			// Re-armed once half the limit has passed, not at every piece: a stall is found within one to one and a half limits.
			if (now - request.armed >= this.options.handshakeTimeout / 2) this.stalled(connection, request, now);
			return;
		}
		this.forget(connection);
		this.endBody(connection, request, count < chunk.byteLength ? chunk.slice(count) : undefined);
	}

	private stalled(connection: WebSocketEndpoint, request: BodyRequest, now: number): void {
		request.armed = now;
		connection.deadline(this.options.handshakeTimeout, CloseCause.TIMEOUT, "request body stalled");
	}

	/** The body taken in pieces is whole: onBodyEnd's answer (HttpError: its status; another error: 500, closed). */
	private endBody(connection: WebSocketEndpoint, request: BodyRequest, rest: ArrayBuffer | undefined): void {
		const head = request.head;
		const keep = this.keeps(connection, head);
		let reply: HttpAnswer;
		try {
			reply = handlerAnswer(request.handler.onBodyEnd(request), head.method, keep ? this.keepAlive : undefined);
		} catch (e) {
			if (!(e instanceof HttpError)) return this.failed(connection, request, e);
			reply = refusal(e.status, e.message, [], keep ? this.keepAlive : undefined);
		}
		// (#reply arms the next deadline: the idle limit when kept, closeTimeout otherwise)
		this.reply(connection, head, request.path, reply, keep, rest);
	}

	/** A body handler threw: its HttpError's status, or 500 (logged); the connection closes, the rest of the body unread. */
	private failed(connection: WebSocketEndpoint, request: BodyRequest, e: unknown): void {
		let reply: HttpAnswer;
		if (e instanceof HttpError) reply = refusal(e.status, e.message);
		else {
			this.log.error(`HTTP ${request.method} ${request.path}, peer ${connection.peer}: ${(e as Error).message}`);
			reply = { status: 500, head: errorResponse(500, "the route failed") };
		}
		this.reply(connection, request.head, request.path, reply);
	}

	private forget(connection: WebSocketEndpoint): void {
		const bodies = this.bodies;
		if (bodies?.delete(connection) && !bodies.size) this.bodies = undefined;
	}

	/**
	 * A whole request (its body read): answered by its route. A handler that throws gets 500, logged, and
	 * the connection closes (HttpError: its own status). rest: bytes read after the request.
	 */
	private answer(connection: WebSocketEndpoint, pending: PendingBody, rest: ArrayBuffer | undefined): void {
		const { head, path } = pending;
		let keep = this.keeps(connection, head);
		let reply: HttpAnswer;
		try {
			reply = answer(pending.route, httpRequest(head, pending.params, pending.body.buffer as ArrayBuffer), keep ? this.keepAlive : undefined);
		} catch (e) {
			this.log.error(`HTTP ${head.method} ${path}, peer ${connection.peer}: ${(e as Error).message}`);
			const text = errorResponse(500, "the route failed");
			reply = { status: 500, head: text };
			keep = false;
		}
		this.reply(connection, head, path, reply, keep, rest);
	}

	/**
	 * Whether the reply to `head` keeps its connection (RFC 9112 9.3): the
	 * server keeps connections, is not closing, the request is HTTP/1.1 and
	 * asked for it with a `keep-alive` token in Connection and no `close`
	 * (9.6), and no earlier reply is still being written (so at most two
	 * wait per connection: this one, which closes it, and that one). The
	 * caller knows whether a body is left unread.
	 */
	private keeps(connection: WebSocketEndpoint, head: RequestHead): boolean {
		if (!this.keepAlive || !this.listener || head.version !== "1.1" || connection.bufferedAmount) return false;
		const tokens = head.headers.get("connection");
		return hasToken(tokens, "keep-alive") && !hasToken(tokens, "close");
	}

	/**
	 * Send the reply; then TCP closes once it is written, or, kept, the
	 * connection waits for its next request head as a fresh one does (the
	 * same head limit, handshakeTimeout its idle limit), and `rest`, bytes
	 * read after this request, begin it.
	 */
	private reply(connection: WebSocketEndpoint, head: RequestHead, path: string, reply: HttpAnswer, keep = false, rest?: ArrayBuffer): void {
		this.log.info(
			`HTTP ${head.method} ${path} ${reply.status}, peer ${connection.peer}${reply.body ? `, ${reply.body.byteLength} bytes` : ""}${keep ? ", kept" : ""}`,
		);
		connection.respond(reply.head, reply.body, `answered ${reply.status}`, keep);
		if (!keep || connection.state !== CONNECTING) return; // (a write that found the peer gone closes it)
		this.heads.set(connection, new RequestHeadParser(MAX_HEAD));
		connection.deadline(this.options.handshakeTimeout, CloseCause.IDLE, "keep-alive idle limit");
		if (rest) this.pipelined = rest;
		else (this.idle ??= new Set()).add(connection);
	}

	/** The connection is no longer an idle kept one (bytes came, or it closed). */
	private busy(connection: WebSocketEndpoint): void {
		const idle = this.idle;
		if (idle?.delete(connection) && !idle.size) this.idle = undefined;
	}

	/**
	 * Every socket is taken: close the kept connection idle the longest, if
	 * one is (its reply written, no byte of a next request come), so that a
	 * newcomer is served rather than closed unanswered. A server may close
	 * an idle connection at any time (RFC 9112 9.5); the client opens
	 * another for its next request.
	 */
	private closeIdle(): boolean {
		const idle = this.idle;
		if (!idle) return false;
		for (const connection of idle) {
			if (connection.bufferedAmount) continue; // its reply is still being written
			this.log.info(`Closing ${connection.peer}, a kept HTTP connection waiting idle, to serve a newcomer`);
			connection.destroy(CloseCause.PURGED, "idle kept connection closed for a newcomer");
			return true;
		}
		return false;
	}

	private refuse(connection: WebSocketEndpoint, status: number, response: string, cause: string): void {
		this.log.warn(`Handshake refused, peer ${connection.peer}: ${status} ${cause}`);
		connection.refuse(response, `refused ${status}`); // not open: no Close frame, TCP closes once the response is out
	}

	/** From a connection (ConnectionOwner): TCP closed, before its handler's onClose. */
	private closed(connection: WebSocketEndpoint, cause: CloseCause, reason: string): void {
		// The connection shows its route as a ConnectionRoute: the server's own object for it is among its routes.
		const opened = connection.route;
		if (opened) this.webSocketRoutes.find(route => route === opened)?.closed(connection);
		this.heads.delete(connection);
		const pending = this.bodies?.get(connection);
		this.forget(connection);
		if (pending instanceof BodyRequest) this.aborted(connection, pending, cause, reason);
		this.busy(connection);
		this.release(connection);
		this.peers.delete(connection);
		if (!this.peers.size && this.timer) {
			Timer.clear(this.timer);
			this.timer = undefined;
		}
	}

	/** A body taken in pieces ended unfinished: its handler is told (no answer goes). */
	private aborted(connection: WebSocketEndpoint, request: BodyRequest, cause: CloseCause, reason: string): void {
		const handler = request.handler;
		const line = `HTTP ${request.method} ${request.path}, peer ${connection.peer}: body ended after ${request.received} of ${request.length} bytes (${reason})`;
		// One warning per abort: the route's onAbort, where it has one, is the one to say it.
		if (handler.onAbort) this.log.debug(line);
		else this.log.warn(line);
		try {
			handler.onAbort?.(request, cause, reason);
		} catch (e) {
			this.log.error(`onAbort of HTTP ${request.method} ${request.path}: ${(e as Error).message}`);
		}
	}

	/** The connection no longer holds a client slot. */
	private release(connection: WebSocketEndpoint): void {
		if (connection.marked) {
			connection.marked = false;
			this.clientCount--;
		}
	}

	private tick(): void {
		const now = Date.now();
		const beat = now >= this.nextBeat;
		if (beat) this.nextBeat = now + this.options.heartbeat;
		for (const connection of [...this.peers]) {
			try {
				connection.check(now);
				if (beat && connection.state === OPEN) this.heartbeat(connection, now);
			} catch (e) {
				this.log.error(`checking ${connection.peer}: ${(e as Error).message}`);
			}
		}
	}

	private heartbeat(connection: WebSocketEndpoint, now: number): void {
		if (connection.pingOutstanding) {
			// A Ping sent since the previous beat (the app's own: connection.ping()) may have its Pong on the way:
			// the peer is judged at the next beat, a whole heartbeat after it.
			if (now - connection.pingSentAt < this.options.heartbeat) return;
			// A peer that answers no ping will not answer a Close either: say 1001 if
			// the budget allows, and free the slot now rather than after closeTimeout.
			this.log.warn(`No pong from ${connection.peer} since the last ping`);
			connection.abandon(CloseCode.GOING_AWAY, "ping timeout", CloseCause.TIMEOUT);
			return;
		}
		connection.ping();
	}

	private purge(newcomer: string): boolean {
		if (!this.options.lruPurge) return false;
		let idlest: WebSocketEndpoint | undefined;
		for (const connection of this.peers)
			if (connection.marked && connection.state === OPEN && (!idlest || connection.lastActivity < idlest.lastActivity)) idlest = connection;
		if (!idlest) return false;
		this.log.info(`Purging ${idlest.peer}, idle for ${Date.now() - idlest.lastActivity} ms, to serve ${newcomer}`);
		// Make room: Close 1001, and the slot counts as free at once.
		this.release(idlest);
		idlest.fail(CloseCode.GOING_AWAY, "server full", CloseCause.PURGED); // Close 1001, then TCP closes once it is written: its slot is free now
		return true;
	}
}

/** Why handler receives no message on a route delivering them whole or streaming, or undefined when it does. */
export function deafness(handler: WebSocketHandler, streaming: boolean): string | undefined {
	if (streaming && !handler.onMessageData && handler.onMessage)
		return "messages stream (onMessageStart, onMessageData, onMessageEnd) but the handler has onMessage only: it receives no data (set streaming: false)";
	if (!streaming && !handler.onMessage && (handler.onMessageData || handler.onMessageStart))
		return "messages come whole (onMessage) but the handler has only streaming events: it receives nothing (set streaming: true)";
	return undefined;
}

/** An HTTP request whose body is being read. */
interface PendingBody {
	route: PreparedRoute;
	head: RequestHead;
	params: Record<string, string>;
	/** The path, for the log. */
	path: string;
	body: Uint8Array;
	filled: number;
}

/** Whether text is one or more ASCII digits (a Content-Length, RFC 9110 8.6): no regular expression on the device. */
function isDigits(text: string): boolean {
	if (!text.length) return false;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (c < 48 || c > 57) return false;
	}
	return true;
}
