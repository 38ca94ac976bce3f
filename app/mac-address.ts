/*
 * The device's MAC address, where the platform gives one, for its
 * `services up` line and its mDNS records: Moddable's Net.get("MAC"), read
 * once the station has its address (on esp32 the station interface exists
 * only once WiFi is up). The simulator gives none (its net module answers
 * "IP" only); the lwip tier gives its interface's; the Node-hosted device a
 * made-up one (host-harness/node-host/net.ts says which).
 */

import Net from "net";

/** "aa:bb:cc:dd:ee:ff", or undefined when the platform has none. */
export function macAddress(): string | undefined {
	return Net.get("MAC") || undefined;
}
