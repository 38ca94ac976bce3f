/*
 * `crypt` for the Node-hosted device and unit tests: the Digest class of
 * Moddable's $(MODULES)/crypt/digest (crypt.js + modCrypt.c), on node:crypto.
 *
 * Semantics mirrored:
 * - new Digest(type): "MD5", "SHA1", "SHA224", "SHA256", "SHA384", "SHA512";
 *   any other name throws Error("crypt: unsupported digest").
 * - write(data) / update(data): data is a string (its UTF-8 bytes, up to a
 *   NUL as the C code's strlen) or a buffer (ArrayBuffer, byte typed array,
 *   DataView: the view's bytes).
 * - close(more?) returns the digest as a new ArrayBuffer; with a truthy
 *   `more` the state is kept so write() may continue.
 * - reset() starts a new digest; process(...data) = reset, write each, close.
 * - blockSize / outputSize in bytes.
 *
 * Deviations: only Digest is provided (no GHASH, BlockCipher, StreamCipher,
 * Mode). write() after close() without reset() throws here; on XS it feeds
 * a finalized context and the result is meaningless.
 */

import { createHash, type Hash } from "node:crypto";
import { byteBufferOrString } from "./buffers.js";

const algorithms: Record<string, { name: string; blockSize: number; outputSize: number }> = {
	MD5: { name: "md5", blockSize: 64, outputSize: 16 },
	SHA1: { name: "sha1", blockSize: 64, outputSize: 20 },
	SHA224: { name: "sha224", blockSize: 64, outputSize: 28 },
	SHA256: { name: "sha256", blockSize: 64, outputSize: 32 },
	SHA384: { name: "sha384", blockSize: 128, outputSize: 48 },
	SHA512: { name: "sha512", blockSize: 128, outputSize: 64 },
};

export class Digest {
	readonly #algorithm: { name: string; blockSize: number; outputSize: number };
	#hash: Hash | undefined;

	constructor(type: string) {
		const algorithm = algorithms[type];
		if (!algorithm) throw new Error("crypt: unsupported digest");
		this.#algorithm = algorithm;
		this.#hash = createHash(algorithm.name);
	}

	write(data: string | ArrayBuffer | ArrayBufferView): void {
		if (!this.#hash) throw new Error("crypt: digest closed; call reset() first");
		this.#hash.update(byteBufferOrString(data));
	}

	update(data: string | ArrayBuffer | ArrayBufferView): void {
		this.write(data);
	}

	close(more?: unknown): ArrayBuffer {
		if (!this.#hash) throw new Error("crypt: digest closed; call reset() first");
		const hash = more ? this.#hash.copy() : this.#hash;
		if (!more) this.#hash = undefined;
		const digest = hash.digest();
		const out = new ArrayBuffer(digest.length);
		new Uint8Array(out).set(digest);
		return out;
	}

	reset(): void {
		this.#hash = createHash(this.#algorithm.name);
	}

	process(...data: (string | ArrayBuffer | ArrayBufferView)[]): ArrayBuffer {
		this.reset();
		for (const item of data) this.write(item);
		return this.close();
	}

	get blockSize(): number {
		return this.#algorithm.blockSize;
	}

	get outputSize(): number {
		return this.#algorithm.outputSize;
	}
}

export default Object.freeze({ Digest });
