/*
 * Types for Moddable's rng module ($(MODULES)/crypt/etc/rng.js + rng.c,
 * included through $(MODDABLE)/modules/crypt/tls_419.json), used by
 * wifi/provisioning-secrets.ts; see ssl-session.d.ts.
 *
 * Semantics (rng.c, SDK 8.2.3): get(n) returns a new ArrayBuffer of n
 * bytes from an RC4 stream; the stream is seeded at its first use with 16
 * bytes of the C library's c_rand() (esp32: esp_random, the hardware
 * generator), or by init(seed) with the seed's bytes.
 */
declare module "rng" {
	const RNG: {
		get(count: number): ArrayBuffer;
		init(seed?: ArrayBuffer): void;
	};
	export default RNG;
}
