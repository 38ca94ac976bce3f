/*
 * WiFi credentials saved on the device (Moddable `Preference`: NVS on esp32,
 * a file on the simulator), so that a network entered once through the
 * provisioning page is joined again after every reboot.
 */

/**
 * Moddable's `preference` module as the credentials use it. The store is
 * handed in (main imports `preference` and passes it to the App) rather
 * than imported here, because the kit's modules are preloaded and a
 * preloaded module's imports run at build time: the simulator's
 * `preference` (SDK lin/preference.js) reads its file when it loads, so
 * preloaded it would hold the build machine's saved credentials and never
 * read the device's file again. On esp32 it is native and preloaded by the
 * SDK itself; passing it costs nothing there.
 */
export interface PreferenceStore {
	get(domain: string, key: string): unknown;
	set(domain: string, key: string, value: string): void;
	delete(domain: string, key: string): void;
}

const domain = "wifi";

export interface Credentials {
	ssid: string;
	password: string;
}

/** The network to join, saved in the device's preferences under the "wifi" domain. */
export class CredentialStore {
	private readonly store: PreferenceStore;

	constructor(store: PreferenceStore) {
		this.store = store;
	}

	load(): Credentials | undefined {
		const ssid = this.store.get(domain, "ssid");
		if (typeof ssid !== "string" || !ssid) return undefined;
		const password = this.store.get(domain, "password");
		return { ssid, password: typeof password === "string" ? password : "" };
	}

	save(credentials: Credentials): void {
		this.store.set(domain, "ssid", credentials.ssid);
		this.store.set(domain, "password", credentials.password);
	}

	/** Erase them; true when there were some. */
	forget(): boolean {
		const had = this.load() !== undefined;
		this.store.delete(domain, "ssid");
		this.store.delete(domain, "password");
		return had;
	}
}

/** WPA2 rules: an SSID of 1-32 bytes; a password empty (open network) or 8-63 characters. */
export function credentialsProblem(credentials: Credentials): string | undefined {
	const ssidBytes = ArrayBuffer.fromString(credentials.ssid).byteLength;
	if (ssidBytes < 1 || ssidBytes > 32) return "the network name must be 1 to 32 bytes";
	const length = credentials.password.length;
	if (length !== 0 && (length < 8 || length > 63)) return "the password must be empty (open network) or 8 to 63 characters";
	return undefined;
}
