/*
 * A unicast DNS server (RFC 1035) with a fixed table of IPv4 names, for a
 * device that resolves names over its own stack: the lwip tier's device
 * asks it as a board asks its router (lwIP's DNS client, the SDK's esp
 * modResolve.c). It answers A questions for names in its table, NOERROR
 * with no answer for another type of a known name, and NXDOMAIN (RCODE 3)
 * for any other name; malformed queries are dropped. Every query is
 * counted. Messages are read and written with the kit's mDNS codec (the
 * wire format is DNS's).
 */

import * as dgram from "node:dgram";
import { addressData, RecordType, readMessage, writeMessage } from "../../mdns/message.js";

/** RFC 1035 4.1.1: "Name Error", the name does not exist. */
const nameError = 3;

export class DnsServer {
	/** Queries received (malformed ones included). */
	queries = 0;
	readonly #socket: dgram.Socket;
	readonly #names: Map<string, string>;

	private constructor(socket: dgram.Socket, names: Record<string, string>) {
		this.#socket = socket;
		this.#names = new Map(Object.entries(names).map(([name, address]) => [name.toLowerCase(), address]));
		socket.on("message", (message, from) => this.#answer(message, from));
	}

	/** Listen on `address`:`port` (53, where a device's resolver asks: needs root, as the lan tiers do). `names`: name → IPv4 address. */
	static start(address: string, names: Record<string, string>, port = 53): Promise<DnsServer> {
		return new Promise((resolve, reject) => {
			const socket = dgram.createSocket("udp4");
			socket.once("error", reject);
			socket.bind(port, address, () => {
				socket.off("error", reject);
				resolve(new DnsServer(socket, names));
			});
		});
	}

	get port(): number {
		return this.#socket.address().port;
	}

	#answer(bytes: Buffer, from: dgram.RemoteInfo): void {
		this.queries++;
		let query;
		try {
			query = readMessage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
		} catch {
			return;
		}
		const [question] = query.questions;
		if (query.response || !question) return;
		const address = this.#names.get(question.name.replace(/\.$/, "").toLowerCase());
		const answers =
			address && (question.type === RecordType.A || question.type === RecordType.ANY)
				? [{ name: question.name, type: RecordType.A, ttl: 60, data: addressData(address) }]
				: [];
		const reply = writeMessage({ id: query.id, response: true, questions: [{ ...question, unicast: false }], answers });
		reply[2] |= bytes[2] & 0x01; // RD copied from the query (RFC 1035 4.1.1)
		if (!address) reply[3] = (reply[3] & 0xf0) | nameError;
		this.#socket.send(reply, from.port, from.address);
	}

	close(): Promise<void> {
		return new Promise(resolve => this.#socket.close(() => resolve()));
	}
}
