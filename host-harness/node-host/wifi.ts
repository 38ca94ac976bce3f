/*
 * The legacy `wifi` module for the Node-hosted device, modelled on the
 * simulator's timer-driven fake ($MODDABLE/modules/network/wifi/sim/wifi.js):
 * new WiFi({ssid, password}, onNotify) connects; one step later onNotify
 * receives "connect", one step after that "gotIP". A password of "invalid!"
 * fails ("disconnect"), as on the simulator. Only one instance at a time.
 *
 * The address the device gets is the host's loopback, 127.0.0.1 (see net).
 *
 * Deviations from the simulator: a step is XSNK_HOST_WIFI_STEP ms (default
 * 100) instead of 1000 ms.
 */

import Timer from "./timer.js";
import { invoke } from "./callbacks.js";
import { hostNetwork } from "./net.js";

type Message = "connect" | "gotIP" | "lostIP" | "disconnect";
type Notify = (message: Message) => void;

const step = Math.max(1, Number(process.env.XSNK_HOST_WIFI_STEP ?? 100) | 0);
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
		if (instance)
			throw new Error("only one instance in simulator");
		instance = this;
		this.#onNotify = onNotify ?? (() => {});
		if (options)
			WiFi.connect(options);
	}

	set onNotify(value: Notify | undefined) {
		this.#onNotify = value ?? (() => {});
	}

	close(): void {
		Timer.clear(this.#timer);
		this.#timer = undefined;
		if (instance === this)
			instance = undefined;
	}

	#after(message: Message, next?: () => void): void {
		Timer.clear(this.#timer);
		this.#timer = Timer.set(() => {
			this.#timer = undefined;
			if (message === "gotIP")
				hostNetwork.connected = true;
			if (message === "disconnect")
				hostNetwork.connected = false;
			invoke(this, this.#onNotify as (this: WiFi, m: Message) => void, message);
			next?.();
		}, step);
	}

	static get mode(): number {
		return mode;
	}

	static set mode(value: number) {
		if (![WiFi.Mode.off, WiFi.Mode.station, WiFi.Mode.accessPoint, 3].includes(value as never))
			throw new Error("invalid wi-fi mode");
		mode = value;
	}

	static connect(options?: { ssid: string; password?: string }): void {
		if (mode === 0)
			mode = 1;
		else if (mode !== 1 && mode !== 3)
			throw new Error("Wi-Fi station disabled");
		const wifi = instance;
		if (!wifi)
			return;
		if (!options || options.password === "invalid!") {
			wifi.#after("disconnect");
			return;
		}
		hostNetwork.ssid = options.ssid;
		wifi.#after("connect", () => wifi.#after("gotIP"));
	}

	static disconnect(): void {
		if (instance)
			instance.#after("disconnect");
	}
}
