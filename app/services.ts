/*
 * The app's services as its boot sequence (app/app) drives them: start
 * with the endpoints it reports, stop, and for clients pause and resume
 * across a drop of the link.
 *
 * One small class per kind, its methods on the prototype and its name a
 * getter: a service costs its instance and one field (what it runs) on
 * the idle device, where an object of closures cost a function and an
 * environment per method.
 */

import { config } from "app/config";
import type { ServiceEndpoints } from "app/endpoints";
import type { SdkWebSocketEchoServer } from "app/sdk-echo-server";
import type { WebSocketClientSession } from "app/ws-client-session";
import { MdnsResponder, type MdnsService } from "mdns/responder";
import { Log } from "modules/log";
import type { SntpClient } from "sntp/client";
import type { TcpClient } from "tcp/client";
import type { TcpServer } from "tcp/server";
import type { UdpServer } from "udp/server";
import type { WebSocketServer } from "websocket/server";

export interface Service {
	readonly name: string;
	start(endpoints: ServiceEndpoints): void;
	stop(): void;
	/** Clients only: the link is down / back. */
	pause?(): void;
	/** The station's address, which may have changed. */
	resume?(address: string): void;
}

/** What runs inside a client service: started, and stopped while the link is down. */
interface Startable {
	start(): void;
	stop(): void;
}

/** A client: stopped while the link is down, started again when it is back. */
abstract class ClientService<T extends Startable> implements Service {
	abstract readonly name: string;
	constructor(readonly client: T) {}
	abstract start(endpoints: ServiceEndpoints): void;
	stop(): void {
		this.client.stop();
	}
	pause(): void {
		this.client.stop();
	}
	resume(): void {
		this.client.start();
	}
}

export class ClockService extends ClientService<SntpClient> {
	get name(): string {
		return "SNTP client";
	}
	start(endpoints: ServiceEndpoints): void {
		this.client.start();
		endpoints.sntp = config.sntpServers;
	}
}

export class WebSocketClientService extends ClientService<WebSocketClientSession> {
	get name(): string {
		return "WebSocket client";
	}
	start(endpoints: ServiceEndpoints): void {
		this.client.start();
		endpoints.wsClient = config.wsClientUri;
	}
}

export class TcpEchoClientService extends ClientService<TcpClient> {
	get name(): string {
		return "TCP echo client";
	}
	start(endpoints: ServiceEndpoints): void {
		this.client.start();
		endpoints.tcpClient = `${config.tcpClientHost}:${config.tcpClientPort}`;
	}
}

export class TcpEchoService implements Service {
	constructor(readonly server: TcpServer) {}
	get name(): string {
		return "TCP echo server";
	}
	start(endpoints: ServiceEndpoints): void {
		this.server.start();
		endpoints.tcp = this.server.port;
	}
	stop(): void {
		this.server.close();
	}
}

export class UdpEchoService implements Service {
	constructor(readonly server: UdpServer) {}
	get name(): string {
		return "UDP echo server";
	}
	start(endpoints: ServiceEndpoints): void {
		this.server.start();
		endpoints.udp = config.udpPort;
	}
	stop(): void {
		this.server.close();
	}
}

/** The WebSocket server: the echo, and the broadcast and log routes and the page when configured. */
export class WebSocketService implements Service {
	constructor(readonly server: WebSocketServer) {}
	get name(): string {
		return "WebSocket echo server";
	}
	start(endpoints: ServiceEndpoints): void {
		this.server.start();
		endpoints.ws = this.server.port;
		endpoints.wsPath = config.wsPath;
		if (config.wsTls) endpoints.wsTls = true;
		if (config.wsBroadcastPath) endpoints.wsBroadcastPath = config.wsBroadcastPath;
		if (config.wsLogPath) endpoints.wsLogPath = config.wsLogPath;
		if (config.httpPage) endpoints.page = "/";
	}
	stop(): void {
		this.server.close();
	}
}

export class SdkWebSocketService implements Service {
	constructor(readonly server: SdkWebSocketEchoServer) {}
	get name(): string {
		return "WebSocket echo server";
	}
	start(endpoints: ServiceEndpoints): void {
		this.server.start();
		endpoints.ws = this.server.port;
		endpoints.wsPath = config.wsPath;
	}
	stop(): void {
		this.server.close();
	}
}

/** mDNS: the responder is made at start, when what the others serve is known. */
export class MdnsAnnouncer implements Service {
	private responder: MdnsResponder | undefined;
	get name(): string {
		return "mDNS responder";
	}
	start(endpoints: ServiceEndpoints): void {
		this.responder = new MdnsResponder({ hostname: config.hostname, services: announced(endpoints), log: new Log("mdns") });
		this.responder.start(endpoints.address);
		endpoints.mdns = this.responder.name;
	}
	stop(): void {
		this.responder?.stop();
	}
	pause(): void {
		this.responder?.stop();
	}
	resume(address: string): void {
		this.responder?.start(address);
	}
}

/**
 * What the device announces by DNS-SD: the kit's own type, which the
 * harness's `discover` browses, with every endpoint in its TXT record; and
 * the echo services under their registered name (RFC 862's echo).
 */
function announced(endpoints: ServiceEndpoints): MdnsService[] {
	const services: MdnsService[] = [];
	const text: string[] = [];
	if (endpoints.ws !== undefined) text.push(`ws=${endpoints.wsPath ?? "/"}`);
	if (endpoints.wsBroadcastPath) text.push(`broadcast=${endpoints.wsBroadcastPath}`);
	if (endpoints.wsLogPath) text.push(`log=${endpoints.wsLogPath}`);
	if (endpoints.tcp !== undefined) text.push(`tcp=${endpoints.tcp}`);
	if (endpoints.udp !== undefined) text.push(`udp=${endpoints.udp}`);
	if (config.buildId) text.push(`build=${config.buildId}`);
	if (endpoints.mac) text.push(`mac=${endpoints.mac}`);
	services.push({ type: "_xs-netkit._tcp", port: endpoints.ws ?? endpoints.tcp ?? 0, text });
	if (endpoints.page && endpoints.ws !== undefined) services.push({ type: "_http._tcp", port: endpoints.ws, text: [`path=${endpoints.page}`] });
	if (endpoints.tcp !== undefined) services.push({ type: "_echo._tcp", port: endpoints.tcp });
	if (endpoints.udp !== undefined) services.push({ type: "_echo._udp", port: endpoints.udp });
	return services;
}
