/*
 * An SNTP server (RFC 4330) for the device's clock, switchable while it
 * runs, so one server plays the good one and each faulty one in turn:
 * - "time": answers with this PC's time (stratum 2, the request's Transmit
 *   Timestamp as its Originate Timestamp);
 * - "silent": reads requests and answers nothing;
 * - "garbage": answers 13 bytes that are no SNTP message;
 * - "wrong-origin": a well-formed answer to another request (Originate
 *   Timestamp not the client's);
 * - "unsynchronized": leap indicator 3 (the server's clock is not set);
 * - "kiss-RATE", "kiss-DENY": a kiss-of-death (stratum 0) with that code.
 * Every request is counted, whatever the mode.
 */

import * as dgram from "node:dgram";

export type SntpMode = "time" | "silent" | "garbage" | "wrong-origin" | "unsynchronized" | "kiss-RATE" | "kiss-DENY";

/** Seconds from 1900 to 1970. */
const ntpToUnix = 2208988800;

export class SntpServer {
	mode: SntpMode = "time";
	/** Requests received, in every mode. */
	requests = 0;
	readonly #socket: dgram.Socket;

	private constructor(socket: dgram.Socket) {
		this.#socket = socket;
		socket.on("message", (message, from) => this.#answer(message, from));
	}

	/** Listen on `address` (the link's host end on the lan tiers), port 0: one the kernel picks. */
	static start(address = "127.0.0.1", port = 0): Promise<SntpServer> {
		return new Promise((resolve, reject) => {
			const socket = dgram.createSocket("udp4");
			socket.once("error", reject);
			socket.bind(port, address, () => {
				socket.off("error", reject);
				resolve(new SntpServer(socket));
			});
		});
	}

	get port(): number {
		return this.#socket.address().port;
	}

	get address(): string {
		return this.#socket.address().address;
	}

	/** "address:port", as the device's sntpServers takes it. */
	get server(): string {
		return `${this.address}:${this.port}`;
	}

	#answer(request: Buffer, from: dgram.RemoteInfo): void {
		this.requests++;
		if (this.mode === "silent" || request.length < 48) return;
		if (this.mode === "garbage") {
			this.#socket.send(Buffer.from("not a packet!"), from.port, from.address);
			return;
		}
		const answer = Buffer.alloc(48);
		const leap = this.mode === "unsynchronized" ? 3 : 0;
		answer[0] = (leap << 6) | (4 << 3) | 4; // LI, VN 4, mode 4 (server)
		const kiss = this.mode.startsWith("kiss-") ? this.mode.slice(5) : undefined;
		answer[1] = kiss ? 0 : 2;
		answer[2] = 6;
		answer[3] = 0xec; // precision 2^-20
		if (kiss) answer.write(kiss, 12, "ascii");
		else answer.write("LOCL", 12, "ascii");
		if (this.mode === "wrong-origin") answer.writeUInt32BE(0x12345678, 24);
		else request.copy(answer, 24, 40, 48); // Originate = the request's Transmit (RFC 4330 5)
		const now = Date.now();
		const seconds = Math.floor(now / 1000) + ntpToUnix;
		const fraction = Math.floor(((now % 1000) / 1000) * 2 ** 32);
		answer.writeUInt32BE(seconds >>> 0, 16); // Reference
		answer.writeUInt32BE(seconds >>> 0, 32); // Receive
		answer.writeUInt32BE(fraction >>> 0, 36);
		answer.writeUInt32BE(seconds >>> 0, 40); // Transmit
		answer.writeUInt32BE(fraction >>> 0, 44);
		this.#socket.send(answer, from.port, from.address);
	}

	close(): Promise<void> {
		return new Promise(resolve => this.#socket.close(() => resolve()));
	}
}
