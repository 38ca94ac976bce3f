// The Node host providers the WebSocket core runs on under vitest, checked
// against the semantics of Moddable's modules (logical, base64, crypt).
import { createHash, randomBytes } from "node:crypto";
import Base64 from "base64";
import { Digest } from "crypt";
import Logical from "logical";
import { describe, expect, it } from "vitest";

describe("logical (host)", () => {
	it("xors dst in place with src repeated, honoring a view's offset", () => {
		const buffer = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8).buffer;
		Logical.xor(new Uint8Array(buffer, 2, 4), Uint8Array.of(0xf0, 0x0f));
		expect([...new Uint8Array(buffer)]).toEqual([1, 2, 0xf3, 0x0b, 0xf5, 0x09, 7, 8]);
		Logical.xor(buffer, 0xff, 1);
		expect(new Uint8Array(buffer)[0]).toBe(0xfe);
		Logical.xor(buffer, new Uint8Array(Uint8Array.of(9, 1, 2, 3, 9).buffer, 1, 3));
		expect([...new Uint8Array(buffer)]).toEqual([0xff, 0, 0xf0, 0x0a, 0xf7, 0x0a, 6, 0x0a]);
		const s = Uint8Array.of(0, 0, 0);
		Logical.xor(s, "AB\0C");
		expect([...s]).toEqual([0x41, 0x42, 0x41]);
	});

	it("validates count and buffer kinds like modLogical.c", () => {
		const b = new ArrayBuffer(4);
		expect(() => Logical.xor(b, 1, 0)).toThrow(RangeError);
		expect(() => Logical.xor(b, 1, 5)).toThrow(RangeError);
		expect(() => Logical.xor(new Uint16Array(2) as unknown as Uint8Array, 1)).toThrow(TypeError);
		Logical.not(b, 2);
		expect([...new Uint8Array(b)]).toEqual([255, 255, 0, 0]);
		Logical.and(b, 0x0f);
		Logical.or(b, Uint8Array.of(0x10, 0x20));
		expect([...new Uint8Array(b)]).toEqual([0x1f, 0x2f, 0x10, 0x20]);
	});
});

describe("base64 (host)", () => {
	it("encodes like Buffer for every length up to 64", () => {
		for (let n = 0; n <= 64; n++) {
			const data = randomBytes(n);
			const encoded = Base64.encode(new Uint8Array(data).buffer);
			expect(encoded).toBe(data.toString("base64"));
			expect(Buffer.from(Base64.decode(encoded))).toEqual(data);
		}
		expect(Base64.encode("hello")).toBe("aGVsbG8=");
	});

	it("decodes leniently like modBase64.c", () => {
		expect(new TextDecoder().decode(Base64.decode("aGVs\nbG8=ignored"))).toBe("hello");
		expect(new TextDecoder().decode(Base64.decode("aGk="))).toBe("hi");
		expect(new TextDecoder().decode(Base64.decode("aA=="))).toBe("h");
		expect(Base64.decode("aGV").byteLength).toBe(0);
	});
});

describe("crypt Digest (host)", () => {
	it("computes digests like node:crypto, close(true) keeping state", () => {
		for (const [type, name, size] of [
			["SHA1", "sha1", 20],
			["SHA256", "sha256", 32],
			["MD5", "md5", 16],
		] as const) {
			const d = new Digest(type);
			expect(d.outputSize).toBe(size);
			d.write("abc");
			const partial = d.close(true as never);
			d.write(Uint8Array.of(0x64).buffer);
			expect(Buffer.from(partial).toString("hex")).toBe(createHash(name).update("abc").digest("hex"));
			expect(Buffer.from(d.close()).toString("hex")).toBe(createHash(name).update("abcd").digest("hex"));
			d.reset();
			expect(Buffer.from(d.close()).toString("hex")).toBe(createHash(name).digest("hex"));
		}
		expect(() => new Digest("SHA3" as never)).toThrow("crypt: unsupported digest");
	});
});
