/*
 * The two secrets of provisioning, made once on the device and kept in its
 * preferences (domain "provision"), so they stay the same from boot to boot
 * and a person can write them down:
 *
 *   passphrase  the access point's WPA2 passphrase: 12 characters in three
 *               groups ("k7m2-wq9x-4hzc", 59 bits): joining the access point
 *               takes it, and WPA2 encrypts what crosses the air after that
 *   code        the proof of possession: 8 characters (39 bits) the page
 *               asks for before it saves, forgets or reports anything
 *
 * Both come from the SDK's random generator (rng: on esp32 seeded by the
 * hardware generator), hashed with the clock and the tick count so that a
 * generator seeded the same on every device (the simulator's) still gives
 * each device its own. The alphabet leaves out characters read one for
 * another (0 o, 1 l i) and upper case, which a phone's keyboard starts with.
 *
 * Either may be configured instead (provisionPassword, provisionCode, which
 * app/config-schema validates): then nothing is made or kept for it. The
 * passphrase "open" asks for an open access point (no WPA2).
 */

import { Digest } from "crypt";
import RNG from "rng";
import Time from "time";
import type { PreferenceStore } from "wifi/credentials";

const domain = "provision";

/** 31 characters: digits 2-9 and the lower-case letters but i, l, o. */
export const secretAlphabet = "23456789abcdefghjkmnpqrstuvwxyz";

/** The provisionPassword value that asks for an open access point. */
export const openAccessPoint = "open";

export interface ProvisioningSecrets {
	/** The access point's WPA2 passphrase; "" for an open access point. */
	passphrase: string;
	code: string;
	/** Where each came from: "configured", "made" (this boot) or "kept" (made at an earlier boot). */
	passphraseFrom: "configured" | "made" | "kept" | "open";
	codeFrom: "configured" | "made" | "kept";
}

/**
 * `length` characters of secretAlphabet, drawn without bias: a byte is
 * used only when below 248 (8 × 31), so each character is equally likely.
 */
export function randomSecret(length: number): string {
	let out = "";
	while (out.length < length) {
		const bytes = new Uint8Array(randomBytes());
		for (let i = 0; i < bytes.length && out.length < length; i++) {
			if (bytes[i] < 248) out += secretAlphabet[bytes[i] % 31];
		}
	}
	return out;
}

/** 32 bytes: SHA-256 of 32 bytes of the SDK's generator, the clock and the tick count. */
function randomBytes(): ArrayBuffer {
	const digest = new Digest("SHA256");
	digest.write(RNG.get(32));
	digest.write(`${Date.now()} ${Time.ticks}`);
	return digest.close();
}

/** "k7m2wq9x4hzc" → "k7m2-wq9x-4hzc": easier to read off a console and to type. */
function grouped(text: string): string {
	return `${text.slice(0, 4)}-${text.slice(4, 8)}-${text.slice(8)}`;
}

/**
 * The secrets for this device: the configured ones, else those kept in the
 * preferences, else new ones, which are kept. `configured.passphrase`: ""
 * (made on the device), "open", or 8-63 characters; `configured.code`: ""
 * (made on the device) or the code.
 */
export function provisioningSecrets(store: PreferenceStore, configured: { passphrase: string; code: string }): ProvisioningSecrets {
	let passphrase = configured.passphrase,
		passphraseFrom: ProvisioningSecrets["passphraseFrom"] = "configured";
	if (passphrase === openAccessPoint) {
		passphrase = "";
		passphraseFrom = "open";
	} else if (!passphrase) {
		const kept = store.get(domain, "passphrase");
		if (typeof kept === "string" && kept.length >= 8 && kept.length <= 63) {
			passphrase = kept;
			passphraseFrom = "kept";
		} else {
			passphrase = grouped(randomSecret(12));
			store.set(domain, "passphrase", passphrase);
			passphraseFrom = "made";
		}
	}
	let code = configured.code,
		codeFrom: ProvisioningSecrets["codeFrom"] = "configured";
	if (!code) {
		const kept = store.get(domain, "code");
		if (typeof kept === "string" && kept.length >= 6) {
			code = kept;
			codeFrom = "kept";
		} else {
			code = randomSecret(8);
			store.set(domain, "code", code);
			codeFrom = "made";
		}
	}
	return { passphrase, code, passphraseFrom, codeFrom };
}
