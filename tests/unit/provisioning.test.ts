// The pieces of provisioning's protection, run as device code on the Node
// host: the secrets made once and kept, the code's check (constant-time
// comparison, wrong tries limited across all clients), the console-only log
// line, and the form decoding, held against a reference oracle and Node's
// URLSearchParams over seeded random bodies.

import { followLog, Log } from "modules/log";
import { afterEach, describe, expect, it } from "vitest";
import type { PreferenceStore } from "wifi/credentials";
import { formField } from "wifi/form";
import { CodeGuard, codeRight, codeWrong, sameCode } from "wifi/provisioning-guard";
import { provisioningSecrets, randomSecret, secretAlphabet } from "wifi/provisioning-secrets";
import { expectedField, standardField } from "../../host-harness/fuzz/form-oracle.js";
import { caseSeed, Rng } from "../../host-harness/fuzz/prng.js";
import { setTraceSink } from "../../host-harness/node-host/xs-globals.js";

class MemoryStore implements PreferenceStore {
	readonly values = new Map<string, unknown>();
	get(domain: string, key: string) {
		return this.values.get(`${domain}.${key}`);
	}
	set(domain: string, key: string, value: string) {
		this.values.set(`${domain}.${key}`, value);
	}
	delete(domain: string, key: string) {
		this.values.delete(`${domain}.${key}`);
	}
}

describe("provisioning secrets", () => {
	const inAlphabet = (text: string) => [...text].every(c => secretAlphabet.includes(c));

	it("the alphabet has no look-alikes (0 o 1 l i) and no upper case", () => {
		expect(secretAlphabet).toHaveLength(31);
		expect(secretAlphabet).not.toMatch(/[01ilo A-Z]/);
		expect(new Set(secretAlphabet).size).toBe(31);
	});

	it("are made once, kept in the preferences, and read back at the next boot", () => {
		const store = new MemoryStore();
		const made = provisioningSecrets(store, { passphrase: "", code: "" });
		expect(made).toMatchObject({ passphraseFrom: "made", codeFrom: "made" });
		expect(made.passphrase).toMatch(/^\w{4}-\w{4}-\w{4}$/);
		expect(inAlphabet(made.passphrase.replaceAll("-", ""))).toBe(true);
		expect(made.code).toHaveLength(8);
		expect(inAlphabet(made.code)).toBe(true);
		expect(store.values.get("provision.passphrase")).toBe(made.passphrase);
		expect(store.values.get("provision.code")).toBe(made.code);
		expect(provisioningSecrets(store, { passphrase: "", code: "" })).toEqual({ ...made, passphraseFrom: "kept", codeFrom: "kept" });
	});

	it("differ from device to device", () => {
		const passphrases = new Set(Array.from({ length: 50 }, () => provisioningSecrets(new MemoryStore(), { passphrase: "", code: "" }).passphrase));
		expect(passphrases.size).toBe(50);
	});

	it('configured ones are used and nothing is kept; "open" is an open access point', () => {
		const store = new MemoryStore();
		expect(provisioningSecrets(store, { passphrase: "our own passphrase", code: "our-code" })).toEqual({
			passphrase: "our own passphrase",
			code: "our-code",
			passphraseFrom: "configured",
			codeFrom: "configured",
		});
		expect(store.values.size).toBe(0);
		expect(provisioningSecrets(store, { passphrase: "open", code: "our-code" })).toMatchObject({ passphrase: "", passphraseFrom: "open" });
		expect(store.values.size).toBe(0);
	});

	it("a kept value that is not a WPA2 passphrase is made again", () => {
		const store = new MemoryStore();
		store.set("provision", "passphrase", "short");
		const secrets = provisioningSecrets(store, { passphrase: "", code: "" });
		expect(secrets.passphraseFrom).toBe("made");
		expect(secrets.passphrase).toHaveLength(14);
	});

	it("draws every character of the alphabet, none more than chance allows (no modulo bias)", () => {
		const counts = new Map<string, number>();
		const text = randomSecret(31 * 400);
		for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
		expect(counts.size).toBe(31);
		// 400 expected each; a bias of 248 % 31 = 0 would not show, 256 % 31 = 8 extra values would (about +12 %).
		for (const count of counts.values()) expect(count).toBeLessThan(520);
	});
});

describe("the code's check", () => {
	it("compares every character, whatever the length sent", () => {
		expect(sameCode("h4tr9kzm", "h4tr9kzm")).toBe(true);
		expect(sameCode("h4tr9kzx", "h4tr9kzm")).toBe(false);
		expect(sameCode("h4tr9kz", "h4tr9kzm")).toBe(false);
		expect(sameCode("h4tr9kzmm", "h4tr9kzm")).toBe(false);
		expect(sameCode("", "h4tr9kzm")).toBe(false);
		expect(sameCode("H4TR9KZM", "h4tr9kzm")).toBe(false);
		expect(sameCode("h4tr9kzm\0", "h4tr9kzm")).toBe(false);
	});

	it("takes 5 wrong codes in any minute, across all clients; then none is looked at, the right one neither, until the oldest is a minute old", () => {
		const guard = new CodeGuard({ code: "h4tr9kzm" });
		for (let t = 0; t < 5; t++) expect(guard.check("wrong", t * 10_000)).toBe(codeWrong);
		expect(guard.check("h4tr9kzm", 45_000)).toBe(15); // the first wrong one (t = 0) is 45 s old
		expect(guard.check("h4tr9kzm", 59_999)).toBe(1);
		expect(guard.check("h4tr9kzm", 60_000)).toBe(codeRight);
		expect(guard.check("wrong", 60_000)).toBe(codeWrong); // a sixth: the window slides
		expect(guard.retryAfter(60_001)).toBe(10); // now the oldest of the last five is t = 10 000
		expect(guard.check("wrong", 70_000)).toBe(codeWrong);
		expect(guard.retryAfter(70_000)).toBe(10);
	});

	it("the right code costs no try, and wrong ones far apart never block", () => {
		const guard = new CodeGuard({ code: "h4tr9kzm", limit: 2, window: 1000 });
		for (let t = 0; t < 100; t++) {
			expect(guard.check("h4tr9kzm", t * 600)).toBe(codeRight);
			expect(guard.check("nope", t * 600 + 1)).toBe(codeWrong);
		}
	});
});

describe("Log.console", () => {
	afterEach(() => {
		followLog(undefined);
		setTraceSink(() => {});
	});

	it("prints on the console at any level and never reaches the log's follower (the log route)", () => {
		const printed: string[] = [];
		const followed: string[] = [];
		setTraceSink(text => printed.push(text));
		followLog(line => followed.push(line));
		const log = new Log("provisioning");
		log.info("an ordinary line");
		log.console("the secret line");
		expect(printed.map(l => l.replace(/\(\d+\)/, "(t)"))).toEqual(["I (t) provisioning: an ordinary line\n", "I (t) provisioning: the secret line\n"]);
		expect(followed).toHaveLength(1);
		expect(followed[0]).toMatch(/an ordinary line$/);
	});
});

describe("the form's decoding (wifi/form)", () => {
	const field = (body: string | Buffer, name: string) => {
		const bytes = typeof body === "string" ? Buffer.from(body, "latin1") : body;
		return formField(new Uint8Array(bytes), bytes.length, name);
	};

	it("reads fields as the URL Standard's urlencoded parser does", () => {
		expect(field("ssid=My+Home&password=p%40ss+w%C3%B6rd&code=h4tr9kzm", "ssid")).toBe("My Home");
		expect(field("ssid=My+Home&password=p%40ss+w%C3%B6rd&code=h4tr9kzm", "password")).toBe("p@ss wörd");
		expect(field("ssid=a&ssid=b", "ssid")).toBe("a"); // the first wins
		expect(field("&&ssid&code=x", "ssid")).toBe(""); // no "=": an empty value
		expect(field("ssid=100%&code=%zz%4", "ssid")).toBe("100%"); // a "%" without two hex digits stays
		expect(field("ssid=100%&code=%zz%4", "code")).toBe("%zz%4");
		expect(field("s%73id=a%3Db", "ssid")).toBe("a=b"); // names are decoded too
		expect(field("ssid=a", "code")).toBeUndefined();
		expect(field("ssid=a%26b&code=1", "ssid")).toBe("a&b");
	});

	it("refuses a value that is not UTF-8 or holds a NUL (the Standard would put U+FFFD), and reads only the first field of the name", () => {
		expect(field("ssid=%C3%28", "ssid")).toBeUndefined();
		expect(field(Buffer.from([0x73, 0x73, 0x69, 0x64, 0x3d, 0xff]), "ssid")).toBeUndefined();
		expect(field("ssid=a%00b", "ssid")).toBeUndefined();
		expect(field("ssid=%FF&ssid=ok", "ssid")).toBeUndefined();
		expect(field("ssid=caf%C3%A9", "ssid")).toBe("café");
		expect(field(Buffer.from("ssid=café", "utf8"), "ssid")).toBe("café"); // raw UTF-8, as a client may send it
	});

	it("only the length given is read", () => {
		const bytes = new Uint8Array(Buffer.from("ssid=home&code=12345678"));
		expect(formField(bytes, 9, "ssid")).toBe("home");
		expect(formField(bytes, 9, "code")).toBeUndefined();
		expect(formField(bytes, 0, "ssid")).toBeUndefined();
	});

	// Seeded and bounded: 3000 bodies of up to 64 bytes, fields of the names asked for made of the bytes that matter
	// (separators, "+", "%", hex digits, the names, UTF-8 lead and continuation bytes, NUL) and any byte; the device must read what the oracle says,
	// and the oracle must agree with the Standard (URLSearchParams) wherever no refusal applies.
	const seed = 0x5eed_f0b3;
	const pieces = [
		"&",
		"=",
		"+",
		"%",
		"%2",
		"%3D",
		"%26",
		"%2B",
		"%00",
		"%C3",
		"%A9",
		"%FF",
		"ssid",
		"code",
		"password",
		"s%73id",
		"c",
		"a",
		"F",
		"0",
		"9",
		" ",
		"\u00C3",
		"\u00A9",
	];
	it(`agrees with the reference oracle and the Standard on 3000 seeded random bodies (seed ${seed})`, () => {
		const names = ["ssid", "code", "password"];
		let refusals = 0,
			found = 0;
		for (let index = 0; index < 3000; index++) {
			const rng = new Rng(caseSeed(seed, index));
			// Fields, mostly shaped as name=value& but with any piece anywhere.
			const parts: Buffer[] = [];
			const piece = () => parts.push(rng.chance(0.15) ? rng.bytes(1) : Buffer.from(rng.pick(pieces), "latin1"));
			for (let fields = rng.int(0, 4); fields > 0; fields--) {
				parts.push(Buffer.from(rng.chance(0.7) ? rng.pick(names) : "", "latin1"));
				if (rng.chance(0.3)) piece();
				if (rng.chance(0.85)) parts.push(Buffer.from("="));
				for (let i = rng.int(0, 5); i > 0; i--) piece();
				if (rng.chance(0.85)) parts.push(Buffer.from("&"));
			}
			const body = Buffer.concat(parts).subarray(0, 64);
			for (const name of names) {
				const expected = expectedField(body, name);
				const got = formField(new Uint8Array(body), body.length, name);
				expect(got, `case ${index}: ${JSON.stringify(body.toString("latin1"))} field ${name}`).toBe(expected);
				const standard = standardField(body, name);
				if (expected !== undefined) {
					found++;
					expect(standard, `case ${index}: the oracle against URLSearchParams`).toBe(expected);
				} else if (standard !== undefined) {
					refusals++;
					expect(standard.includes("\uFFFD") || standard.includes("\0"), `case ${index}: a refusal is U+FFFD or NUL`).toBe(true);
				}
			}
		}
		// The generator reaches both sides.
		expect(found).toBeGreaterThan(500);
		expect(refusals).toBeGreaterThan(50);
	});
});
