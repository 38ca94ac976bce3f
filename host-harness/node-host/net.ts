/*
 * The `net` module for the Node-hosted device: Net.get("IP" | "MAC" |
 * "SSID" | …) and Net.resolve(name, callback), after
 * $MODDABLE/modules/network/net. The device's address is the host's
 * loopback, 127.0.0.1, once the simulated WiFi has given it one.
 *
 * `hostNetwork` is the simulated link the other providers share: once the
 * device has started its WiFi station, sockets work only while the link is
 * up, and a link that goes down fails the device's open TCP connections
 * (see socket-tcp, socket-listener, socket-udp). Code that never starts WiFi
 * (unit tests of device modules) always has a link.
 *
 * Deviation: Net.get("MAC") answers a made-up address, locally
 * administered (02:00, then the four bytes of the device's IPv4 address:
 * 02:00:7F:00:00:01 on loopback, upper-case hex as a board's), where a
 * board answers its interface's own (the lwip tier makes its own the same way). It is stable for a device at one address and differs between
 * devices at different ones, as a batch of boards' MACs do, which is what
 * the harness relies on; it says nothing about any hardware.
 */

import * as dns from "node:dns";
import { invoke } from "./callbacks.js";

type LinkListener = () => void;

export const hostNetwork = {
	/** True once a WiFi station exists: from then on the link state gates the sockets. */
	managed: false,
	connected: false,
	/** The device's own access point's name while it is open (provisioning), else "". */
	accessPoint: "",
	/** Its WPA2 passphrase; "" when it is open. */
	accessPointPassword: "",
	/** Clients joined to it (wifi.ts joinAccessPoint). */
	accessPointClients: 0,
	ssid: "",
	/** The host's loopback, or the address the harness gave a device it runs in a network namespace. */
	address: process.env.XSNK_HOST_ADDRESS || "127.0.0.1",
	/** Made up from the address (see the header). */
	get mac(): string {
		return ["02", "00", ...this.address.split(".").map(byte => Number(byte).toString(16).toUpperCase().padStart(2, "0"))].join(":");
	},
	downListeners: new Set<LinkListener>(),

	/** Whether device sockets may carry traffic now. */
	get usable(): boolean {
		return !this.managed || this.connected || (this.accessPoint !== "" && this.accessPointClients > 0);
	},

	setConnected(connected: boolean): void {
		const wasUp = this.connected;
		this.connected = connected;
		if (wasUp && !connected) {
			for (const listener of [...this.downListeners]) listener();
		}
	},
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
		dns.lookup(name, { family: 4 }, (error, address) =>
			invoke(Net, callback as (this: typeof Net, ...a: unknown[]) => void, name, error ? undefined : address),
		);
	}
}
