/*
 * `base64` for the Node-hosted device and unit tests: Moddable's
 * $(MODULES)/data/base64 (base64.js + modBase64.c), ported from the C code:
 *
 * - Base64.encode(source): source is a string (its UTF-8 bytes, up to a NUL
 *   as the C code's strlen) or a buffer (ArrayBuffer, byte typed array,
 *   DataView); returns standard base64 ("+/") with "=" padding.
 * - Base64.decode(string): returns an ArrayBuffer. Lenient as the C code:
 *   characters outside the alphabet are skipped, "=" ends the input (it
 *   marks the last group), a trailing partial group without "=" is dropped.
 *
 * Note: the SDK marks this module deprecated in favor of Uint8Array's
 * toBase64/fromBase64 (which Node 20 lacks). Deviations: none intended.
 */

import { byteBufferOrString } from "./buffers.js";

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function encode(source: string | ArrayBuffer | ArrayBufferView): string {
	const src = byteBufferOrString(source);
	let out = "",
		i = 0;
	for (; i + 2 < src.length; i += 3) {
		const a = src[i],
			b = src[i + 1],
			c = src[i + 2];
		out += alphabet[a >> 2] + alphabet[((a & 3) << 4) | (b >> 4)] + alphabet[((b & 0xf) << 2) | (c >> 6)] + alphabet[c & 0x3f];
	}
	if (src.length - i === 2) {
		const a = src[i],
			b = src[i + 1];
		out += alphabet[a >> 2] + alphabet[((a & 3) << 4) | (b >> 4)] + alphabet[(b & 0xf) << 2] + "=";
	} else if (src.length - i === 1) {
		const a = src[i];
		out += alphabet[a >> 2] + alphabet[(a & 3) << 4] + "==";
	}
	return out;
}

function decode(string: string): ArrayBuffer {
	const src = byteBufferOrString(String(string));
	const dst = new Uint8Array(Math.floor(src.length / 4) * 3);
	const group = [0, 0, 0, 0];
	let d = 0,
		n = 0,
		keep = 3,
		last = false;
	for (let s = 0; s < src.length; s++) {
		let v = src[s];
		if (v >= 65 && v <= 90) v -= 65;
		else if (v >= 97 && v <= 122) v = v - 97 + 26;
		else if (v >= 48 && v <= 57) v = v - 48 + 52;
		else if (v === 43) v = 62;
		else if (v === 47) v = 63;
		else if (v === 61) {
			// "="
			if (n === 2) {
				if (src[s + 1] !== 61) continue;
				group[n++] = 0;
				keep = 1;
				v = 0;
				last = true;
			} else if (n === 3) {
				keep = 2;
				v = 0;
				last = true;
			} else continue;
		} else continue;
		group[n++] = v;
		if (n === 4) {
			dst[d++] = (group[0] << 2) | ((group[1] & 0x30) >> 4);
			if (keep > 1) dst[d++] = ((group[1] & 0x0f) << 4) | ((group[2] & 0x3c) >> 2);
			if (keep > 2) dst[d++] = ((group[2] & 0x03) << 6) | (group[3] & 0x3f);
			n = 0;
		}
		if (last) break;
	}
	return dst.buffer.slice(0, d);
}

const Base64 = Object.freeze({ encode, decode });
export default Base64;
