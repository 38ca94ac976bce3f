/*
 * The device's MAC address, where the platform gives one, for its boot
 * line and its mDNS records: Moddable's Net.get("MAC"). The simulator
 * gives none (its net module answers "IP" only); the Node-hosted device
 * answers a made-up one (host-harness/node-host/net.ts says which). esp32
 * maps this module to its own twin (mac-address-esp32), which first brings
 * up the interface the address belongs to.
 */

import Net from "net";

/** Moddable's Net.get; spelled out because the host tsconfig also knows Node's "net". */
interface NetGet {
	get(what: "MAC"): string | undefined;
}

/** "aa:bb:cc:dd:ee:ff", or undefined when the platform has none. */
export function macAddress(): string | undefined {
	return (Net as unknown as NetGet).get("MAC") || undefined;
}
