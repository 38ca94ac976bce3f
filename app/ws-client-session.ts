/*
 * The session of ESP-IDF's websocket client example
 * (protocols/websocket/main/websocket_example.c) on a WebSocketClient:
 *
 *   hello 0000 … hello 0004, one per helloInterval;
 *   a fragmented text message: 32 × "a" (text, FIN clear), 32 × "b"
 *     (continuation), an empty final continuation: 64 bytes once reassembled;
 *   a fragmented binary message: 5 × 0x00, then 5 × 0x01 (final);
 *   a 2000-byte text message (longer than the 1024-byte send buffer: fragmented);
 *   then, once no data arrived for noDataTimeout, a clean close (1000).
 *
 * Each echo is logged; a JSON array of {id, name} objects is logged entry by
 * entry, as the example does with cJSON. After a reconnection the session
 * starts over.
 */

import { Log } from "modules/log";
import Timer from "timer";
import { WebSocketClient, type WebSocketClientOptions, type WebSocketDataEvent } from "websocket/client";
import { Opcode } from "websocket/constants";

const log = new Log("ws-client");

/** Text shown per received message. */
const PREVIEW = 64;

export interface WebSocketClientSessionOptions extends WebSocketClientOptions {
	/** Number of "hello NNNN" messages. Default 5. */
	helloCount?: number;
	/** Pause between the session's sends (ms). Default 1000. */
	helloInterval?: number;
	/** Close (1000) once no data arrived for this long (ms). Default 5000. */
	noDataTimeout?: number;
}

export class WebSocketClientSession {
	readonly client: WebSocketClient;
	/** The session ended with a completed closing handshake (code from the server's Close). */
	onClosed?: (code: number, reason: string) => void;

	private readonly helloCount: number;
	private readonly helloInterval: number;
	private readonly noDataTimeout: number;
	private step = 0;
	private stepTimer: Timer | undefined;
	private noDataTimer: Timer | undefined;

	constructor(options: WebSocketClientSessionOptions) {
		this.helloCount = options.helloCount ?? 5;
		this.helloInterval = options.helloInterval ?? 1000;
		this.noDataTimeout = options.noDataTimeout ?? 5000;
		const client = (this.client = new WebSocketClient(options));
		client.onConnected = () => this.begin();
		client.onData = event => this.received(event);
		client.onDisconnected = reason => {
			log.warn(`WebSocket disconnected: ${reason}`);
			this.stopTimers();
		};
		client.onClosed = (code, reason) => {
			this.stopTimers();
			log.info(code === 1000 ? `WebSocket closed cleanly (${code})` : `WebSocket closed (${code}${reason ? ` "${reason}"` : ""})`);
			try {
				this.onClosed?.(code, reason);
			} catch (e) {
				log.error(`onClosed threw: ${(e as Error).message}`);
			}
		};
	}

	/** Connect and run the session (again after each reconnection). */
	start(): void {
		this.client.connect();
	}

	/** Close now (1000) and stop reconnecting. */
	stop(): void {
		this.stopTimers();
		this.client.close();
	}

	private begin(): void {
		this.stopTimers();
		this.step = 0;
		this.armNoData();
		this.stepTimer = Timer.repeat(() => this.next(), this.helloInterval);
	}

	private stopTimers(): void {
		if (this.stepTimer) Timer.clear(this.stepTimer);
		if (this.noDataTimer) Timer.clear(this.noDataTimer);
		this.stepTimer = this.noDataTimer = undefined;
	}

	/** One step of the session per interval. */
	private next(): void {
		try {
			const client = this.client;
			const step = this.step++;
			const hellos = this.helloCount;
			if (step < hellos) {
				const text = `hello ${String(step).padStart(4, "0")}`;
				log.info(`Sending ${text}`);
				client.sendText(text);
			} else if (step === hellos) {
				log.info("Sending fragmented text message");
				client.sendPiece(Opcode.TEXT, "a".repeat(32), false);
				client.sendPiece(Opcode.TEXT, "b".repeat(32), false);
				client.sendPiece(Opcode.TEXT, "", true);
			} else if (step === hellos + 1) {
				log.info("Sending fragmented binary message");
				client.sendPiece(Opcode.BINARY, new Uint8Array(5), false);
				client.sendPiece(Opcode.BINARY, new Uint8Array(5).fill(1), true);
			} else if (step === hellos + 2) {
				log.info("Sending text data longer than the send buffer");
				client.sendText("a".repeat(2000));
			} else {
				Timer.clear(this.stepTimer);
				this.stepTimer = undefined;
			}
		} catch (e) {
			log.error(`session step failed: ${(e as Error).message}`);
		}
	}

	private armNoData(): void {
		if (this.noDataTimer) Timer.clear(this.noDataTimer);
		this.noDataTimer = Timer.set(() => {
			this.noDataTimer = undefined;
			try {
				log.info(`No data received for ${this.noDataTimeout} ms, closing`);
				this.stopTimers();
				this.client.close(1000);
			} catch (e) {
				log.error(`closing failed: ${(e as Error).message}`);
			}
		}, this.noDataTimeout);
	}

	private received(event: WebSocketDataEvent): void {
		this.armNoData();
		const { opcode, data } = event;
		if (opcode !== Opcode.TEXT) {
			log.info(`Received opcode=${opcode} len=${data.byteLength} (binary)`);
			return;
		}
		const text = String.fromArrayBuffer(data);
		const shown = text.length > PREVIEW ? `${text.slice(0, PREVIEW)}…` : text;
		log.info(`Received opcode=${opcode} len=${data.byteLength}: ${shown}`);
		if (text.charCodeAt(0) !== 0x5b)
			// "["
			return;
		let entries: unknown;
		try {
			entries = JSON.parse(text);
		} catch {
			return;
		}
		if (!Array.isArray(entries)) return;
		for (const entry of entries) {
			if (entry && typeof entry === "object" && "id" in entry && "name" in entry)
				log.info(`Json={'id': '${String(entry.id)}', 'name': '${String(entry.name)}'}`);
		}
	}
}
