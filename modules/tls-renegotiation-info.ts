/*
 * The renegotiation_info extension (RFC 5746) in the ServerHello of the
 * kit's TLS server (modules/tls-server-socket.ts), which Moddable's TLS
 * engine does not write. OpenSSL 3 clients (Node, curl, Python) refuse a
 * server without it ("unsafe legacy renegotiation disabled") unless told to
 * allow legacy servers; browsers accept one. The server renegotiates never
 * (the engine cannot), so the extension is the empty one of an initial
 * handshake (RFC 5746 3.6): ff01 0001 00.
 *
 * RFC 5746 3.6: the server sends it only when the ClientHello offered it,
 * as the extension or as the signaling suite TLS_EMPTY_RENEGOTIATION_INFO_SCSV
 * (0x00FF): offersSecureRenegotiation() reads the ClientHello for either.
 * The engine hashes each handshake message as it makes it (the Finished
 * messages prove both sides saw the same ones, RFC 5246 7.4.9), so the
 * ServerHello is changed the same way on the wire (withRenegotiationInfo
 * on the record) and in the hash (RenegotiationDigest on the message).
 */

/** The extension: type 0xff01, length 1, renegotiated_connection of length 0. Preceded by the extensions' length (7 bytes in all). */
const EXTENSIONS: readonly number[] = Object.freeze([0x00, 0x05, 0xff, 0x01, 0x00, 0x01, 0x00]);
const HANDSHAKE = 22,
	CLIENT_HELLO = 1,
	SERVER_HELLO = 2;

/** Whether a ClientHello record (header, then the handshake message) offers secure renegotiation: the SCSV or the extension. */
export function offersSecureRenegotiation(record: Uint8Array): boolean {
	if (record.length < 9 || record[0] !== HANDSHAKE || record[5] !== CLIENT_HELLO) return false;
	const end = Math.min(record.length, 9 + ((record[6] << 16) | (record[7] << 8) | record[8]));
	let at = 9 + 2 + 32; // client_version, random
	if (at >= end) return false;
	at += 1 + record[at]; // session_id
	if (at + 2 > end) return false;
	const suitesEnd = at + 2 + ((record[at] << 8) | record[at + 1]);
	for (at += 2; at + 1 < suitesEnd && at + 1 < end; at += 2) if (record[at] === 0x00 && record[at + 1] === 0xff) return true;
	at = suitesEnd;
	if (at >= end) return false;
	at += 1 + record[at]; // compression_methods
	if (at + 2 > end) return false;
	for (at += 2; at + 4 <= end; at += 4 + ((record[at + 2] << 8) | record[at + 3])) if (record[at] === 0xff && record[at + 1] === 0x01) return true;
	return false;
}

/**
 * The ServerHello message at `offset` of `bytes` (5: a record; 0: the
 * message alone) with the extension appended, lengths grown to match; the
 * bytes as they are when they hold no ServerHello or it has extensions.
 */
export function withRenegotiationInfo(bytes: Uint8Array, offset: number): Uint8Array {
	if (bytes.length < offset + 4 + 38 || bytes[offset] !== SERVER_HELLO) return bytes;
	const length = (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3];
	// server_version 2, random 32, session_id 1 + n, cipher_suite 2, compression_method 1: more means extensions.
	if (length !== 2 + 32 + 1 + bytes[offset + 4 + 34] + 2 + 1) return bytes;
	const out = new Uint8Array(bytes.length + EXTENSIONS.length);
	out.set(bytes);
	out.set(EXTENSIONS, bytes.length);
	const grown = length + EXTENSIONS.length;
	out[offset + 1] = grown >> 16;
	out[offset + 2] = (grown >> 8) & 0xff;
	out[offset + 3] = grown & 0xff;
	if (offset === 5) {
		// the record's length too
		const record = ((bytes[3] << 8) | bytes[4]) + EXTENSIONS.length;
		out[3] = record >> 8;
		out[4] = record & 0xff;
	}
	return out;
}

/** A handshake digest of the session's that hashes the ServerHello as withRenegotiationInfo() sends it. */
export class RenegotiationDigest {
	private readonly digest: { write(data: ArrayBuffer | Uint8Array): void; close(keep?: boolean): ArrayBuffer };

	constructor(digest: RenegotiationDigest["digest"]) {
		this.digest = digest;
	}

	write(data: ArrayBuffer | Uint8Array): void {
		this.digest.write(withRenegotiationInfo(data instanceof Uint8Array ? data : new Uint8Array(data), 0));
	}

	close(keep?: boolean): ArrayBuffer {
		return this.digest.close(keep);
	}
}
