/*
 * A TLS server's credentials, as config values name them: its certificate
 * (followed by the certificates of its chain, if any) and its private key,
 * each given inline as base64:<DER> or as the name of a resource in the
 * app's manifest holding DER or PEM (RFC 7468). Loaded once, when the server
 * is made, and kept as DER: the socket of each connection reads the key
 * during its handshake only (modules/tls-server-socket.ts).
 *
 * What Moddable's TLS engine can serve with: an RSA key (its server side has
 * RSA key exchange only), unencrypted PKCS #8 ("BEGIN PRIVATE KEY", what
 * `openssl genpkey` and OpenSSL 3's `req -newkey` write; a PKCS #1 "BEGIN
 * RSA PRIVATE KEY" is converted by `openssl pkcs8 -topk8 -nocrypt`).
 */

import Resource from "Resource";
import Base64 from "base64";

/** What a TLS server socket serves with (all DER). */
export interface TlsServerCredentials {
	/** The server's certificate first, then the chain to send after it (RFC 5246 7.4.2). */
	certificates: ArrayBuffer[];
	/** The private key of the first certificate: unencrypted PKCS #8, RSA. */
	key: ArrayBuffer;
}

/** DER blocks a config value names: "base64:<DER>[,base64:<DER>…]", or a resource (DER, or PEM with blocks of `label`). */
function derBlocks(value: string, label: string, what: string): ArrayBuffer[] {
	if (value.startsWith("base64:"))
		return value.split(",").map(part => {
			const text = part.trim();
			if (!text.startsWith("base64:")) throw new Error(`${what}: "${text.slice(0, 20)}…" is not base64:<DER>`);
			return Base64.decode(text.slice(7).replace(/\s+/g, ""));
		});
	if (!Resource.exists(value)) throw new Error(`${what}: no resource "${value}" in the app: add it to the manifest's resources, or give base64:<DER>`);
	const bytes = new Resource(value).slice(0) as ArrayBuffer;
	if (new Uint8Array(bytes)[0] !== 0x2d)
		// not "-": DER
		return [bytes];
	const text = String.fromArrayBuffer(bytes);
	const begin = `-----BEGIN ${label}-----`,
		end = `-----END ${label}-----`;
	const blocks: ArrayBuffer[] = [];
	for (let at = text.indexOf(begin); at >= 0; at = text.indexOf(begin, at)) {
		const stop = text.indexOf(end, at);
		if (stop < 0) break;
		blocks.push(Base64.decode(text.slice(at + begin.length, stop).replace(/\s+/g, "")));
		at = stop + end.length;
	}
	if (!blocks.length) throw new Error(`${what}: resource "${value}" is PEM without a ${label} block`);
	return blocks;
}

/** A DER SEQUENCE of at least `least` bytes (a certificate, a PKCS #8 key). */
function isSequence(der: ArrayBuffer, least: number): boolean {
	return der.byteLength >= least && new Uint8Array(der)[0] === 0x30;
}

/**
 * The credentials config values name (wsTlsCertificate, wsTlsKey). Throws an
 * Error saying which value is wrong and how.
 */
export function loadServerCredentials(certificate: string, key: string): TlsServerCredentials {
	const certificates = derBlocks(certificate, "CERTIFICATE", "the TLS certificate");
	for (const der of certificates)
		if (!isSequence(der, 64)) throw new Error(`the TLS certificate "${certificate.slice(0, 40)}" is not a DER or PEM certificate`);
	const keys = derBlocks(key, "PRIVATE KEY", "the TLS key");
	if (keys.length !== 1 || !isSequence(keys[0], 64))
		throw new Error(`the TLS key "${key.startsWith("base64:") ? "base64:…" : key}" is not one unencrypted PKCS #8 key (DER, or PEM "BEGIN PRIVATE KEY")`);
	// PKCS #8 (RFC 5208 5): SEQUENCE { version INTEGER 0, AlgorithmIdentifier SEQUENCE { OID rsaEncryption … }, … }.
	if (!isRsaPkcs8(new Uint8Array(keys[0]))) throw new Error("the TLS key is not an RSA key: the device's TLS server has RSA key exchange only");
	return { certificates, key: keys[0] };
}

/** rsaEncryption, 1.2.840.113549.1.1.1, as DER content bytes. */
const RSA_OID: readonly number[] = Object.freeze([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]);

/** Whether a PKCS #8 key's algorithm is rsaEncryption: the OID's bytes within its first 32. */
function isRsaPkcs8(key: Uint8Array): boolean {
	const head = key.subarray(0, 32);
	for (let i = 0; i + RSA_OID.length <= head.length; i++) {
		let j = 0;
		while (j < RSA_OID.length && head[i + j] === RSA_OID[j]) j++;
		if (j === RSA_OID.length) return true;
	}
	return false;
}
