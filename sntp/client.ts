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
 * ECMA-419 style: one UDP socket while a request waits for its answer, its
 * callback reaching this object as `this.target`; one timer, rescheduled,
 * reaching it as its target (modules/timer-target). Between syncs the
 * client holds its timer and no socket, backoff or request.
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

/** A server of the list: where it is asked (port 123 when not given). */
interface Server {
	host: string;
	port?: number;
}

/** A server's name in the log: its host, with its port when not 123. */
function serverName(server: Server): string {
	const port = server.port ?? defaultPort;
	return port === defaultPort ? server.host : `${server.host}:${port}`;
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
	/** Servers that sent a kiss-of-death DENY or RSTR, never asked again: bit i for options.servers[i]. */
	private refused = 0;
	/** Made at a failure, dropped at a success: the delays after failures in a row. */
	private backoff: Backoff | undefined;
	private socket: ClosableUDP | undefined;
	private timer: Timer | undefined;
	/** Index of the server asked now (or next). */
	private current = 0;
	/** Waiting for an answer from this address and port, to the request carrying this nonce (none held between syncs). */
	private asked: { index: number; address: string; port: number; sentAt: number; nonce: Uint8Array } | undefined;
	private running = false;

	constructor(options: SntpClientOptions) {
		if (!options.servers.length) throw new RangeError("no SNTP server given");
		if (options.servers.length > 32) throw new RangeError("at most 32 SNTP servers");
		this.options = options;
		this.log = options.log ?? (options.logTag && options.logTag !== sntpLog.tag ? new Log(options.logTag) : sntpLog);
	}

	/** Start asking (a client running already is left as it is). */
	start(): void {
		if (this.running) return;
		this.running = true;
		this.backoff = undefined;
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
		this.closeSocket();
	}

	private closeSocket(): void {
		this.socket?.close();
		this.socket = undefined;
	}

	/** The timer: an answer that did not come, or the time to ask again. */
	fired(): void {
		if (!this.running) return;
		if (this.asked) {
			const { index } = this.asked;
			this.asked = undefined;
			this.failed(index, `no answer from ${serverName(this.options.servers[index])} within ${this.options.answerTimeout ?? defaultAnswerTimeout} ms`);
		} else this.ask();
	}

	private schedule(delay: number): void {
		// A repeating timer stays alive after it fires (a one-shot one is gone); each firing reschedules it.
		Timer.schedule(this.timer!, delay, idle);
	}

	private ask(): void {
		const index = this.nextServer();
		if (index < 0) {
			this.log.error("clock not set: every SNTP server refused us (kiss-of-death); TLS clients will fail on certificate dates");
			this.stop();
			return;
		}
		const server = this.options.servers[index];
		const port = server.port ?? defaultPort;
		resolveHost(server.host, address => {
			if (!this.running) return;
			if (!address) {
				this.failed(index, `cannot resolve ${server.host}`);
				return;
			}
			const nonce = new Uint8Array(8);
			for (let i = 0; i < 8; i++) nonce[i] = (Math.random() * 256) | 0;
			const request = writeRequest(new Uint8Array(sntpLength), nonce);
			try {
				this.socket ??= <ClosableUDP>new UDP({ target: this, onReadable: socketReadable } as ConstructorParameters<typeof UDP>[0]);
				this.socket.write(request.buffer, address, port);
			} catch (e) {
				this.failed(index, `cannot send to ${address}:${port}: ${(e as Error).message}`);
				return;
			}
			this.asked = { index, address, port, sentAt: ticks(), nonce };
			if (this.log.debugging) this.log.debug(`asked ${serverName(server)} (${address}:${port})`);
			this.schedule(this.options.answerTimeout ?? defaultAnswerTimeout);
		});
	}

	/** The index of the server to ask: the current one unless refused, else the next one that is not; -1 when all are. */
	private nextServer(): number {
		const count = this.options.servers.length;
		for (let i = 0; i < count; i++) {
			const index = (this.current + i) % count;
			if (!(this.refused & (1 << index))) {
				this.current = index;
				return index;
			}
		}
		return -1;
	}

	/** Server `index` gave no time: the next one is asked after the backoff's delay; no socket is held meanwhile. */
	private failed(index: number, reason: string): void {
		this.current = (index + 1) % this.options.servers.length;
		this.closeSocket();
		const backoff = (this.backoff ??= new Backoff({ initial: this.options.retryDelay, max: this.options.retryMaxDelay }));
		const delay = backoff.next()!;
		this.log.warn(`clock not set: ${reason}; TLS clients wait for the clock; asking again in ${delay} ms`);
		this.schedule(delay);
	}

	/** From the socket: `count` datagrams wait. */
	readable(count: number): void {
		while (this.socket && count-- > 0) {
			const datagram = this.socket.read() as (ArrayBuffer & { address: string; port: number }) | undefined;
			if (!datagram) return;
			const asked = this.asked;
			if (!asked || datagram.address !== asked.address || datagram.port !== asked.port) {
				this.log.warn(`ignored a datagram from ${datagram.address}:${datagram.port}: not the server asked`);
				continue;
			}
			const answer = readAnswer(new Uint8Array(datagram), asked.nonce);
			const name = serverName(this.options.servers[asked.index]);
			if (answer.kind === "invalid") {
				this.log.warn(`ignored an answer from ${name}: ${answer.reason}`);
				continue;
			}
			this.asked = undefined;
			if (answer.kind === "kiss") {
				const refused = answer.code === "DENY" || answer.code === "RSTR";
				if (refused) this.refused |= 1 << asked.index;
				this.failed(asked.index, `${name} sent a kiss-of-death (${answer.code})${refused ? ", it is not asked again" : ""}`);
				continue;
			}
			// The server's time when it answered, plus half the round trip (RFC 4330 5 without the server's own delays).
			const roundTrip = ticks() - asked.sentAt;
			const time = answer.time + (roundTrip >> 1);
			setClock(time);
			this.syncs++;
			this.backoff = undefined;
			this.closeSocket(); // until the next sync
			this.log.info(`clock set to ${new Date(time).toISOString()} by ${name} (stratum ${answer.stratum}, round trip ${roundTrip} ms)`);
			this.options.onSet?.(time, name);
			if (this.options.interval > 0) this.schedule(this.options.interval);
			else this.stop();
		}
	}
}

function socketReadable(this: SocketThis, count: number): void {
	this.target.readable(count);
}
