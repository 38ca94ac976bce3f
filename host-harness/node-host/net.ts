/*
 * The `net` module for the Node-hosted device: Net.get("IP" | "MAC" |
 * "SSID" | …) and Net.resolve(name, callback), after
 * $MODDABLE/modules/network/net. The device's address is the host's
 * loopback, 127.0.0.1, once the simulated WiFi has given it one.
 */

import * as dns from "node:dns";
import { invoke } from "./callbacks.js";

export const hostNetwork = {
	connected: false,
	ssid: "",
	address: "127.0.0.1",
	mac: "02:00:00:4e:4b:01",
};

export default class Net {
	static get(what: string): string | number | string[] | undefined {
		switch (what) {
			case "IP":
				return hostNetwork.connected ? hostNetwork.address : undefined;
			case "MAC":
				return hostNetwork.mac;
			case "SSID":
				return hostNetwork.connected ? hostNetwork.ssid : undefined;
			case "RSSI":
				return hostNetwork.connected ? -40 : undefined;
			case "DNS":
				return dns.getServers();
			default:
				return undefined;
		}
	}

	static resolve(name: string, callback: (name: string, address: string | undefined) => void): void {
		dns.lookup(name, { family: 4 }, (error, address) => invoke(Net, callback as (this: typeof Net, ...a: unknown[]) => void, name, error ? undefined : address));
	}
}
