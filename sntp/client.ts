/*
 * SNTP client (RFC 4330): sets the device's clock from a list of servers
 * once the station has an address, and again every `interval`.
 *
 * A board's clock reads 1970 until this runs, and the TLS clients judge
 * certificate dates against it (modules/clock). So a failure names the
 * clock and says what waits on it, and the client keeps trying: each
 * failure moves to the next server and waits the shared backoff
 * (modules/backoff) before asking again.
 *
 * What is believed (sntp/packet, RFC 4330 5): a server's answer to our
 * request (its Originate Timestamp is our nonce), from the address we
 * asked, synchronized (leap indicator not 3, stratum 1..15). Anything else
 * is logged and ignored, and the wait for a real answer goes on until
 * `answerTimeout`. A kiss-of-death (stratum 0, RFC 4330 8) DENY or RSTR
 * drops that server for good; RATE and other codes count as a failure
 * (backoff), as the RFC asks.
 *
 * ECMA-419 style: one UDP socket while running, its callback reaching this
 * object as `this.target`; one timer, rescheduled.
 */

import UDP from "embedded:io/socket/udp";
import { Backoff } from "modules/backoff";
import { setClock, ticks } from "modules/clock";
import { Log } from "modules/log";
import { resolveHost } from "modules/resolve";
import { repeatFor } from "modules/timer-target";
import { readAnswer, sntpLength, writeRequest } from "sntp/packet";
import Timer from "timer";

export interface SntpClientOptions {
	/** Servers, asked in turn (port 123 when not given). */
	servers: readonly { host: string; port?: number }[];
	/** Delay after the first failure (ms); doubled after each, up to retryMaxDelay. */
	retryDelay: number;
	/** Longest delay between attempts (ms). */
	retryMaxDelay: number;
	/** Time between syncs once the clock is set (ms); 0: set it once. */
	interval: number;
	/** How long to wait for an answer (ms). Default 3000. */
	answerTimeout?: number;
	/** Where it logs. Default a Log tagged logTag. */
	log?: Log;
	/** The tag of the default log. Default "sntp". */
	logTag?: string;
	/** Called each time the clock is set: the time set (ms since 1970) and the server that gave it. */
	onSet?: (time: number, server: string) => void;
}

/** A server of the list: its name as configured, and where it is asked. */
interface Server {
	name: string;
	host: string;
	port: number;
	/** A kiss-of-death DENY or RSTR: never asked again. */
	refused: boolean;
}

/** ECMA-419 UDP sockets have close(); Moddable's typings leave it out. */
type ClosableUDP = UDP & { close(): void };

type SocketThis = UDP & { target: SntpClient };

/** The default log: preloaded (a Log is frozen), no slot at run time. */
const sntpLog = new Log("sntp");

const defaultAnswerTimeout = 3000;
const defaultPort = 123;
/** The timer's period when nothing is due: it is always rescheduled before then. */
const idle = 0x3fffffff;

export class SntpClient {
	readonly options: SntpClientOptions;
	readonly log: Log;
	/** Times the clock was set. */
	syncs = 0;
	private servers: Server[];
	private backoff: Backoff;
	private socket: ClosableUDP | undefined;
	private timer: Timer | undefined;
	/** Index of the server asked now (or next). */
	private current = 0;
	/** Waiting for an answer from this address and port, to the request carrying this nonce (none held between syncs). */
	private asked: { server: Server; address: string; sentAt: number; nonce: Uint8Array } | undefined;
	private running = false;

	constructor(options: SntpClientOptions) {
		if (!options.servers.length) throw new RangeError("no SNTP server given");
		this.options = options;
		this.log = options.log ?? (options.logTag && options.logTag !== sntpLog.tag ? new Log(options.logTag) : sntpLog);
		this.servers = options.servers.map(({ host, port = defaultPort }) => ({
			name: port === defaultPort ? host : `${host}:${port}`,
			host,
			port,
			refused: false,
		}));
		this.backoff = new Backoff({ initial: options.retryDelay, max: options.retryMaxDelay });
	}

	/** Start asking (a client running already is left as it is). */
	start(): void {
		if (this.running) return;
		this.running = true;
		this.backoff.reset();
		this.socket = <ClosableUDP>new UDP({ target: this, onReadable: socketReadable } as ConstructorParameters<typeof UDP>[0]);
		// One timer for the life of the run, rescheduled: answer timeouts, retries and resyncs.
		this.timer = repeatFor(this, idle);
		Timer.schedule(this.timer);
		this.ask();
	}

	stop(): void {
		if (!this.running) return;
		this.running = false;
		this.asked = undefined;
		if (this.timer) Timer.clear(this.timer);
		this.timer = undefined;
		this.socket?.close();
		this.socket = undefined;
	}

	/** The timer: an answer that did not come, or the time to ask again. */
	fired(): void {
		if (!this.running) return;
		if (this.asked) {
			const { server } = this.asked;
			this.asked = undefined;
			this.failed(server, `no answer from ${server.name} within ${this.options.answerTimeout ?? defaultAnswerTimeout} ms`);
		} else this.ask();
	}

	private schedule(delay: number): void {
		// A repeating timer stays alive after it fires (a one-shot one is gone); each firing reschedules it.
		Timer.schedule(this.timer!, delay, idle);
	}

	private ask(): void {
		const server = this.nextServer();
		if (!server) {
			this.log.error("clock not set: every SNTP server refused us (kiss-of-death); TLS clients will fail on certificate dates");
			this.stop();
			return;
		}
		resolveHost(server.host, address => {
			if (!this.running) return;
			if (!address) {
				this.failed(server, `cannot resolve ${server.host}`);
				return;
			}
			const nonce = new Uint8Array(8);
			for (let i = 0; i < 8; i++) nonce[i] = (Math.random() * 256) | 0;
			const request = writeRequest(new Uint8Array(sntpLength), nonce);
			try {
				this.socket!.write(request.buffer, address, server.port);
			} catch (e) {
				this.failed(server, `cannot send to ${address}:${server.port}: ${(e as Error).message}`);
				return;
			}
			this.asked = { server, address, sentAt: ticks(), nonce };
			if (this.log.debugging) this.log.debug(`asked ${server.name} (${address}:${server.port})`);
			this.schedule(this.options.answerTimeout ?? defaultAnswerTimeout);
		});
	}

	/** The server to ask: the current one unless refused, else the next one that is not; none when all are. */
	private nextServer(): Server | undefined {
		for (let i = 0; i < this.servers.length; i++) {
			const server = this.servers[(this.current + i) % this.servers.length];
			if (!server.refused) {
				this.current = (this.current + i) % this.servers.length;
				return server;
			}
		}
		return undefined;
	}

	private failed(server: Server, reason: string): void {
		this.current = (this.servers.indexOf(server) + 1) % this.servers.length;
		const delay = this.backoff.next()!;
		this.log.warn(`clock not set: ${reason}; TLS clients wait for the clock; asking again in ${delay} ms`);
		this.schedule(delay);
	}

	/** From the socket: `count` datagrams wait. */
	readable(count: number): void {
		while (this.socket && count-- > 0) {
			const datagram = this.socket.read() as (ArrayBuffer & { address: string; port: number }) | undefined;
			if (!datagram) return;
			const asked = this.asked;
			if (!asked || datagram.address !== asked.address || datagram.port !== asked.server.port) {
				this.log.warn(`ignored a datagram from ${datagram.address}:${datagram.port}: not the server asked`);
				continue;
			}
			const answer = readAnswer(new Uint8Array(datagram), asked.nonce);
			if (answer.kind === "invalid") {
				this.log.warn(`ignored an answer from ${asked.server.name}: ${answer.reason}`);
				continue;
			}
			this.asked = undefined;
			if (answer.kind === "kiss") {
				const refused = answer.code === "DENY" || answer.code === "RSTR";
				asked.server.refused = refused;
				this.failed(asked.server, `${asked.server.name} sent a kiss-of-death (${answer.code})${refused ? ", it is not asked again" : ""}`);
				continue;
			}
			// The server's time when it answered, plus half the round trip (RFC 4330 5 without the server's own delays).
			const roundTrip = ticks() - asked.sentAt;
			const time = answer.time + (roundTrip >> 1);
			setClock(time);
			this.syncs++;
			this.backoff.reset();
			this.log.info(`clock set to ${new Date(time).toISOString()} by ${asked.server.name} (stratum ${answer.stratum}, round trip ${roundTrip} ms)`);
			this.options.onSet?.(time, asked.server.name);
			if (this.options.interval > 0) this.schedule(this.options.interval);
			else this.stop();
		}
	}
}

function socketReadable(this: SocketThis, count: number): void {
	this.target.readable(count);
}
