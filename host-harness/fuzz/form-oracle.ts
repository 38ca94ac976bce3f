/*
 * The reference oracle for the provisioning page's form decoding
 * (wifi/form): given a body's bytes and a field name, what the device must
 * read. Written from the WHATWG URL Standard's urlencoded parser (5.1), not
 * from the device's code: split on "&", skip empty parts, split a part at
 * its first "=", "+" is a space, percent-decode (a "%" without two hex
 * digits stays), the first field of that name wins. Then the kit's two
 * documented refusals (docs/api-wifi.md): a value whose bytes are not UTF-8
 * (where the Standard puts U+FFFD), or that holds a NUL byte, reads as no
 * field at all.
 *
 * `standardField` is the Standard itself, through Node's URLSearchParams,
 * which the unit tests hold this oracle against where no refusal applies.
 */

import { validUtf8 } from "./utf8.js";

function hex(c: number): number {
	const s = String.fromCharCode(c);
	return /^[0-9A-Fa-f]$/.test(s) ? parseInt(s, 16) : -1;
}

/** Percent-decoding with "+" as a space (URL Standard 5.1 steps 3.3-3.4 and 1.3 "percent-decode"). */
export function formDecode(bytes: Uint8Array): Buffer {
	const out: number[] = [];
	for (let i = 0; i < bytes.length; i++) {
		const c = bytes[i];
		if (c === 0x2b) out.push(0x20);
		else if (c === 0x25 && i + 2 < bytes.length && hex(bytes[i + 1]) >= 0 && hex(bytes[i + 2]) >= 0) {
			out.push(hex(bytes[i + 1]) * 16 + hex(bytes[i + 2]));
			i += 2;
		} else out.push(c);
	}
	return Buffer.from(out);
}

/** What the device must read for `name` in `body`: the decoded value, or undefined (no such field, or the first one refused). */
export function expectedField(body: Uint8Array, name: string): string | undefined {
	const parts: Uint8Array[] = [];
	let start = 0;
	for (let i = 0; i <= body.length; i++) {
		if (i === body.length || body[i] === 0x26) {
			parts.push(body.subarray(start, i));
			start = i + 1;
		}
	}
	for (const part of parts) {
		if (!part.length) continue;
		const eq = part.indexOf(0x3d);
		const rawName = eq < 0 ? part : part.subarray(0, eq);
		const rawValue = eq < 0 ? new Uint8Array(0) : part.subarray(eq + 1);
		if (!formDecode(rawName).equals(Buffer.from(name, "utf8"))) continue;
		const value = formDecode(rawValue);
		if (value.includes(0) || !validUtf8(value)) return undefined;
		return value.toString("utf8");
	}
	return undefined;
}

/**
 * The Standard's answer, from Node's URLSearchParams: the body's bytes
 * outside ASCII are first written as %XX, which the parser decodes back to
 * the same bytes (a raw byte and its percent-encoding decode alike), so a
 * body that is not UTF-8 reaches it whole.
 */
export function standardField(body: Uint8Array, name: string): string | undefined {
	let text = "";
	for (const b of body) text += b < 0x80 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
	return new URLSearchParams(text).get(name) ?? undefined;
}
