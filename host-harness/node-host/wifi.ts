/*
 * The legacy `wifi` module for the Node-hosted device, modelled on the
 * simulator's timer-driven fake ($MODDABLE/modules/network/wifi/sim/wifi.js)
 * and on esp32's callback order: new WiFi({ssid, password}, onNotify)
 * connects; one step later onNotify receives "connect", one step (plus any
 * DHCP delay) after that "gotIP". A rejected password gives "disconnect"
 * with reason -1, as esp32 reports it; a password of "invalid!" is rejected,
 * as on the simulator. WiFi.connect(options) joins again, WiFi.disconnect()
 * leaves. Only one instance at a time.
 *
 * Faults (a test double: a real access point cannot fail on demand), from
 * XSNK_HOST_WIFI (JSON) at boot and from the control channel (control.ts)
 * at run time:
 *   step         ms per state change (default 100; the simulator takes 1000)
 *   joinFailures the next N join attempts fail ("disconnect", reason 0)
 *   password     when set, any other password is rejected (reason -1)
 *   dhcpDelay    extra ms between "connect" and "gotIP"
 *   apDown       the network is gone: joins fail until it is back
 * and drop(): the link goes down now ("disconnect"; open TCP connections
 * fail), as when a board walks out of range.
 *
 * WiFi.accessPoint({ssid, password}) opens the device's own access point
 * (mode must allow it, as on the simulator). As on esp32 (xs6wifi.c) a
 * password makes it WPA2 (there: WPA/WPA2-PSK) and must be 8 to 64
 * characters, else it throws the board's messages; without one it is open.
 * A client joins it through the control channel (`ap join {"ssid","password"}`,
 * control.ts), and is refused as a real access point refuses it: a wrong or
 * missing passphrase for a WPA2 one (the 4-way handshake fails), any
 * passphrase for an open one (the security does not match), another name,
 * no access point. While a client is joined, the device's sockets are
 * reachable at 127.0.0.1 even without a station link; before one is, a
 * connection to the device is refused, as nobody could have reached it.
 *
 * Deviations: the handshake is a comparison of passphrases (no 4-way
 * handshake, no encryption: the bytes cross loopback in clear); the model
 * cannot tell one client from another on loopback, so once one client has
 * joined, every connection reaches the device until the last client leaves
 * (`ap leave`) or the access point closes.
 */

import { invoke } from "./callbacks.js";
import { hostNetwork } from "./net.js";
import Timer from "./timer.js";

type Message = "connect" | "gotIP" | "lostIP" | "disconnect";
type Notify = (message: Message, reason?: number) => void;

export interface WifiFaults {
	step: number;
	joinFailures: number;
	password?: string;
	dhcpDelay: number;
	apDown: boolean;
}

export const wifiFaults: WifiFaults = {
	step: 100,
	joinFailures: 0,
	dhcpDelay: 0,
	apDown: false,
	...JSON.parse(process.env.XSNK_HOST_WIFI ?? "{}"),
};

let instance: WiFi | undefined;
let mode = 0;

export default class WiFi {
	static readonly gotIP = "gotIP";
	static readonly lostIP = "lostIP";
	static readonly connected = "connect";
	static readonly disconnected = "disconnect";
	static readonly Mode = { off: -5, none: 0, station: 1, accessPoint: 2 } as const;

	#onNotify: Notify;
	#timer: ReturnType<typeof Timer.set> | undefined;

	constructor(options?: { ssid: string; password?: string }, onNotify?: Notify) {
		if (instance) throw new Error("only one instance in simulator");
		instance = this;
		hostNetwork.managed = true;
		this.#onNotify = onNotify ?? (() => {});
		if (options) WiFi.connect(options);
	}

	set onNotify(value: Notify | undefined) {
		this.#onNotify = value ?? (() => {});
	}

	close(): void {
		Timer.clear(this.#timer);
		this.#timer = undefined;
		if (instance === this) instance = undefined;
	}

	#notify(message: Message, reason?: number): void {
		invoke(this, this.#onNotify as (this: WiFi, ...a: unknown[]) => void, ...(reason === undefined ? [message] : [message, reason]));
	}

	#after(ms: number, step: () => void): void {
		Timer.clear(this.#timer);
		this.#timer = Timer.set(() => {
			this.#timer = undefined;
			step();
		}, ms);
	}

	#join(options: { ssid: string; password?: string }): void {
		if (hostNetwork.connected) this.#lose();
		const { step } = wifiFaults;
		const rejected = options.password === "invalid!" || (wifiFaults.password !== undefined && options.password !== wifiFaults.password);
		if (rejected) {
			this.#after(step, () => this.#notify("disconnect", -1));
			return;
		}
		if (wifiFaults.apDown || wifiFaults.joinFailures > 0) {
			if (!wifiFaults.apDown) wifiFaults.joinFailures--;
			this.#after(step, () => this.#notify("disconnect", 0));
			return;
		}
		hostNetwork.ssid = options.ssid;
		this.#after(step, () => {
			this.#notify("connect");
			this.#after(step + wifiFaults.dhcpDelay, () => {
				hostNetwork.setConnected(true);
				this.#notify("gotIP");
			});
		});
	}

	/** The link goes down: sockets fail, then the station hears "disconnect". */
	#lose(): void {
		Timer.clear(this.#timer);
		this.#timer = undefined;
		hostNetwork.setConnected(false);
	}

	drop(): void {
		this.#lose();
		this.#notify("disconnect", 0);
	}

	static get mode(): number {
		return mode;
	}

	static set mode(value: number) {
		if (![WiFi.Mode.off, WiFi.Mode.station, WiFi.Mode.accessPoint, 3].includes(value as never)) throw new Error("invalid wi-fi mode");
		mode = value;
		if (!(mode & 2)) {
			hostNetwork.accessPoint = "";
			hostNetwork.accessPointClients = 0;
		}
	}

	static accessPoint(options: { ssid: string; password?: string }): void {
		if (mode === 0) mode = 2;
		else if (mode !== 2 && mode !== 3) throw new Error("Wi-Fi access point disabled");
		if (!options?.ssid) throw new Error("ssid required");
		if (Buffer.byteLength(options.ssid) > 32) throw new Error("ssid too long - 32 bytes max");
		let password = "";
		if (options.password !== undefined) {
			password = String(options.password);
			if (Buffer.byteLength(password) > 64) throw new Error("password too long - 64 bytes max");
			if (Buffer.byteLength(password) < 8) throw new Error("password too short - 8 bytes min");
		}
		hostNetwork.managed = true; // from now on only a joined client (or a station link) reaches the device
		hostNetwork.accessPoint = options.ssid;
		hostNetwork.accessPointPassword = password;
		hostNetwork.accessPointClients = 0;
	}

	static connect(options?: { ssid: string; password?: string }): void {
		if (mode === 0) mode = 1;
		else if (mode !== 1 && mode !== 3) throw new Error("Wi-Fi station disabled");
		const wifi = instance;
		if (!wifi) return;
		if (!options) {
			wifi.#lose();
			wifi.#after(wifiFaults.step, () => wifi.#notify("disconnect", 0));
			return;
		}
		wifi.#join(options);
	}

	static disconnect(): void {
		WiFi.connect();
	}
}

/** The station instance, for the control channel. */
export function currentWiFi(): WiFi | undefined {
	return instance;
}

/**
 * A client (a phone) joins the device's access point: undefined when it
 * is let in, else why it is refused, as a real access point would refuse it.
 */
export function joinAccessPoint(ssid: string, password: string): string | undefined {
	const open = hostNetwork.accessPoint;
	if (!open) return "no access point is open";
	if (ssid !== open) return `no network named "${ssid}" (the access point is "${open}")`;
	const expected = hostNetwork.accessPointPassword;
	if (!expected && password) return `"${open}" is an open network: a passphrase does not match its security`;
	if (expected && !password) return `"${open}" is WPA2: it asks for a passphrase`;
	if (expected && password !== expected) return "4-way handshake failed: wrong passphrase";
	hostNetwork.accessPointClients++;
	return undefined;
}

/** A client leaves the access point. */
export function leaveAccessPoint(): void {
	if (hostNetwork.accessPointClients > 0) hostNetwork.accessPointClients--;
}
