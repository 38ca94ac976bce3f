/*
 * DNS messages as Multicast DNS uses them (RFC 1035 4, RFC 6762 18): a
 * reader for the questions and records a responder must look at, and a
 * writer for the records it sends. Pure: no sockets, no clock, no imports,
 * so the harness's resolver reads and writes with the same code.
 *
 * Reading follows name compression (RFC 1035 4.1.4), refusing pointers
 * that do not point back (no loops) and names over 255 bytes. Writing does
 * not compress: a device's answers are a few hundred bytes.
 *
 * Names are compared case-insensitively (RFC 1035 2.3.3), ASCII only.
 */

/** Record types (RFC 1035 3.2.2, RFC 2782, RFC 6762). */
export const RecordType = Object.freeze({ A: 1, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, NSEC: 47, ANY: 255 });

/** The class IN, and the top bit mDNS gives it: cache-flush in a record, unicast-response in a question (RFC 6762 10.2, 5.4). */
export const classIn = 1;
export const topBit = 0x8000;

export interface Question {
	name: string;
	type: number;
	/** The QU bit: the querier asks for a unicast answer (RFC 6762 5.4). */
	unicast: boolean;
}

export interface ResourceRecord {
	name: string;
	type: number;
	/** Cache-flush (RFC 6762 10.2): the record is the only one of its name and type. */
	flush?: boolean;
	/** Seconds; 0 is a goodbye (RFC 6762 10.1). */
	ttl: number;
	/** The record's data as sent on the wire (names inside uncompressed when written by us; as received otherwise). */
	data: Uint8Array;
}

export interface Message {
	id: number;
	/** A response (QR set), not a query. */
	response: boolean;
	questions: Question[];
	answers: ResourceRecord[];
	authorities: ResourceRecord[];
	additionals: ResourceRecord[];
}

/** Why a message could not be read. */
export class MalformedMessage extends Error {}

/** Lower-case ASCII, for comparing names. */
export function sameName(a: string, b: string): boolean {
	return a.length === b.length && a.toLowerCase() === b.toLowerCase();
}

// Reading

/** A name at `offset`: the name and the offset after it in the message (after the first pointer, if any). */
export function readName(bytes: Uint8Array, offset: number): { name: string; next: number } {
	let name = "",
		next = -1,
		at = offset,
		length = 0;
	for (let hops = 0; ; ) {
		if (at >= bytes.length) throw new MalformedMessage("a name runs past the message");
		const count = bytes[at];
		if (count === 0) {
			if (next < 0) next = at + 1;
			return { name, next };
		}
		if ((count & 0xc0) === 0xc0) {
			if (at + 1 >= bytes.length) throw new MalformedMessage("a name pointer runs past the message");
			const target = ((count & 0x3f) << 8) | bytes[at + 1];
			if (next < 0) next = at + 2;
			// A pointer points back, to an earlier name (RFC 1035 4.1.4): forward or self pointers could loop.
			if (target >= at || ++hops > 64) throw new MalformedMessage("a name pointer does not point back");
			at = target;
			continue;
		}
		if (count & 0xc0) throw new MalformedMessage("a label with reserved length bits");
		if (at + 1 + count > bytes.length) throw new MalformedMessage("a label runs past the message");
		length += count + 1;
		if (length > 255) throw new MalformedMessage("a name over 255 bytes");
		let label = "";
		for (let i = at + 1; i <= at + count; i++) label += String.fromCharCode(bytes[i]);
		name += name.length ? "." + label : label;
		at += 1 + count;
	}
}

function readRecords(bytes: Uint8Array, view: DataView, count: number, at: { offset: number }): ResourceRecord[] {
	const records: ResourceRecord[] = [];
	for (let i = 0; i < count; i++) {
		const { name, next } = readName(bytes, at.offset);
		if (next + 10 > bytes.length) throw new MalformedMessage("a record runs past the message");
		const type = view.getUint16(next),
			klass = view.getUint16(next + 2),
			ttl = view.getUint32(next + 4),
			size = view.getUint16(next + 8);
		const start = next + 10;
		if (start + size > bytes.length) throw new MalformedMessage("a record's data runs past the message");
		records.push({ name, type, flush: (klass & topBit) !== 0, ttl, data: bytes.subarray(start, start + size) });
		at.offset = start + size;
	}
	return records;
}

/** The whole message; throws MalformedMessage. Records' data are views of `bytes`. */
export function readMessage(bytes: Uint8Array): Message {
	if (bytes.length < 12) throw new MalformedMessage(`${bytes.length} bytes, shorter than a DNS header`);
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const id = view.getUint16(0),
		flags = view.getUint16(2);
	const counts = [view.getUint16(4), view.getUint16(6), view.getUint16(8), view.getUint16(10)];
	const at = { offset: 12 };
	const questions: Question[] = [];
	for (let i = 0; i < counts[0]; i++) {
		const { name, next } = readName(bytes, at.offset);
		if (next + 4 > bytes.length) throw new MalformedMessage("a question runs past the message");
		questions.push({ name, type: view.getUint16(next), unicast: (view.getUint16(next + 2) & topBit) !== 0 });
		at.offset = next + 4;
	}
	return {
		id,
		response: (flags & 0x8000) !== 0,
		questions,
		answers: readRecords(bytes, view, counts[1], at),
		authorities: readRecords(bytes, view, counts[2], at),
		additionals: readRecords(bytes, view, counts[3], at),
	};
}

/** The name in a PTR record's data, or an SRV record's target (after priority, weight, port), read inside `message`. */
export function nameIn(message: Uint8Array, data: Uint8Array, skip = 0): string {
	return readName(message, data.byteOffset - message.byteOffset + skip).name;
}

// Writing

/** A name as labels (RFC 1035 3.1); throws RangeError for a label over 63 bytes or a name over 255. */
export function nameBytes(name: string): Uint8Array {
	const labels = name.split(".").filter(label => label.length);
	let size = 1;
	for (const label of labels) {
		if (label.length > 63) throw new RangeError(`label "${label}" is over 63 bytes`);
		size += label.length + 1;
	}
	if (size > 255) throw new RangeError(`name "${name}" is over 255 bytes`);
	const bytes = new Uint8Array(size);
	let at = 0;
	for (const label of labels) {
		bytes[at++] = label.length;
		for (let i = 0; i < label.length; i++) bytes[at++] = label.charCodeAt(i) & 0x7f;
	}
	return bytes;
}

/** An A record's data: the four bytes of a dotted IPv4 address. */
export function addressData(address: string): Uint8Array {
	const parts = address.split(".");
	const bytes = new Uint8Array(4);
	for (let i = 0; i < 4; i++) bytes[i] = Number(parts[i]) & 0xff;
	return bytes;
}

/** An SRV record's data (RFC 2782): priority 0, weight 0, port, target. */
export function serviceData(port: number, target: string): Uint8Array {
	const name = nameBytes(target);
	const bytes = new Uint8Array(6 + name.length);
	bytes[4] = port >> 8;
	bytes[5] = port & 0xff;
	bytes.set(name, 6);
	return bytes;
}

/** A TXT record's data (RFC 6763 6): "key=value" strings, each at most 255 bytes; one empty string when there are none. */
export function textData(entries: readonly string[]): Uint8Array {
	const strings = entries.length ? entries : [""];
	let size = 0;
	for (const entry of strings) size += 1 + Math.min(255, entry.length);
	const bytes = new Uint8Array(size);
	let at = 0;
	for (const entry of strings) {
		const length = Math.min(255, entry.length);
		bytes[at++] = length;
		for (let i = 0; i < length; i++) bytes[at++] = entry.charCodeAt(i) & 0xff;
	}
	return bytes;
}

/** A TXT record's strings. */
export function readText(data: Uint8Array): string[] {
	const entries: string[] = [];
	for (let at = 0; at < data.length; ) {
		const length = data[at++];
		let entry = "";
		for (let i = 0; i < length && at < data.length; i++) entry += String.fromCharCode(data[at++]);
		if (entry.length) entries.push(entry);
	}
	return entries;
}

/** A message: header, questions, then the three record sections. `id` 0 and no question for a multicast response (RFC 6762 18). */
export function writeMessage(message: {
	id?: number;
	response: boolean;
	questions?: readonly Question[];
	answers?: readonly ResourceRecord[];
	authorities?: readonly ResourceRecord[];
	additionals?: readonly ResourceRecord[];
}): Uint8Array {
	const questions = message.questions ?? [],
		answers = message.answers ?? [],
		authorities = message.authorities ?? [],
		additionals = message.additionals ?? [];
	const parts: Uint8Array[] = [];
	let size = 12;
	for (const question of questions) {
		const name = nameBytes(question.name);
		parts.push(name);
		size += name.length + 4;
	}
	for (const record of [...answers, ...authorities, ...additionals]) {
		const name = nameBytes(record.name);
		parts.push(name);
		size += name.length + 10 + record.data.length;
	}
	const bytes = new Uint8Array(size);
	const view = new DataView(bytes.buffer);
	view.setUint16(0, message.id ?? 0);
	// A response is authoritative (RFC 6762 18.4): QR and AA.
	view.setUint16(2, message.response ? 0x8400 : 0);
	view.setUint16(4, questions.length);
	view.setUint16(6, answers.length);
	view.setUint16(8, authorities.length);
	view.setUint16(10, additionals.length);
	let at = 12,
		part = 0;
	for (const question of questions) {
		bytes.set(parts[part], at);
		at += parts[part++].length;
		view.setUint16(at, question.type);
		view.setUint16(at + 2, classIn | (question.unicast ? topBit : 0));
		at += 4;
	}
	for (const record of [...answers, ...authorities, ...additionals]) {
		bytes.set(parts[part], at);
		at += parts[part++].length;
		view.setUint16(at, record.type);
		view.setUint16(at + 2, classIn | (record.flush ? topBit : 0));
		view.setUint32(at + 4, record.ttl);
		view.setUint16(at + 8, record.data.length);
		bytes.set(record.data, at + 10);
		at += 10 + record.data.length;
	}
	return bytes;
}

/** Byte-wise comparison of two records' data (RFC 6762 8.2: the lexicographically later one wins a tie-break). */
export function compareData(a: Uint8Array, b: Uint8Array): number {
	const length = Math.min(a.length, b.length);
	for (let i = 0; i < length; i++) {
		if (a[i] !== b[i]) return a[i] - b[i];
	}
	return a.length - b.length;
}
