// What the contract app (tests/fixtures/contract-app) recorded, read back
// over its GET /events route: every event its handlers and owners were
// given, per connection, in order. Each read clears the app's record, so
// the reader keeps them all, and a case waits until the event it expects
// has come, then compares the connection's whole sequence.
import * as http from "node:http";

/** One recorded event (tests/fixtures/contract-app/services/record.ts). */
export interface Entry {
	service: string;
	id: number;
	peer: string;
	event: string;
	detail?: string | number;
	send?: boolean | number;
}

/** A read of GET /events: the events since the previous read, and the counts now. */
export interface Snapshot {
	events: Entry[];
	dropped: number;
	/** Connections each service saw open and not yet closed. */
	open: Record<string, number>;
	wsClients: number;
	wsStopClients: number;
	tcpServed: number;
	tcpWaiting: number;
	/** The connections the library's routes keep (WebSocketRoute.count): /echo, /stream, and /echo of the server GET /stop closes. */
	routes: number[];
}

/** The service whose connections' last event is not "close". */
const lastEvent: Record<string, string[]> = { "ws-client": ["closed", "disconnected"] };

/** Whether `entry` ends its connection: onClose, or a WebSocketClient's onClosed / onDisconnected. */
export function isEnd(entry: Entry): boolean {
	return (lastEvent[entry.service] ?? ["close"]).includes(entry.event);
}

/** "event" or "event:detail", and "/send=…" when the event tried a send. */
export function describeEntry(entry: Entry): string {
	return `${entry.event}${entry.detail === undefined ? "" : `:${entry.detail}`}${entry.send === undefined ? "" : `/send=${entry.send}`}`;
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

export function getJson<T>(host: string, port: number, path: string, timeoutMs = 5000): Promise<T> {
	return new Promise((resolve, reject) => {
		const request = http.get({ host, port, path, agent: false, timeout: timeoutMs }, response => {
			const chunks: Buffer[] = [];
			response.on("data", chunk => chunks.push(chunk));
			response.on("end", () => {
				const text = Buffer.concat(chunks).toString("utf8");
				if (response.statusCode !== 200) return reject(new Error(`GET ${path}: ${response.statusCode} ${text}`));
				try {
					resolve(JSON.parse(text) as T);
				} catch (e) {
					reject(new Error(`GET ${path}: not JSON (${(e as Error).message}): ${text.slice(0, 200)}`));
				}
			});
		});
		request.on("timeout", () => request.destroy(new Error(`GET ${path}: no answer within ${timeoutMs} ms`)));
		request.on("error", reject);
	});
}

export class ContractEvents {
	/** Every event read so far, in the order recorded. */
	readonly all: Entry[] = [];
	/** The counts of the latest read. */
	latest: Snapshot | undefined;
	dropped = 0;

	constructor(
		readonly host: string,
		readonly port: number,
	) {}

	/** Read what was recorded since the last read. */
	async read(): Promise<Snapshot> {
		const snapshot = await getJson<Snapshot>(this.host, this.port, "/events");
		this.all.push(...snapshot.events);
		this.dropped += snapshot.dropped;
		this.latest = snapshot;
		return snapshot;
	}

	/** The events of one connection: by service and the peer's port (a harness socket's local port) or its id. */
	of(service: string, which: { port: number } | { id: number }): Entry[] {
		return this.all.filter(e => e.service === service && ("port" in which ? e.peer.endsWith(`:${which.port}`) : e.id === which.id));
	}

	/** Read until `test` holds of what was read; throws naming `what` after timeoutMs. */
	async until(test: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
		const end = Date.now() + timeoutMs;
		for (;;) {
			await this.read();
			if (test()) return;
			if (Date.now() > end) throw new Error(`timed out waiting for ${what}; recorded so far: ${JSON.stringify(this.all.slice(-20))}`);
			await sleep(150);
		}
	}

	/**
	 * One connection's events once it ended (its last event came), as
	 * describeEntry says them, without onPong (which the heartbeat brings any
	 * number of times to a client that answers pings) unless `pongs`.
	 */
	async sequence(service: string, which: { port: number } | { id: number }, options: { pongs?: boolean } = {}): Promise<string[]> {
		await this.until(() => this.of(service, which).some(isEnd), `the end of ${service} ${JSON.stringify(which)}`);
		return this.of(service, which)
			.filter(e => options.pongs || e.event !== "pong")
			.map(describeEntry);
	}
}
