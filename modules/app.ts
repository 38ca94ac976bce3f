/*
 * The boot sequence: configuration → WiFi → address → services.
 *
 * Services start only once the station has an address. When they are all up
 * the app logs one line, `services up {…}`, with what it listens on; the
 * harness waits for that line before it talks to the device.
 */

import { config, configProblems } from "modules/config";
import { Log } from "modules/log";
import { Station } from "wifi/station";
import { EchoServer } from "tcp/echo-server";
import { UdpEchoServer } from "tcp/udp-echo-server";

const log = new Log("app");

export interface ServiceEndpoints {
	address: string;
	tcp?: number;
	udp?: number;
}

export class App {
	readonly station = new Station({ ssid: config.ssid, password: config.password });
	tcpServer: EchoServer | undefined;
	udpServer: UdpEchoServer | undefined;
	#started = false;

	start(): void {
		log.info("xs-netkit device app starting");
		if (configProblems.length) {
			for (const problem of configProblems)
				log.error(`config key "${problem.key}": ${problem.message}`);
			log.error("configuration is invalid: nothing started");
			return;
		}
		this.station.onGotIP = address => this.#startServices(address);
		this.station.start();
	}

	#startServices(address: string): void {
		if (this.#started)
			return;
		this.#started = true;
		const endpoints: ServiceEndpoints = { address };
		try {
			if (config.tcpServer) {
				this.tcpServer = new EchoServer({ port: config.tcpPort, maxClients: config.tcpMaxClients, chunk: config.tcpChunk });
				this.tcpServer.start();
				endpoints.tcp = this.tcpServer.port;
			}
			if (config.udpServer) {
				this.udpServer = new UdpEchoServer({ port: config.udpPort });
				this.udpServer.start();
				endpoints.udp = config.udpPort;
			}
		}
		catch (e) {
			log.error(`a service failed to start: ${(e as Error).message}; nothing is served`);
			return;
		}
		log.info(`services up ${JSON.stringify(endpoints)}`);
	}
}
