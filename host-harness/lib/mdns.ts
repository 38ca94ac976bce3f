/*
 * The harness's own mDNS resolver (RFC 6762 5.1, one-shot queries): it
 * finds `<name>.local` and browses DNS-SD service types without the PC's
 * resolver (no nss-mdns or Avahi needed). A query goes from a port of its
 * own to 224.0.0.251:5353 out of each IPv4 interface that can multicast
 * (or the one given); a responder answers a one-shot query by unicast, so
 * answers come back to that port. Messages are read and written by the
 * device's own code (mdns/message.ts).
 */

import * as dgram from "node:dgram";
import * as os from "node:os";
import { type Message, nameIn, RecordType, type ResourceRecord, readMessage, readText, sameName, writeMessage } from "../../mdns/message.js";
import { CommandFailure } from "./arguments.js";

const group = "224.0.0.251";
const port = 5353;

/** Whether a host name is an mDNS name (RFC 6762 3: names ending in ".local"). */
export function isMdnsName(host: string): boolean {
	return /\.local\.?$/i.test(host);
}

/** The addresses to ask from: every IPv4 interface that is up and not loopback, or the one given. */
function interfaceAddresses(only?: string): string[] {
	if (only) return [only];
	return Object.values(os.networkInterfaces()).flatMap(list => (list ?? []).filter(i => i.family === "IPv4" && !i.internal).map(i => i.address));
}

export interface QueryOptions {
	/** Ask out of this interface only (its address). */
	interfaceAddress?: string;
	/** How long to collect answers (ms). */
	timeoutMs?: number;
	/** Stop at the first answer that satisfies this. */
	enough?: (message: Message, bytes: Uint8Array) => boolean;
}

/**
 * Query out of every interface and collect every response until timeoutMs
 * (or `enough`). Asked again after 1 s, then at doubling intervals, as a
 * continuous querier does (RFC 6762 5.2): a device still probing its name
 * when the query starts (its first second, 8.1) answers a later one.
 */
export async function query(name: string, type: number, options: QueryOptions = {}): Promise<{ message: Message; bytes: Uint8Array; from: string }[]> {
	const timeoutMs = options.timeoutMs ?? 1500;
	const answers: { message: Message; bytes: Uint8Array; from: string }[] = [];
	const sockets: dgram.Socket[] = [];
	let done: () => void = () => {};
	const finished = new Promise<void>(resolve => {
		done = resolve;
	});
	const request = writeMessage({ id: (Math.random() * 0xffff) | 0, response: false, questions: [{ name, type, unicast: false }] });
	for (const address of interfaceAddresses(options.interfaceAddress)) {
		const socket = dgram.createSocket({ type: "udp4" });
		sockets.push(socket);
		socket.on("error", () => {});
		socket.on("message", (data, from) => {
			const bytes = new Uint8Array(data);
			try {
				const message = readMessage(bytes);
				if (!message.response) return;
				answers.push({ message, bytes, from: from.address });
				if (options.enough?.(message, bytes)) done();
			} catch {
				// not DNS: ignored, as a resolver does
			}
		});
		await new Promise<void>(resolve => socket.bind(0, address, () => resolve()));
		try {
			socket.setMulticastInterface(address);
			socket.setMulticastTTL(255);
		} catch {
			// an interface that cannot multicast
		}
	}
	const ask = () => {
		for (const socket of sockets) socket.send(request, port, group, () => {}); // an interface that cannot send: its error event, ignored
	};
	ask();
	let interval = 1000;
	let again: NodeJS.Timeout;
	const askAgain = () => {
		ask();
		interval *= 2;
		again = setTimeout(askAgain, interval);
	};
	again = setTimeout(askAgain, interval);
	const timer = setTimeout(done, timeoutMs);
	await finished;
	clearTimeout(timer);
	clearTimeout(again);
	for (const socket of sockets) socket.close();
	return answers;
}

function records(message: Message): ResourceRecord[] {
	return [...message.answers, ...message.additionals];
}

function addressOf(record: ResourceRecord): string {
	return Array.from(record.data).join(".");
}

/** The IPv4 address of `name` (".local"), or undefined when nothing answered within timeoutMs. */
export async function resolveMdns(name: string, options: Omit<QueryOptions, "enough"> = {}): Promise<string | undefined> {
	const host = name.replace(/\.$/, "");
	const isAnswer = (message: Message) => records(message).some(r => r.type === RecordType.A && sameName(r.name, host));
	const answers = await query(host, RecordType.A, { ...options, timeoutMs: options.timeoutMs ?? 3000, enough: isAnswer });
	for (const { message } of answers) {
		const record = records(message).find(r => r.type === RecordType.A && sameName(r.name, host));
		if (record) return addressOf(record);
	}
	return undefined;
}

/** A device `discover` heard: its instance name, host name, address, the kit's port and its TXT entries. */
export interface DiscoveredDevice {
	instance: string;
	host: string;
	address: string;
	port: number;
	text: Record<string, string>;
}

/** Every instance of a DNS-SD service type that answers within timeoutMs (RFC 6763 4), with its SRV, TXT and address. */
export async function browse(type = "_xs-netkit._tcp", options: Omit<QueryOptions, "enough"> = {}): Promise<DiscoveredDevice[]> {
	const service = `${type}.local`;
	const answers = await query(service, RecordType.PTR, { ...options, timeoutMs: options.timeoutMs ?? 2000 });
	const found = new Map<string, DiscoveredDevice>();
	for (const { message, bytes, from } of answers) {
		const all = records(message);
		for (const pointer of all.filter(r => r.type === RecordType.PTR && sameName(r.name, service))) {
			const instance = nameIn(bytes, pointer.data);
			const srv = all.find(r => r.type === RecordType.SRV && sameName(r.name, instance));
			const txt = all.find(r => r.type === RecordType.TXT && sameName(r.name, instance));
			const host = srv ? nameIn(bytes, srv.data, 6) : "";
			const a = all.find(r => r.type === RecordType.A && sameName(r.name, host));
			const text: Record<string, string> = {};
			for (const entry of txt ? readText(txt.data) : []) {
				const eq = entry.indexOf("=");
				text[eq < 0 ? entry : entry.slice(0, eq)] = eq < 0 ? "" : entry.slice(eq + 1);
			}
			found.set(instance.toLowerCase(), {
				instance,
				host,
				address: a ? addressOf(a) : from,
				port: srv ? (srv.data[4] << 8) | srv.data[5] : 0,
				text,
			});
		}
	}
	return [...found.values()].sort((a, b) => a.instance.localeCompare(b.instance));
}

/** A device named by address or by mDNS name: its address. Throws an Error saying what did not answer. */
export async function deviceAddress(host: string, options: Omit<QueryOptions, "enough"> = {}): Promise<string> {
	if (!isMdnsName(host)) return host;
	const address = await resolveMdns(host, options);
	if (!address)
		throw new Error(
			`${host}: no answer to an mDNS query within ${options.timeoutMs ?? 3000} ms on ${interfaceAddresses(options.interfaceAddress).join(", ") || "no interface"} (is the device on this LAN, with mdns on?)`,
		);
	return address;
}

/** For a command's --device: the address of a board named by address or mDNS name, said on stderr when resolved; a failure is the command's one-line error. */
export async function boardAddress(device: string): Promise<string> {
	if (!isMdnsName(device)) return device;
	try {
		const address = await deviceAddress(device);
		process.stderr.write(`${device} is ${address} (mDNS)\n`);
		return address;
	} catch (e) {
		throw new CommandFailure((e as Error).message);
	}
}
