/*
 * WiFi in one call, as Moddable's `setup/network` gives its examples an
 * address before `main` runs, but without holding the app back:
 *
 *     joinNetwork({ preferences: Preference, start(address) { server.start(); } });
 *
 * It joins the network the configuration names (mcconfig ssid=… password=…
 * or the manifest's `config`); else, with `preferences`, the one saved on
 * the device; else it opens the provisioning page (wifi/provisioning) and
 * joins what is entered there. Before the device has ever had an address,
 * a station that used up its quick retries (a wrong password, a network
 * that is not there) opens the page too, and keeps trying meanwhile.
 *
 * `start(address)` runs once, at the first address. Across a drop, servers
 * keep listening (bound to every interface, they serve again as soon as
 * the address is back), so by default nothing more is called; with `stop`,
 * a stop/start pair runs instead: `stop(reason)` at each drop and
 * `start(address)` again at the address that follows (for clients, which
 * must not connect while there is no link).
 *
 * The station's and the page's settings are read from the configuration
 * under the kit's app's names (docs/configuration.md: wifiRetries,
 * provisionPort, …) unless given here.
 */

import mcConfig from "mc/config";
import { Log } from "modules/log";
import { CredentialStore, type PreferenceStore } from "wifi/credentials";
import { type PortalOptions, ProvisioningPortal } from "wifi/provisioning";
import { Station, type StationListener, type StationOptions } from "wifi/station";

export interface NetworkOptions {
	/** Runs once, at the first address: start your services here. With `stop`, again at each address after a drop. */
	start(address: string): void;
	/** When given: runs at each drop of the link, and `start` runs again once the address is back. */
	stop?(reason: string): void;
	/**
	 * Moddable's `preference` module, imported by main (not by a preloaded
	 * module: wifi/credentials says why): credentials saved on the device,
	 * and the provisioning page when none are known. Without it, only the
	 * configured network is joined.
	 */
	preferences?: PreferenceStore;
	/** The station's options, over those of the configuration (ssid, password, wifiRetries, wifiRetryDelay, wifiBackoffMax, wifiConnectTimeout). */
	station?: Partial<StationOptions>;
	/** The provisioning page's, over those of the configuration (provisionSsid, provisionPassword, provisionCode, provisionPort). */
	portal?: Partial<Pick<PortalOptions, "ssid" | "password" | "code" | "port">>;
	/** Erase the credentials saved on the device first (the configuration's wifiForget). */
	forget?: boolean;
	/** Where the lines about credentials go (default: tag "wifi"). */
	log?: Log;
}

/** A configuration value: the manifest's typed one, or mcconfig's string. */
function setting(key: string): unknown {
	return (mcConfig as Record<string, unknown>)[key];
}

function text(key: string, fallback: string): string {
	const value = setting(key);
	return value === undefined ? fallback : String(value);
}

function number(key: string, fallback: number): number {
	const value = Number(setting(key) ?? fallback);
	return Number.isFinite(value) && value >= 0 ? value : fallback;
}

/** The station's options from the configuration, as the kit's app reads them (and with its defaults). */
export function configuredStation(): StationOptions {
	return {
		ssid: text("ssid", ""),
		password: text("password", ""),
		retries: number("wifiRetries", 5),
		retryDelay: number("wifiRetryDelay", 1000),
		backoffMax: number("wifiBackoffMax", 60_000),
		connectTimeout: number("wifiConnectTimeout", 15_000),
	};
}

const wifiLog = new Log("wifi");

/**
 * The station, the page and the saved credentials of one app; `joinNetwork`
 * makes one and joins. The page (its portal) is made the first time it is
 * needed: a device that joins without it never holds one.
 */
export class Network implements StationListener {
	readonly station: Station;
	readonly options: NetworkOptions;
	/** An address has arrived at least once (start has run). */
	online = false;
	/** The link dropped since the last start, and stop ran. */
	private stopped = false;
	private openedPortal: ProvisioningPortal | undefined;

	constructor(options: NetworkOptions) {
		this.options = options;
		this.station = new Station({ ...configuredStation(), ...options.station });
	}

	/** The credentials saved on the device (with `preferences`). */
	get credentials(): CredentialStore | undefined {
		const preferences = this.options.preferences;
		return preferences ? new CredentialStore(preferences) : undefined;
	}

	/** The provisioning portal, once the page has been opened (with `preferences`); undefined before. */
	get portal(): ProvisioningPortal | undefined {
		return this.openedPortal;
	}

	private get log(): Log {
		return this.options.log ?? wifiLog;
	}

	/** A portal with the configured settings; `kept`: the network's own, which listens to the station. */
	private makePortal(preferences: PreferenceStore, kept: boolean): ProvisioningPortal {
		const portal = new ProvisioningPortal({
			ssid: text("provisionSsid", "xs-netkit"),
			password: text("provisionPassword", ""),
			code: text("provisionCode", ""),
			port: number("provisionPort", 80),
			...this.options.portal,
			credentials: new CredentialStore(preferences),
			preferences,
		});
		if (kept) {
			const station = this.station;
			station.subscribe(portal); // a network entered on the page that could not be joined: the page takes credentials again
			portal.onCredentials = entered => station.use(entered);
		}
		return portal;
	}

	/** Join: the configured network, else the saved one, else the page asks for one. */
	join(): void {
		const { station, credentials } = this;
		const preferences = this.options.preferences;
		const forget = this.options.forget ?? String(setting("wifiForget") ?? "false") === "true";
		if (forget && credentials?.forget()) this.log.info("saved WiFi credentials forgotten (wifiForget)");
		station.subscribe(this);
		const configured = station.options.ssid;
		const saved = configured ? undefined : credentials?.load();
		if (configured) {
			this.log.info(`WiFi credentials from the build configuration: "${configured}"`);
			station.start();
		} else if (saved) {
			this.log.info(`WiFi credentials saved on the device: "${saved.ssid}"`);
			station.use(saved);
		} else if (preferences) this.provision("no WiFi credentials known");
		else station.start(); // logs that no network is configured
		// The access point's passphrase and the page's code, on the console at every boot (never over the
		// network). After the radio is on: esp32's hardware generator is random only then (ESP-IDF, "Random
		// Number Generation"), and the SDK's rng takes its seed from it at its first use. A portal that is
		// not open prints them and is not kept.
		if (preferences && !this.openedPortal?.running) {
			try {
				(this.openedPortal ?? this.makePortal(preferences, false)).prepare();
			} catch (e) {
				this.log.error(`the provisioning secrets could not be read or made: ${(e as Error).message}`);
			}
		}
	}

	/** StationListener: an address. */
	onGotIP(address: string): void {
		if (this.openedPortal?.running) this.openedPortal.stop();
		if (this.online && !this.stopped) return; // servers kept listening across the drop
		this.online = true;
		this.stopped = false;
		this.options.start(address);
	}

	/** StationListener: the link dropped (only ever after an address). */
	onLost(reason: string): void {
		if (!this.options.stop) return;
		this.stopped = true;
		this.options.stop(reason);
	}

	/** StationListener: the quick retries are used up; before any address, the page asks for another network. */
	onGiveUp(cause: string): void {
		if (!this.online) this.provision(`"${this.station.options.ssid}" failed: ${cause}`);
	}

	private provision(why: string): void {
		const preferences = this.options.preferences;
		if (!preferences || this.openedPortal?.running) return;
		const portal = (this.openedPortal ??= this.makePortal(preferences, true));
		try {
			portal.start(why);
		} catch (e) {
			this.log.error(`the provisioning portal failed to start: ${(e as Error).message}`);
		}
	}
}

/** Join WiFi and run `start` at the first address (the module's header says how); returns what it made. */
export function joinNetwork(options: NetworkOptions): Network {
	const network = new Network(options);
	network.join();
	return network;
}
