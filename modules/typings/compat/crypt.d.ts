/*
 * The `crypt` Digest declaration of the Moddable SDK's own typings
 * ($(MODDABLE)/typings/crypt.d.ts), which @moddable/typings 5.6.0 lacks.
 * For the project's tsc only: mcconfig's tsc already sees the SDK's file,
 * so no manifest lists this folder.
 *
 * Semantics (modules/crypt/digest/crypt.js, modCrypt.c): write() takes a
 * string (its UTF-8 bytes) or any byte buffer; close() returns the digest
 * as a new ArrayBuffer (close(true) keeps the state so writing can go on);
 * reset() starts over. Types: "MD5", "SHA1", "SHA224", "SHA256", "SHA384",
 * "SHA512" (and "GHASH", internal).
 */
declare module "crypt" {
	type DigestType = "MD5" | "SHA1" | "SHA224" | "SHA256" | "SHA384" | "SHA512";

	export class Digest {
		constructor(type: DigestType);

		write(message: string | ArrayBuffer): void;
		close(): ArrayBuffer;
		reset(): void;
		get blockSize(): number;
		get outputSize(): number;
		update(message: string | ArrayBuffer): void;
	}
}
