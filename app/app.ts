/*
 * The boot sequence: configuration → WiFi → address → services.
 *
 * Services start only once the station has an address, all or none: if one
 * fails to start, those already started are stopped again and the cause is
 * logged. When they are all up the app logs one line, `services up {…}`,
 * with what it serves; the harness waits for that line before it talks to
 * the device.
 *
 * Credentials come from, in order: mcconfig arguments or the manifest
 * `config` block; credentials saved on the device; otherwise the
 * provisioning portal (wifi/provisioning) asks for them. Before the device
 * has ever had an address, a station that used up its quick retries (a
 * wrong password, a network that is not there) opens the portal too, while
 * it keeps trying in the background: bad credentials lead back to
 * provisioning, never to a dead device.
 *
 * When the link drops, servers keep listening (they are bound to every
 * interface and serve again as soon as the address is back) and clients
 * pause: they stop connecting while there is no link, and start afresh
 * when the station has an address again.
 *
 * All of the WiFi above is wifi/network's joinNetwork, which any app can
 * use; this app gives it its own validated configuration (app/config) and
 * its stop/start pair: stop pauses the clients, start starts every service
 * the first time and resumes the clients after.
 */

import { config, configProblems, configWarnings } from "app/config";
import { parseServerList } from "app/config-schema";
import type { ServiceEndpoints } from "app/endpoints";
import { exposure } from "app/exposure";
import { HttpUpload, MAX_PIECES_BODY } from "app/http-upload";
import { macAddress } from "app/mac-address";
import { SdkWebSocketEchoServer } from "app/sdk-echo-server";
import {
	ClockService,
	MdnsAnnouncer,
	SdkWebSocketService,
	type Service,
	TcpEchoClientService,
	TcpEchoService,
	UdpEchoService,
	WebSocketClientService,
	WebSocketService,
} from "app/services";
import { echoClient } from "app/tcp-echo-client";
import { echoServer } from "app/tcp-echo-server";
import { udpEchoServer } from "app/udp-echo-server";
import { WebSocketBroadcast } from "app/ws-broadcast";
import { WebSocketClientSession } from "app/ws-client-session";
import { WebSocketEcho } from "app/ws-echo-server";
import { WebSocketLog } from "app/ws-log";
import { Log } from "modules/log";
import { loadCa } from "modules/secure-socket";
import { loadServerCredentials } from "modules/tls-credentials";
import { SntpClient } from "sntp/client";
import { type HttpResponse, json } from "websocket/http-routes";
import { WebSocketServer } from "websocket/server";
import type { PreferenceStore } from "wifi/credentials";
import { Network, type NetworkOptions } from "wifi/network";
import type { StationOptions } from "wifi/station";

const log = new Log("app");

export class App {
	/**
	 * What the network calls (NetworkOptions): the app's link up and down, and
	 * the station's and the portal's settings, read from the configuration
	 * when the network asks. Prototype methods and two fields, no closures.
	 */
	private static readonly Link = class implements NetworkOptions {
		constructor(
			readonly app: App,
			readonly preferences: PreferenceStore,
		) {}
		get station(): Partial<StationOptions> {
			return {
				ssid: config.ssid,
				password: config.password,
				retries: config.wifiRetries,
				retryDelay: config.wifiRetryDelay,
				backoffMax: config.wifiBackoffMax,
				connectTimeout: config.wifiConnectTimeout,
			};
		}
		get portal(): NetworkOptions["portal"] {
			return { ssid: config.provisionSsid, password: config.provisionPassword, code: config.provisionCode, port: config.provisionPort };
		}
		get forget(): boolean {
			return config.wifiForget;
		}
		get log(): Log {
			return log;
		}
		start(address: string): void {
			this.app.linkUp(address);
		}
		stop(reason: string): void {
			this.app.linkDown(reason);
		}
	};
	readonly network: Network;
	readonly services: Service[] = [];
	/** The device's MAC address, where the platform gives one (app/mac-address): read when the services start. */
	mac: string | undefined;
	private started = false;

	/** `preferences`: Moddable's `preference` module, imported by main (see wifi/credentials for why not here). */
	constructor(preferences: PreferenceStore) {
		this.network = new Network(new App.Link(this, preferences));
		if (configProblems.length) return; // start() says what is wrong; nothing is built on an invalid configuration
		// Each service is built inside a guard of its own: one whose options its
		// constructor refuses is logged and left out, and never aborts the app.
		// The clock first: the TLS clients judge certificate dates against it.
		this.build("SNTP client", config.sntpServers.trim() !== "", () => {
			const client = new SntpClient({
				servers: parseServerList(config.sntpServers, 123),
				interval: config.sntpInterval,
				retryDelay: config.sntpRetryDelay,
				retryMaxDelay: config.sntpRetryMaxDelay,
			});
			return new ClockService(client);
		});
		this.build("TCP echo server", config.tcpServer, () => {
			const server = echoServer({
				port: config.tcpPort,
				maxClients: config.tcpMaxClients,
				backlog: config.tcpBacklog,
				idleTimeout: config.tcpIdleTimeout,
				chunk: config.tcpChunk,
				lruPurge: config.tcpLruPurge,
			});
			return new TcpEchoService(server);
		});
		this.build("UDP echo server", config.udpServer, () => new UdpEchoService(udpEchoServer({ port: config.udpPort })));
		this.build("WebSocket echo server (SDK websocket module)", config.wsServer && config.wsImpl === "sdk", () => {
			return new SdkWebSocketService(new SdkWebSocketEchoServer({ port: config.wsPort, path: config.wsPath, maxClients: config.wsMaxClients }));
		});
		this.build("WebSocket echo server", config.wsServer && config.wsImpl === "ours", () => {
			// One server, one port: the echo on wsPath and, when configured, the broadcast on wsBroadcastPath.
			const server = new WebSocketServer({
				port: config.wsPort,
				maxClients: config.wsMaxClients,
				handshakeTimeout: config.wsHandshakeTimeout,
				heartbeat: config.wsHeartbeat,
				protocols: config.wsProtocols
					? config.wsProtocols
							.split(",")
							.map(p => p.trim())
							.filter(Boolean)
					: [],
				lruPurge: config.wsLruPurge,
				tls: config.wsTls ? loadServerCredentials(config.wsTlsCertificate, config.wsTlsKey) : undefined,
			});
			server.route(config.wsPath, new WebSocketEcho(server.log), WebSocketEcho.routeOptions);
			if (config.wsBroadcastPath) {
				const broadcast = new WebSocketBroadcast({
					maxMessage: config.wsBroadcastMaxMessage,
					maxQueue: config.wsBroadcastQueue,
					slowTimeout: config.wsBroadcastSlowTimeout,
					log: server.log,
				});
				server.route(config.wsBroadcastPath, broadcast, { ...broadcast.routeOptions, key: config.wsKey });
			}
			if (config.wsLogPath) {
				const follow = new WebSocketLog({ log: server.log });
				server.route(config.wsLogPath, follow, { ...follow.routeOptions, key: config.wsKey });
			}
			if (config.httpPage) {
				// The device's own page (app/page): it opens the broadcast route, else the echo, and shows what comes.
				server.get("/", { resource: "index.html", gzip: "index.html.gz", type: "text/html; charset=utf-8" });
				server.get("/routes.json", routesJson);
			}
			if (config.httpUpload) {
				// Routes that take a body (app/http-upload): made only when asked for, nothing held until a body comes.
				const upload = new HttpUpload(server.log);
				server.post("/upload", upload, { maxBody: MAX_PIECES_BODY });
				server.put("/upload", request => upload.whole(request));
				server.delete("/upload", () => json({ deleted: true }));
			}
			return new WebSocketService(server);
		});
		this.build("WebSocket client", config.wsClient, () => {
			const session = new WebSocketClientSession({
				uri: config.wsClientUri,
				helloCount: config.wsClientHelloCount,
				helloInterval: config.wsClientHelloInterval,
				noDataTimeout: config.wsClientNoDataTimeout,
				maxMessage: config.wsClientMaxMessage,
				sendBuffer: config.wsClientSendBuffer,
				pingInterval: config.wsClientPingInterval,
				pongTimeout: config.wsClientPongTimeout,
				networkTimeout: config.wsClientNetworkTimeout,
				reconnect: { initialDelay: config.wsClientRetryDelay, maxDelay: config.wsClientRetryMaxDelay },
				ca: config.wsClientCa ? loadCa(config.wsClientCa) : undefined,
				clockWait: config.tlsClockWait,
			});
			return new WebSocketClientService(session);
		});
		this.build("TCP echo client", config.tcpClient, () => {
			const client = echoClient({
				host: config.tcpClientHost,
				port: config.tcpClientPort,
				connectTimeout: config.tcpClientConnectTimeout,
				retryDelay: config.tcpClientRetryDelay,
				retryMaxDelay: config.tcpClientRetryMaxDelay,
				maxAttempts: config.tcpClientMaxAttempts,
				idleTimeout: config.tcpIdleTimeout,
				chunk: config.tcpChunk,
				tls: config.tcpClientTls ? { serverName: config.tcpClientHost, ca: loadCa(config.tcpClientCa) } : undefined,
				clockWait: config.tlsClockWait,
			});
			return new TcpEchoClientService(client);
		});
		// Last: it announces what the others serve, once they are up.
		this.build("mDNS responder", config.mdns, () => new MdnsAnnouncer());
	}

	/** Build one service inside its own guard: a constructor that throws leaves that service out, logged, and never aborts the app. */
	private build(name: string, enabled: boolean, build: () => Service): void {
		if (!enabled) return;
		try {
			this.services.push(build());
		} catch (e) {
			log.error(`${name} not created: ${(e as Error).message}`);
		}
	}

	start(): void {
		log.info(`xs-netkit device app starting${config.buildId ? `, build ${config.buildId}` : ""}`);
		if (configProblems.length) {
			for (const problem of configProblems) log.error(`config key "${problem.key}": ${problem.message}`);
			log.error("configuration is invalid: nothing started");
			return;
		}
		for (const warning of configWarnings) log.warn(`config: ${warning}`);
		this.network.join();
	}

	private linkUp(address: string): void {
		if (!this.started) {
			this.startServices(address);
			return;
		}
		for (const service of this.services) {
			if (service.resume) {
				log.info(`link is back (${address}): resuming ${service.name}`);
				service.resume(address);
			}
		}
	}

	private linkDown(reason: string): void {
		for (const service of this.services) {
			if (service.pause) {
				log.info(`link is down (${reason}): pausing ${service.name}`);
				service.pause();
			}
		}
	}

	private startServices(address: string): void {
		this.mac ??= macAddress(); // once the station is up: on esp32 its interface exists only then
		const endpoints: ServiceEndpoints = this.mac ? { address, mac: this.mac } : { address };
		const started: Service[] = [];
		for (const service of this.services) {
			try {
				service.start(endpoints);
				started.push(service);
			} catch (e) {
				log.error(`${service.name} failed to start: ${(e as Error).message}; stopping the others, nothing is served`);
				for (const other of started) {
					try {
						other.stop();
					} catch {
						// it is being stopped anyway
					}
				}
				return;
			}
		}
		this.started = true;
		const exposed = exposure(endpoints, config);
		for (const line of exposed.listening) log.info(line);
		for (const warning of exposed.warnings) log.warn(warning);
		log.info(`services up ${JSON.stringify(endpoints)}`);
	}
}

/**
 * GET /routes.json: what the page opens, and what the device says about
 * itself (the harness's fleet rows read it too). Made at each request, so
 * nothing of it is held while nobody asks.
 */
function routesJson(): HttpResponse {
	return {
		type: "application/json",
		body: JSON.stringify({
			name: config.mdns ? `${config.hostname}.local` : config.hostname,
			echo: config.wsPath,
			broadcast: config.wsBroadcastPath || undefined,
			log: config.wsLogPath || undefined,
			keyed: config.wsKey ? [config.wsBroadcastPath, config.wsLogPath].filter(Boolean) : undefined,
			build: config.buildId || undefined,
			mac: macAddress(),
		}),
	};
}
