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
import { echoClient } from "app/tcp-echo-client";
import { echoServer } from "app/tcp-echo-server";
import { udpEchoServer } from "app/udp-echo-server";
import { WebSocketBroadcast } from "app/ws-broadcast";
import { WebSocketClientSession } from "app/ws-client-session";
import { WebSocketEcho } from "app/ws-echo-server";
import { WebSocketLog } from "app/ws-log";
import { MdnsResponder, type MdnsService } from "mdns/responder";
import { Log } from "modules/log";
import { loadCa } from "modules/secure-socket";
import { loadServerCredentials } from "modules/tls-credentials";
import { SntpClient } from "sntp/client";
import { json } from "websocket/http-routes";
import { WebSocketServer } from "websocket/server";
import type { PreferenceStore } from "wifi/credentials";
import { Network } from "wifi/network";

const log = new Log("app");

interface Service {
	name: string;
	start(endpoints: ServiceEndpoints): void;
	stop(): void;
	/** Clients only: the link is down / back. */
	pause?(): void;
	/** The station's address, which may have changed. */
	resume?(address: string): void;
}

export class App {
	readonly network: Network;
	readonly services: Service[] = [];
	/** The device's MAC address, where the platform gives one (app/mac-address): read when the services start. */
	mac: string | undefined;
	#started = false;

	/** `preferences`: Moddable's `preference` module, imported by main (see wifi/credentials for why not here). */
	constructor(preferences: PreferenceStore) {
		this.network = new Network({
			preferences,
			station: {
				ssid: config.ssid,
				password: config.password,
				retries: config.wifiRetries,
				retryDelay: config.wifiRetryDelay,
				backoffMax: config.wifiBackoffMax,
				connectTimeout: config.wifiConnectTimeout,
			},
			portal: { ssid: config.provisionSsid, password: config.provisionPassword, code: config.provisionCode, port: config.provisionPort },
			forget: config.wifiForget,
			log,
			start: address => this.#linkUp(address),
			stop: reason => this.#linkDown(reason),
		});
		if (configProblems.length) return; // start() says what is wrong; nothing is built on an invalid configuration
		// Each service is built inside a guard of its own: one whose options its
		// constructor refuses is logged and left out, and never aborts the app.
		// The clock first: the TLS clients judge certificate dates against it.
		this.#build("SNTP client", config.sntpServers.trim() !== "", () => {
			const client = new SntpClient({
				servers: parseServerList(config.sntpServers, 123),
				interval: config.sntpInterval,
				retryDelay: config.sntpRetryDelay,
				retryMaxDelay: config.sntpRetryMaxDelay,
				log: new Log("sntp"),
			});
			return {
				name: "SNTP client",
				start(endpoints) {
					client.start();
					endpoints.sntp = config.sntpServers;
				},
				stop() {
					client.stop();
				},
				pause() {
					client.stop();
				},
				resume() {
					client.start();
				},
			};
		});
		this.#build("TCP echo server", config.tcpServer, () => {
			const server = echoServer({
				port: config.tcpPort,
				maxClients: config.tcpMaxClients,
				backlog: config.tcpBacklog,
				idleTimeout: config.tcpIdleTimeout,
				chunk: config.tcpChunk,
				lruPurge: config.tcpLruPurge,
			});
			return {
				name: "TCP echo server",
				start(endpoints) {
					server.start();
					endpoints.tcp = server.port;
				},
				stop() {
					server.close();
				},
			};
		});
		this.#build("UDP echo server", config.udpServer, () => {
			const server = udpEchoServer({ port: config.udpPort });
			return {
				name: "UDP echo server",
				start(endpoints) {
					server.start();
					endpoints.udp = config.udpPort;
				},
				stop() {
					server.close();
				},
			};
		});
		this.#build("WebSocket echo server (SDK websocket module)", config.wsServer && config.wsImpl === "sdk", () => {
			const server = new SdkWebSocketEchoServer({ port: config.wsPort, path: config.wsPath, maxClients: config.wsMaxClients });
			return {
				name: "WebSocket echo server",
				start(endpoints) {
					server.start();
					endpoints.ws = server.port;
					endpoints.wsPath = config.wsPath;
				},
				stop() {
					server.close();
				},
			};
		});
		this.#build("WebSocket echo server", config.wsServer && config.wsImpl === "ours", () => {
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
				// What the page opens, and what the device says about itself (the harness's fleet rows read it too);
				// made at the first request, once the services are up (the MAC is read then).
				const app = this;
				let routes: string | undefined;
				server.get("/routes.json", () => ({
					type: "application/json",
					body: (routes ??= JSON.stringify({
						name: config.mdns ? `${config.hostname}.local` : config.hostname,
						echo: config.wsPath,
						broadcast: config.wsBroadcastPath || undefined,
						log: config.wsLogPath || undefined,
						keyed: config.wsKey ? [config.wsBroadcastPath, config.wsLogPath].filter(Boolean) : undefined,
						build: config.buildId || undefined,
						mac: app.mac,
					})),
				}));
			}
			if (config.httpUpload) {
				// Routes that take a body (app/http-upload): made only when asked for, nothing held until a body comes.
				const upload = new HttpUpload(server.log);
				server.post("/upload", upload, { maxBody: MAX_PIECES_BODY });
				server.put("/upload", request => upload.whole(request));
				server.delete("/upload", () => json({ deleted: true }));
			}
			return {
				name: "WebSocket echo server",
				start(endpoints) {
					server.start();
					endpoints.ws = server.port;
					endpoints.wsPath = config.wsPath;
					if (config.wsTls) endpoints.wsTls = true;
					if (config.wsBroadcastPath) endpoints.wsBroadcastPath = config.wsBroadcastPath;
					if (config.wsLogPath) endpoints.wsLogPath = config.wsLogPath;
					if (config.httpPage) endpoints.page = "/";
				},
				stop() {
					server.close();
				},
			};
		});
		this.#build("WebSocket client", config.wsClient, () => {
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
			return {
				name: "WebSocket client",
				start(endpoints) {
					session.start();
					endpoints.wsClient = config.wsClientUri;
				},
				stop() {
					session.stop();
				},
				pause() {
					session.stop();
				},
				resume() {
					session.start();
				},
			};
		});
		this.#build("TCP echo client", config.tcpClient, () => {
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
			return {
				name: "TCP echo client",
				start(endpoints) {
					client.start();
					endpoints.tcpClient = `${config.tcpClientHost}:${config.tcpClientPort}`;
				},
				stop() {
					client.stop();
				},
				pause() {
					client.stop();
				},
				resume() {
					client.start();
				},
			};
		});
		// Last: it announces what the others serve, once they are up.
		this.#build("mDNS responder", config.mdns, () => {
			const log = new Log("mdns");
			const app = this;
			let responder: MdnsResponder | undefined;
			return {
				name: "mDNS responder",
				start(endpoints) {
					responder = new MdnsResponder({ hostname: config.hostname, services: announced(endpoints, app.mac), log });
					responder.start(endpoints.address);
					endpoints.mdns = responder.name;
				},
				stop() {
					responder?.stop();
				},
				pause() {
					responder?.stop();
				},
				resume(address) {
					responder?.start(address);
				},
			};
		});
	}

	/** Build one service inside its own guard: a constructor that throws leaves that service out, logged, and never aborts the app. */
	#build(name: string, enabled: boolean, build: () => Service): void {
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

	#linkUp(address: string): void {
		if (!this.#started) {
			this.#startServices(address);
			return;
		}
		for (const service of this.services) {
			if (service.resume) {
				log.info(`link is back (${address}): resuming ${service.name}`);
				service.resume(address);
			}
		}
	}

	#linkDown(reason: string): void {
		for (const service of this.services) {
			if (service.pause) {
				log.info(`link is down (${reason}): pausing ${service.name}`);
				service.pause();
			}
		}
	}

	#startServices(address: string): void {
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
		this.#started = true;
		const exposed = exposure(endpoints, config);
		for (const line of exposed.listening) log.info(line);
		for (const warning of exposed.warnings) log.warn(warning);
		log.info(`services up ${JSON.stringify(endpoints)}`);
	}
}

/**
 * What the device announces by DNS-SD: the kit's own type, which the
 * harness's `discover` browses, with every endpoint in its TXT record; and
 * the echo services under their registered name (RFC 862's echo).
 */
function announced(endpoints: ServiceEndpoints, mac: string | undefined): MdnsService[] {
	const services: MdnsService[] = [];
	const text: string[] = [];
	if (endpoints.ws !== undefined) text.push(`ws=${endpoints.wsPath ?? "/"}`);
	if (endpoints.wsBroadcastPath) text.push(`broadcast=${endpoints.wsBroadcastPath}`);
	if (endpoints.wsLogPath) text.push(`log=${endpoints.wsLogPath}`);
	if (endpoints.tcp !== undefined) text.push(`tcp=${endpoints.tcp}`);
	if (endpoints.udp !== undefined) text.push(`udp=${endpoints.udp}`);
	if (config.buildId) text.push(`build=${config.buildId}`);
	if (mac) text.push(`mac=${mac}`);
	services.push({ type: "_xs-netkit._tcp", port: endpoints.ws ?? endpoints.tcp ?? 0, text });
	if (endpoints.page && endpoints.ws !== undefined) services.push({ type: "_http._tcp", port: endpoints.ws, text: [`path=${endpoints.page}`] });
	if (endpoints.tcp !== undefined) services.push({ type: "_echo._tcp", port: endpoints.tcp });
	if (endpoints.udp !== undefined) services.push({ type: "_echo._udp", port: endpoints.udp });
	return services;
}
