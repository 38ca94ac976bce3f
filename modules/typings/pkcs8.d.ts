/*
 * Types for Moddable's pkcs8 module ($(MODULES)/crypt/etc/pkcs8.js,
 * included through $(MODDABLE)/modules/crypt/tls_419.json), used by
 * modules/tls-server-socket.ts; see ssl-session.d.ts.
 *
 * Semantics (pkcs8.js, SDK 8.2.3): parse(der) reads an unencrypted PKCS #8
 * RSA private key (RFC 5208) into the object pkcs1_5 signs and decrypts
 * with (modulus, exponents, primes as BigInts); it reads no algorithm
 * identifier, so a key of another kind gives garbage or throws.
 */
declare module "pkcs8" {
	const PKCS8: {
		parse(der: Uint8Array): object;
	};
	export default PKCS8;
}
