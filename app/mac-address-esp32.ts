/*
 * The device's MAC address on esp32: its WiFi station interface's, by
 * Moddable's Net.get("MAC"). ESP-IDF has that interface only once WiFi is
 * initialized, which the station does at boot a moment after the app's
 * first line; so when WiFi is still off (mode -5) or has no mode, this puts
 * it in station mode first, without joining anything, as the station's
 * first join would. The provisioning portal changes the mode as before.
 */

import Net from "net";
import WiFi from "wifi";

/** Moddable's Net.get; spelled out because the host tsconfig also knows Node's "net". */
interface NetGet {
	get(what: "MAC"): string | undefined;
}

/** "aa:bb:cc:dd:ee:ff", or undefined when ESP-IDF does not give it. */
export function macAddress(): string | undefined {
	if (WiFi.mode <= 0)
		WiFi.mode = WiFi.Mode.station;
	return (Net as unknown as NetGet).get("MAC") || undefined;
}
