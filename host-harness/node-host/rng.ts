/*
 * `rng` for the Node-hosted device and unit tests: the SDK's random byte
 * generator ($(MODULES)/crypt/etc/rng.js + rng.c), on node:crypto.
 *
 * Semantics mirrored: RNG.get(n) returns a new ArrayBuffer of n random
 * bytes; RNG.init(seed) is accepted.
 *
 * Deviation: the bytes come from the operating system's generator
 * (crypto.randomBytes) and init() changes nothing. On XS the module is an
 * RC4 stream seeded from the C library's rand(): on esp32 that is the
 * hardware generator (esp_random, random while the radio is on, as it is
 * whenever the access point is up); on the simulator it is glibc's rand(),
 * never seeded, so every simulator draws the same bytes.
 */

import { randomBytes } from "node:crypto";

const RNG = Object.freeze({
	get(count: number): ArrayBuffer {
		const bytes = randomBytes(count);
		const out = new ArrayBuffer(count);
		new Uint8Array(out).set(bytes);
		return out;
	},
	init(_seed?: ArrayBuffer): void {
		// the operating system's generator needs no seed
	},
});

export default RNG;
