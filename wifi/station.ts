/*
 * WiFi station on the legacy `wifi` module (the one WiFi API present on
 * esp32 and on the simulator).
 *
 * It joins the configured network and keeps the device on it: a failed
 * join is retried `retries` times, `retryDelay` ms apart (the classic
 * ESP-IDF example: 5 attempts, 1 s apart), then with capped exponential
 * backoff up to `backoffMax` ms, forever, and never in a busy loop. A join
 * that neither gets an address nor fails within `connectTimeout` ms counts
 * as failed. A link lost later is rejoined the same way.
 *
 * The rest of the app subscribes (onGotIP, onLost, onStateChange) instead
 * of sleeping and hoping. Every state change is logged with its cause.
 */

import { Backoff } from "modules/backoff";
import { Log } from "modules/log";
import Net from "net";
import Timer from "timer";
import WiFi from "wifi";

const log = new Log("wifi");

export type StationState = "idle" | "connecting" | "connected" | "got-ip" | "disconnected" | "backing-off";

export interface StationOptions {
	ssid: string;
	password: string;
	/** Quick retries after a failed join, before backing off. */
	retries: number;
	retryDelay: number;
	backoffMax: number;
	connectTimeout: number;
}

export interface StationListener {
	onGotIP?(address: string): void;
	onLost?(reason: string): void;
	onStateChange?(state: StationState, cause: string): void;
	/** The quick retries are used up (e.g. a wrong password): provisioning may take over. */
	onGiveUp?(cause: string): void;
}

/** esp32 passes a reason with "disconnect": -1 means the password was rejected. */
const passwordRejected = -1;

export class Station {
	readonly options: StationOptions;
	state: StationState = "idle";
	address: string | undefined;
	/** Made at a failed join, dropped at an address: the delays after failures in a row. */
	private backoff: Backoff | undefined;
	private wifi: WiFi | undefined;
	private listeners: StationListener[] = [];
	private timer: Timer | undefined;
	private stopped = true;

	constructor(options: StationOptions) {
		this.options = options;
	}

	/** Failed joins since the last address. */
	get failures(): number {
		return this.backoff?.attempts ?? 0;
	}

	subscribe(listener: StationListener): void {
		this.listeners.push(listener);
	}

	start(): void {
		const { ssid } = this.options;
		if (!ssid) {
			log.error("no SSID configured: pass ssid=… password=… to mcconfig");
			return;
		}
		this.stopped = false;
		log.info(`station started, network "${ssid}"`);
		this.join("start");
	}

	/** Join another network from now on (credentials entered while provisioning). */
	use(credentials: { ssid: string; password: string }): void {
		this.options.ssid = credentials.ssid;
		this.options.password = credentials.password;
		this.backoff = undefined;
		if (this.stopped) {
			this.start();
			return;
		}
		Timer.clear(this.timer);
		this.timer = undefined;
		this.join("new credentials");
	}

	get running(): boolean {
		return !this.stopped;
	}

	stop(): void {
		this.stopped = true;
		Timer.clear(this.timer);
		this.timer = undefined;
		if (this.wifi) {
			WiFi.disconnect();
			this.wifi.close();
			this.wifi = undefined;
		}
		this.set("idle", "stopped");
	}

	private set(state: StationState, cause: string): void {
		this.state = state;
		for (const listener of this.listeners) listener.onStateChange?.(state, cause);
	}

	private join(cause: string): void {
		const { ssid, password, connectTimeout } = this.options;
		this.set("connecting", cause);
		log.info(`connecting to "${ssid}" (attempt ${this.failures + 1}, ${cause})`);
		const credentials = password ? { ssid, password } : { ssid };
		if (this.wifi) WiFi.connect(credentials);
		else this.wifi = new WiFi(credentials, (message: string, reason?: number) => this.onMessage(message, reason));
		Timer.clear(this.timer);
		this.timer = Timer.set(() => {
			this.timer = undefined;
			if (this.state === "connecting" || this.state === "connected") this.failed(`no address within ${connectTimeout} ms`);
		}, connectTimeout);
	}

	private onMessage(message: string, reason?: number): void {
		if (this.stopped) return;
		try {
			switch (message) {
				case WiFi.connected:
					this.set("connected", "associated");
					log.info(`connected to "${this.options.ssid}", waiting for an address`);
					break;
				case WiFi.gotIP:
					Timer.clear(this.timer);
					this.timer = undefined;
					this.backoff = undefined;
					this.address = String(Net.get("IP") ?? "");
					this.set("got-ip", "DHCP");
					log.info(`got IP: ${this.address}`);
					for (const listener of this.listeners) listener.onGotIP?.(this.address);
					break;
				case WiFi.lostIP:
				case WiFi.disconnected: {
					const cause = reason === passwordRejected ? "password rejected" : message === WiFi.lostIP ? "address lost" : "disconnected";
					if (this.state === "got-ip") {
						this.address = undefined;
						this.set("disconnected", cause);
						log.warn(`link lost (${cause})`);
						for (const listener of this.listeners) listener.onLost?.(cause);
						this.retry(cause);
					} else if (this.state === "connecting" || this.state === "connected") this.failed(cause);
					break;
				}
			}
		} catch (e) {
			log.error(`station: ${(e as Error).message}`);
		}
	}

	private failed(cause: string): void {
		Timer.clear(this.timer);
		this.timer = undefined;
		// `retries` joins in all at retryDelay, so retries - 1 waits before the doubling starts (2×, 4×, …).
		const { retryDelay, backoffMax, retries } = this.options;
		this.backoff ??= new Backoff({ initial: retryDelay, max: backoffMax, quick: retries - 1 });
		const delay = this.backoff.next()!; // no maxAttempts: always a delay
		this.set("disconnected", cause);
		log.warn(`join failed: ${cause} (${this.failures} failed)`);
		if (this.failures === this.options.retries) {
			log.warn(`giving up quick retries after ${this.failures} attempts; backing off`);
			for (const listener of this.listeners) listener.onGiveUp?.(cause);
		}
		if (!this.stopped) this.retry(cause, delay);
	}

	/** Join again after `delay` (a link lost: after retryDelay); past the quick retries, say so. */
	private retry(cause: string, delay = this.options.retryDelay): void {
		if (this.failures >= this.options.retries) {
			this.set("backing-off", cause);
			log.info(`next join in ${delay} ms`);
		}
		Timer.clear(this.timer);
		this.timer = Timer.set(() => {
			this.timer = undefined;
			if (!this.stopped) this.join(`retry after ${cause}`);
		}, delay);
	}
}
