/*
 * SNTP messages (RFC 4330; the NTPv4 header of RFC 5905 7.3): the client's
 * request, and the checks a client makes on an answer before it believes
 * the time in it (RFC 4330 5). Pure: no sockets, no clock.
 *
 * The header, 48 bytes, big-endian:
 *   0  LI (2 bits) | VN (3) | Mode (3)
 *   1  Stratum          2 Poll      3 Precision
 *   4  Root Delay       8 Root Dispersion
 *   12 Reference ID (a kiss code in ASCII when Stratum is 0)
 *   16 Reference Timestamp   24 Originate Timestamp
 *   32 Receive Timestamp     40 Transmit Timestamp
 * A timestamp is seconds since 1900 (32 bits) and a binary fraction (32).
 */

/** Bytes in an SNTP message without extensions. */
export const sntpLength = 48;

/** Seconds from 1900 (NTP's era 0) to 1970. */
const ntpToUnix = 2208988800;

/** Modes (RFC 5905 7.3). */
const modeClient = 3;
const modeServer = 4;
const modeBroadcast = 5;

/** What an answer says: the time, a kiss-of-death, or why it is not believed. */
export type SntpAnswer =
	| { kind: "time" /** Transmit Timestamp of the server, ms since 1970. */; time: number; stratum: number }
	| { kind: "kiss" /** The kiss code (RFC 4330 8): "DENY", "RSTR", "RATE", … */; code: string }
	| { kind: "invalid"; reason: string };

/**
 * Write a client request into `into` (48 bytes or more): LI 0, VN 4, Mode 3,
 * and `nonce` (8 bytes) as its Transmit Timestamp. RFC 4330 5 lets a client
 * put anything there; the server echoes it as the answer's Originate
 * Timestamp, which is how an answer to another request (or a forged one)
 * is told apart. A clock that reads 1970 would make a poor nonce.
 */
export function writeRequest(into: Uint8Array, nonce: Uint8Array): Uint8Array {
	const request = into.subarray(0, sntpLength);
	request.fill(0);
	request[0] = (0 << 6) | (4 << 3) | modeClient;
	request.set(nonce.subarray(0, 8), 40);
	return request;
}

/** The checks of RFC 4330 5 on an answer to the request whose Transmit Timestamp was `nonce`. */
export function readAnswer(bytes: Uint8Array, nonce: Uint8Array): SntpAnswer {
	if (bytes.length < sntpLength) return { kind: "invalid", reason: `${bytes.length} bytes, not an SNTP message (48 or more)` };
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const leap = bytes[0] >> 6,
		version = (bytes[0] >> 3) & 7,
		mode = bytes[0] & 7;
	const stratum = bytes[1];
	if (mode !== modeServer && mode !== modeBroadcast) return { kind: "invalid", reason: `mode ${mode}, not a server's answer` };
	if (version < 3 || version > 4) return { kind: "invalid", reason: `version ${version}` };
	for (let i = 0; i < 8; i++) {
		if (bytes[24 + i] !== nonce[i]) return { kind: "invalid", reason: "not an answer to our request (Originate Timestamp differs)" };
	}
	// Stratum 0: a kiss-of-death, its code in the Reference ID (RFC 4330 8).
	if (stratum === 0) return { kind: "kiss", code: kissCode(bytes) };
	if (stratum > 15) return { kind: "invalid", reason: `stratum ${stratum} (unsynchronized)` };
	if (leap === 3) return { kind: "invalid", reason: "the server's clock is not synchronized (leap indicator 3)" };
	const seconds = view.getUint32(40),
		fraction = view.getUint32(44);
	if (seconds === 0 && fraction === 0) return { kind: "invalid", reason: "no Transmit Timestamp" };
	return { kind: "time", time: unixMilliseconds(seconds, fraction), stratum };
}

/** The Reference ID as four printable ASCII characters ("?" for any other byte). */
function kissCode(bytes: Uint8Array): string {
	let code = "";
	for (let i = 12; i < 16; i++) code += bytes[i] > 0x20 && bytes[i] < 0x7f ? String.fromCharCode(bytes[i]) : "?";
	return code;
}

/**
 * An NTP timestamp as ms since 1970. Seconds with the top bit clear belong
 * to era 1, from 2036-02-07 on (RFC 4330 3): a 1968-2036 clock reads the
 * top bit set.
 */
export function unixMilliseconds(seconds: number, fraction: number): number {
	const era = seconds < 0x80000000 ? 0x100000000 : 0;
	return (seconds + era - ntpToUnix) * 1000 + Math.floor(fraction / 4294967.296);
}
