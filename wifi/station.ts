/*
 * WiFi station: joins the configured network with the legacy `wifi` module
 * (the one WiFi API present on esp32 and on the simulator) and tells the app
 * when an address is obtained or lost, instead of sleeping and hoping.
 */

import WiFi from "wifi";
import Net from "net";
import { Log } from "modules/log";

const log = new Log("wifi");

export type StationState = "idle" | "connecting" | "connected" | "got-ip" | "disconnected";

export interface StationOptions {
	ssid: string;
	password: string;
}

export class Station {
	#options: StationOptions;
	#wifi: WiFi | undefined;
	state: StationState = "idle";
	address: string | undefined;
	onGotIP: (address: string) => void = () => {};
	onLost: () => void = () => {};

	constructor(options: StationOptions) {
		this.#options = options;
	}

	start(): void {
		const { ssid, password } = this.#options;
		if (!ssid) {
			log.error("no SSID configured: pass ssid=… password=… to mcconfig");
			return;
		}
		log.info(`station started, connecting to "${ssid}"`);
		this.state = "connecting";
		this.#wifi = new WiFi(password ? { ssid, password } : { ssid }, message => this.#onMessage(message));
	}

	#onMessage(message: string): void {
		switch (message) {
			case WiFi.connected:
				this.state = "connected";
				log.info(`connected to "${this.#options.ssid}"`);
				break;
			case WiFi.gotIP:
				this.state = "got-ip";
				this.address = Net.get("IP") ?? undefined;
				log.info(`got IP: ${this.address}`);
				this.onGotIP(this.address ?? "");
				break;
			case WiFi.lostIP:
			case WiFi.disconnected:
				if (this.state === "got-ip")
					this.onLost();
				this.state = "disconnected";
				this.address = undefined;
				log.warn(`disconnected (${message})`);
				break;
		}
	}
}
