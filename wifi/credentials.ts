/*
 * WiFi credentials saved on the device (Moddable `Preference`: NVS on esp32,
 * a file on the simulator), so that a network entered once through the
 * provisioning page is joined again after every reboot.
 */

import Preference from "preference";

const domain = "wifi";

export interface Credentials {
	ssid: string;
	password: string;
}

export function loadCredentials(): Credentials | undefined {
	const ssid = Preference.get(domain, "ssid");
	if (typeof ssid !== "string" || !ssid)
		return undefined;
	const password = Preference.get(domain, "password");
	return { ssid, password: typeof password === "string" ? password : "" };
}

export function saveCredentials(credentials: Credentials): void {
	Preference.set(domain, "ssid", credentials.ssid);
	Preference.set(domain, "password", credentials.password);
}

export function forgetCredentials(): boolean {
	const had = loadCredentials() !== undefined;
	Preference.delete(domain, "ssid");
	Preference.delete(domain, "password");
	return had;
}

/** WPA2 rules: an SSID of 1-32 bytes; a password empty (open network) or 8-63 characters. */
export function credentialsProblem(credentials: Credentials): string | undefined {
	const ssidBytes = ArrayBuffer.fromString(credentials.ssid).byteLength;
	if (ssidBytes < 1 || ssidBytes > 32)
		return "the network name must be 1 to 32 bytes";
	const length = credentials.password.length;
	if (length !== 0 && (length < 8 || length > 63))
		return "the password must be empty (open network) or 8 to 63 characters";
	return undefined;
}
