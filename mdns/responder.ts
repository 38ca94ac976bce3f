/*
 * Multicast DNS responder (RFC 6762) with DNS-SD service records
 * (RFC 6763): the device answers to `<hostname>.local` and announces its
 * services, so people type a name instead of finding an address in a log.
 *
 * The life of a name:
 * - Probing (RFC 6762 8.1): three queries for the name, 250 ms apart, our
 *   A record in their Authority section. An answer for the name with other
 *   data is a conflict: the name becomes `<hostname>-2` (then -3, …) and
 *   probing starts again; the log says so. Two devices probing the same
 *   name at once (8.2): the one whose A record compares lower waits 1 s and
 *   probes again, and then meets the other's answer.
 * - Announcing (8.3): every record sent twice, 1 s apart, to the group.
 * - Answering (6): questions for our name (A, ANY), our service types
 *   (PTR), our service instances (SRV, TXT) and the service-type list
 *   (RFC 6763 9), with the records a resolver needs next as additionals.
 *   A query from a port other than 5353 is a one-shot query (6.7): the
 *   answer goes back to it by unicast, with its ID and question, TTL 10.
 *   An answer the querier already holds is not sent again (7.1).
 * - A conflict later (9): a response claiming our name with other data
 *   sends us back to probing.
 * - Goodbye (10.1): on stop(), every record with TTL 0.
 *
 * Service instances are named after the host's label (`xs-netkit` on
 * `xs-netkit.local`), which probing has made unique, so they are not
 * probed on their own. No IPv6 (no AAAA, and no NSEC saying so).
 *
 * The socket is ECMA-419 UDP on port 5353, joined to 224.0.0.251 with
 * `add()`, IP TTL 255 (11). A platform whose UDP socket cannot join a
 * group (the simulator's lin/udp.c has no add()) gets one error line and
 * no name.
 */

import UDP from "embedded:io/socket/udp";
import {
	addressData,
	compareData,
	type Message,
	nameBytes,
	type Question,
	RecordType,
	type ResourceRecord,
	readMessage,
	sameName,
	serviceData,
	textData,
	writeMessage,
} from "mdns/message";
import { Log } from "modules/log";
import Timer from "timer";

export const mdnsGroup = "224.0.0.251";
export const mdnsPort = 5353;

/** A service announced by DNS-SD. */
export interface MdnsService {
	/** Service type and protocol: "_http._tcp", "_echo._udp". */
	type: string;
	port: number;
	/** TXT record strings, "key=value". */
	text?: readonly string[];
}

export interface MdnsResponderOptions {
	/** The name to claim, without ".local": letters, digits and hyphens (RFC 952/1123), 1 to 63. */
	hostname: string;
	services: readonly MdnsService[];
	/** Where it logs. Default a Log tagged logTag. */
	log?: Log;
	/** The tag of the default log. Default "mdns". */
	logTag?: string;
	/** Called once a name is ours (after probing): the name claimed, with ".local". */
	onName?: (name: string) => void;
}

/** TTLs (RFC 6762 10): records naming a host, 120 s; the others, 75 minutes. */
const hostTtl = 120;
const otherTtl = 4500;
/** The TTL of a one-shot answer (RFC 6762 6.7). */
const legacyTtl = 10;
const serviceTypes = "_services._dns-sd._udp.local";
/** Names tried before giving up: xs-netkit, xs-netkit-2, … */
const maxNames = 10;

/** What the responder is doing. */
const Phase = Object.freeze({ Stopped: 0, Probing: 1, Announcing: 2, Announced: 3, Failed: 4 });
type Phase = (typeof Phase)[keyof typeof Phase];

/** ECMA-419 UDP with the methods the lwip socket has and Moddable's typings leave out. */
type MulticastUDP = UDP & { close(): void; add?(address: string): void };
type SocketThis = UDP & { target: MdnsResponder };
type Datagram = ArrayBuffer & { address: string; port: number };

/** Whether `name` can be a host label (RFC 1123 2.1: letters, digits, hyphens, not at the ends). */
export function isHostLabel(name: string): boolean {
	let label = name.length >= 1 && name.length <= 63 && name[0] !== "-" && name[name.length - 1] !== "-";
	for (let i = 0; label && i < name.length; i++) label = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-".indexOf(name[i]) >= 0;
	return label;
}

export class MdnsResponder {
	readonly options: MdnsResponderOptions;
	readonly log: Log;
	/** The label now claimed or being probed: hostname, hostname-2, … */
	label: string;
	private phase: Phase = Phase.Stopped;
	private socket: MulticastUDP | undefined;
	private timer: Timer | undefined;
	/** Probes or announcements sent in this phase. */
	private sent = 0;
	/** Names tried (1: the configured one). */
	private tries = 1;
	private address = "";
	private records: ResourceRecord[] = [];

	constructor(options: MdnsResponderOptions) {
		if (!isHostLabel(options.hostname)) throw new RangeError(`hostname "${options.hostname}": letters, digits and inner hyphens, 1 to 63`);
		this.options = options;
		this.log = options.log ?? new Log(options.logTag ?? "mdns");
		this.label = options.hostname;
	}

	/** The host name claimed (or being probed), with ".local". */
	get name(): string {
		return `${this.label}.local`;
	}

	/** Whether the name is ours (probing is over). */
	get claimed(): boolean {
		return this.phase === Phase.Announcing || this.phase === Phase.Announced;
	}

	/** Claim the name for `address` (the station's), then announce and answer. */
	start(address: string): void {
		if (this.phase !== Phase.Stopped) this.stop();
		this.address = address;
		let socket: MulticastUDP;
		try {
			socket = <MulticastUDP>new UDP({ port: mdnsPort, timeToLive: 255, target: this, onReadable: socketReadable } as ConstructorParameters<typeof UDP>[0]);
		} catch (e) {
			this.log.error(`cannot open port ${mdnsPort}: ${(e as Error).message}; ${this.name} is not announced`);
			return;
		}
		if (typeof socket.add !== "function") {
			socket.close();
			this.log.error(`this platform's UDP socket cannot join a multicast group (no add()); ${this.name} is not announced`);
			return;
		}
		try {
			socket.add(mdnsGroup);
		} catch (e) {
			socket.close();
			this.log.error(`cannot join ${mdnsGroup}: ${(e as Error).message}; ${this.name} is not announced`);
			return;
		}
		this.socket = socket;
		this.timer = Timer.repeat(() => this.fired(), 0x3fffffff);
		this.probe();
	}

	/** Say goodbye (TTL 0) if the name was ours, and close. */
	stop(): void {
		if (this.claimed) this.send(writeMessage({ response: true, answers: this.records.map(record => ({ ...record, ttl: 0 })) }));
		this.phase = Phase.Stopped;
		if (this.timer) Timer.clear(this.timer);
		this.timer = undefined;
		this.socket?.close();
		this.socket = undefined;
	}

	private schedule(delay: number): void {
		Timer.schedule(this.timer!, delay, 0x3fffffff);
	}

	private probe(delay = 0): void {
		this.phase = Phase.Probing;
		this.sent = 0;
		this.records = this.buildRecords();
		// The first probe after a random 0-250 ms (RFC 6762 8.1), so devices powered on together do not collide.
		this.schedule(delay + ((Math.random() * 250) | 0));
	}

	/** The timer: the next probe or announcement. */
	fired(): void {
		if (this.phase === Phase.Probing) {
			if (this.sent < 3) {
				this.sent++;
				const question: Question = { name: this.name, type: RecordType.ANY, unicast: this.sent === 1 };
				this.send(writeMessage({ response: false, questions: [question], authorities: [this.records[0]] }));
				this.schedule(250);
				return;
			}
			this.phase = Phase.Announcing;
			this.sent = 0;
			this.log.info(
				`${this.name} is ours: announcing it at ${this.address}${this.options.services.length ? ` with ${this.options.services.map(s => `${s.type}:${s.port}`).join(", ")}` : ""}`,
			);
			this.options.onName?.(this.name);
		}
		if (this.phase === Phase.Announcing) {
			this.send(writeMessage({ response: true, answers: this.records }));
			if (++this.sent < 2) this.schedule(1000);
			else this.phase = Phase.Announced;
		}
	}

	/** Our records: the A record first, then per service PTR, SRV, TXT, and the service-type PTR. */
	private buildRecords(): ResourceRecord[] {
		const host = this.name;
		const records: ResourceRecord[] = [{ name: host, type: RecordType.A, flush: true, ttl: hostTtl, data: addressData(this.address) }];
		for (const service of this.options.services) {
			const type = `${service.type}.local`,
				instance = `${this.label}.${type}`;
			records.push(
				{ name: type, type: RecordType.PTR, ttl: otherTtl, data: nameBytes(instance) },
				{ name: instance, type: RecordType.SRV, flush: true, ttl: hostTtl, data: serviceData(service.port, host) },
				{ name: instance, type: RecordType.TXT, flush: true, ttl: otherTtl, data: textData(service.text ?? []) },
				{ name: serviceTypes, type: RecordType.PTR, ttl: otherTtl, data: nameBytes(type) },
			);
		}
		return records;
	}

	private send(bytes: Uint8Array, address = mdnsGroup, port = mdnsPort): void {
		try {
			this.socket?.write(bytes.buffer as ArrayBuffer, address, port);
		} catch (e) {
			this.log.warn(`cannot send to ${address}:${port}: ${(e as Error).message}`);
		}
	}

	/** From the socket: `count` datagrams wait. */
	readable(count: number): void {
		while (this.socket && count-- > 0) {
			const datagram = this.socket.read() as Datagram | undefined;
			if (!datagram) return;
			const bytes = new Uint8Array(datagram);
			let message: Message;
			try {
				message = readMessage(bytes);
			} catch (e) {
				if (this.log.debugging) this.log.debug(`ignored a malformed message from ${datagram.address}:${datagram.port}: ${(e as Error).message}`);
				continue;
			}
			if (message.response) this.heardResponse(message);
			else this.heardQuery(message, datagram.address, datagram.port);
		}
	}

	/** A response: does it claim our name with other data (a conflict, RFC 6762 9)? Our own announcements, looped back, do not. */
	private heardResponse(message: Message): void {
		if (this.phase === Phase.Stopped || this.phase === Phase.Failed) return;
		const ours = this.records[0];
		for (const record of [...message.answers, ...message.additionals]) {
			if (record.ttl === 0 || !sameName(record.name, ours.name)) continue;
			if (record.type === RecordType.A && compareData(record.data, ours.data) === 0) continue;
			this.conflict(record.type === RecordType.A ? `another device answers for it (${record.data.join(".")})` : "another device answers for it");
			return;
		}
	}

	/** Another name after a conflict, or back to probing this one when it was ours. */
	private conflict(why: string): void {
		const was = this.name;
		if (this.claimed) {
			this.log.warn(`${was}: ${why}; probing it again`);
			this.probe();
			return;
		}
		if (++this.tries > maxNames) {
			this.phase = Phase.Failed;
			this.log.error(`${was}: ${why}; ${maxNames} names tried, none is free: no name is announced`);
			return;
		}
		this.label = `${this.options.hostname}-${this.tries}`;
		this.log.warn(`${was} is taken: ${why}; trying ${this.name}`);
		this.probe();
	}

	private heardQuery(message: Message, address: string, port: number): void {
		if (this.phase === Phase.Probing) {
			this.tieBreak(message);
			return;
		}
		if (!this.claimed) return;
		const legacy = port !== mdnsPort;
		const answers: ResourceRecord[] = [],
			additionals: ResourceRecord[] = [];
		for (const question of message.questions) this.answer(question, message, answers, additionals);
		if (!answers.length) return;
		for (const record of answers) {
			const i = additionals.indexOf(record);
			if (i >= 0) additionals.splice(i, 1);
		}
		if (legacy) {
			// One-shot query (RFC 6762 6.7): its ID and question back, short TTLs, no cache-flush bits.
			const short = (record: ResourceRecord) => ({ ...record, flush: false, ttl: Math.min(record.ttl, legacyTtl) });
			this.send(
				writeMessage({ id: message.id, response: true, questions: message.questions, answers: answers.map(short), additionals: additionals.map(short) }),
				address,
				port,
			);
		}
		// To the group even when a question asks for unicast (QU, RFC 6762 5.4 allows it): a prober on
		// another subnet of the same link, which a unicast answer could not reach, hears it there.
		else this.send(writeMessage({ response: true, answers, additionals }));
	}

	/** Our records answering `question` go to `answers` (unless the querier holds them, RFC 6762 7.1), those a resolver needs next to `additionals`. */
	private answer(question: Question, message: Message, answers: ResourceRecord[], additionals: ResourceRecord[]): void {
		const any = question.type === RecordType.ANY;
		for (const record of this.records) {
			if (!sameName(record.name, question.name) || !(any || record.type === question.type)) continue;
			if (
				message.answers.some(
					known => known.type === record.type && sameName(known.name, record.name) && compareData(known.data, record.data) === 0 && known.ttl >= record.ttl / 2,
				)
			)
				continue;
			if (answers.indexOf(record) < 0) answers.push(record);
			// What a resolver asks next (RFC 6763 12): for a PTR, the instance's SRV and TXT; for an SRV, the host's address.
			if (record.type === RecordType.PTR && !sameName(record.name, serviceTypes)) {
				const instance = this.records.filter(
					r => (r.type === RecordType.SRV || r.type === RecordType.TXT) && compareData(nameBytes(r.name), record.data) === 0,
				);
				for (const r of instance) if (additionals.indexOf(r) < 0) additionals.push(r);
			}
			if (record.type === RecordType.PTR || record.type === RecordType.SRV) if (additionals.indexOf(this.records[0]) < 0) additionals.push(this.records[0]);
		}
	}

	/** Another device probing our name at the same time (RFC 6762 8.2): the lower A record waits 1 s and probes again. */
	private tieBreak(message: Message): void {
		const ours = this.records[0];
		for (const record of message.authorities) {
			if (!sameName(record.name, ours.name) || record.type !== RecordType.A) continue;
			if (compareData(ours.data, record.data) < 0) {
				this.log.info(`${this.name}: another device probes it too (${record.data.join(".")}); waiting 1 s (RFC 6762 8.2)`);
				this.probe(1000);
			}
			return;
		}
	}
}

function socketReadable(this: SocketThis, count: number): void {
	this.target.readable(count);
}
