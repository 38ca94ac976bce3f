/*
 * What a conformance case is, and the vocabulary cases are written in:
 * steps (bytes to send, how, and fail-fast gates) and expectations (the
 * messages, pongs and Close the server must answer with).
 */

import type { TlsTrust } from "./client.js";
import { type Bytes, bytes, closeBody, frame, Op } from "./frames.js";

export type Scale = "full" | "small";

export interface SuiteOptions {
	scale: Scale;
	/** The server's whole-message limit: larger messages must fail with 1009. Undefined: the server streams, every size must echo. */
	maxMessage?: number;
	/** Message sizes for the limits cases (9.x). */
	sizes: number[];
	/** Messages in each round-trip case (9.7, 9.8). */
	roundTrips: number;
}

export interface CaseContext {
	url: URL;
	/** wss://: the CA the server's certificate must chain to. */
	tls?: TlsTrust;
	/** Budget for each wait within the case (ms). */
	timeoutMs: number;
	/** A server must close within this long of the byte that made the input invalid (ms). */
	failFastMs: number;
}

export interface Outcome {
	passed: boolean;
	observed: string;
	/** Set when a failure is only a missed fail-fast gate: the right Close, late (Autobahn's NON-STRICT). */
	late?: boolean;
}

export interface Case {
	/** "5.3", "6.20.4": category number first. */
	id: string;
	category: string;
	description: string;
	expected: string;
	run(context: CaseContext): Promise<Outcome>;
}

export const categories: Record<string, string> = {
	"1": "Framing",
	"2": "Pings and Pongs",
	"3": "Reserved Bits",
	"4": "Opcodes",
	"5": "Fragmentation",
	"6": "UTF-8 Handling",
	"7": "Close Handling",
	"9": "Limits and Performance",
	"10": "Auto-Fragmentation",
	"12": "Opening Handshake",
};

export const categoryOf = (id: string): string => `${id.split(".")[0]} ${categories[id.split(".")[0]]}`;

/* ------------------------------------------------------------------ steps */

export type Step =
	/**
	 * Write these bytes (frames concatenated; a function is called when the step runs, for large
	 * payloads), in chunks of `chunk` bytes with `delayMs` between them. `closes`: they hold our Close.
	 */
	| { send: Data | (() => Data); chunk?: number; delayMs?: number; closes?: boolean }
	/** Wait, to let the server act on what came before. */
	| { sleep: number }
	/** Fail-fast gate: the server must have sent its Close (or closed TCP) within failFastMs from here. */
	| { failFast: true }
	/** Wait until the server has sent this many whole messages (round trips). */
	| { messages: number };

type Data = Uint8Array | Uint8Array[];

export const send = (data: Data | (() => Data), options: { chunk?: number; delayMs?: number } = {}): Step => ({ send: data, ...options });
export const sendClose = (code?: number, reason: Bytes = ""): Step => ({ send: frame(Op.CLOSE, closeBody(code, reason)), closes: true });
export const failFast: Step = { failFast: true };

/* ----------------------------------------------------------- expectations */

export interface Message {
	type: number;
	data: Buffer;
}

export interface Expect {
	/** Whole messages the server must send, in order (nothing else). */
	messages?: Message[];
	/** Pongs the server must send, in order (nothing else). */
	pongs?: Buffer[];
	/** 5.5.3: the server may answer only the latest of several Pings: any in-order subset ending with the last. */
	coalesce?: boolean;
	/**
	 * The server's Close: omitted, the connection must stay open and then
	 * answer our Close 1000 with 1000 and close TCP; a code, the server must
	 * send a Close with it (null: without a code) and then close TCP.
	 */
	close?: number | null | (number | null)[];
}

export const echo = (type: number, data: Bytes): Message => ({ type, data: bytes(data) });
export const text = (data: Bytes): Message => echo(Op.TEXT, data);
export const binary = (data: Bytes): Message => echo(Op.BINARY, data);

/** A frame-level case: steps, then the expectation (or any of several). */
export interface FrameCaseSpec {
	id: string;
	description: string;
	steps: Step[];
	expect: Expect | Expect[];
}

/** Large payloads are made once and shared (never written to): the limits cases reuse them. */
const made = new Map<string, Buffer>();
function shared(kind: string, length: number, seed: number, make: () => Buffer): Buffer {
	if (length < 65536) return make();
	const key = `${kind}:${length}:${seed}`;
	let out = made.get(key);
	if (!out) made.set(key, (out = make()));
	return out;
}

/** Message of `length` printable ASCII bytes. */
export function ascii(length: number, seed = 0): Buffer {
	return shared("ascii", length, seed, () => {
		const out = Buffer.allocUnsafe(length);
		for (let i = 0; i < length; i++) out[i] = 0x21 + ((i * 7 + seed) % 94);
		return out;
	});
}

/** `length` bytes covering all values. */
export function pattern(length: number, seed = 0): Buffer {
	return shared("pattern", length, seed, () => {
		const out = Buffer.allocUnsafe(length);
		for (let i = 0; i < length; i++) out[i] = (i * 31 + seed + (i >> 8)) & 0xff;
		return out;
	});
}

/** Multi-byte UTF-8 text of exactly `length` bytes: a mix of 1- to 4-byte code points. */
export function utf8Text(length: number): Buffer {
	const units = ["a", "µ", "€", "𝄞", "κόσμε", "ß"].map(s => Buffer.from(s));
	const parts: Buffer[] = [];
	let size = 0;
	for (let i = 0; size < length; i++) {
		let unit = units[i % units.length];
		if (size + unit.length > length) unit = Buffer.from("a");
		parts.push(unit);
		size += unit.length;
	}
	return Buffer.concat(parts, length);
}
