// SNTP messages (sntp/packet.ts) against RFC 4330's rules, and the server
// list the config takes (modules/config-schema.ts parseServerList).
import { describe, expect, it } from "vitest";
import { parseServerList, readConfig } from "../../../app/config-schema.js";
import { readAnswer, unixMilliseconds, writeRequest } from "../../../sntp/packet.js";
import { parseWebSocketUri } from "../../../websocket/uri.js";

const nonce = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
const ntpToUnix = 2208988800;

/** A server's answer to `nonce` saying `ms` (since 1970), with header fields to override. */
function answer(ms: number, fields: { leap?: number; version?: number; mode?: number; stratum?: number; kiss?: string; origin?: Uint8Array } = {}): Uint8Array {
	const bytes = new Uint8Array(48);
	const view = new DataView(bytes.buffer);
	bytes[0] = ((fields.leap ?? 0) << 6) | ((fields.version ?? 4) << 3) | (fields.mode ?? 4);
	bytes[1] = fields.stratum ?? 2;
	if (fields.kiss)
		bytes.set(
			Array.from(fields.kiss, c => c.charCodeAt(0)),
			12,
		);
	bytes.set(fields.origin ?? nonce, 24);
	view.setUint32(40, (Math.floor(ms / 1000) + ntpToUnix) >>> 0);
	view.setUint32(44, Math.floor(((ms % 1000) / 1000) * 2 ** 32) >>> 0);
	return bytes;
}

describe("SNTP request (RFC 4330 4)", () => {
	it("is 48 bytes: LI 0, VN 4, mode 3 (client), the nonce as Transmit Timestamp, the rest zero", () => {
		const request = writeRequest(new Uint8Array(64).fill(0xff), nonce);
		expect(request.length).toBe(48);
		expect(request[0]).toBe(0b00_100_011);
		expect([...request.subarray(40, 48)]).toEqual([...nonce]);
		expect(request.subarray(1, 40).every(b => b === 0)).toBe(true);
	});
});

describe("SNTP answer (RFC 4330 5)", () => {
	const now = Date.UTC(2026, 11, 6, 1, 2, 3, 456);

	it("gives the server's Transmit Timestamp as ms since 1970, and its stratum", () => {
		const read = readAnswer(answer(now), nonce);
		expect(read.kind).toBe("time");
		if (read.kind === "time") {
			expect(Math.abs(read.time - now)).toBeLessThanOrEqual(1);
			expect(read.stratum).toBe(2);
		}
	});

	it.each([
		["fewer than 48 bytes", answer(now).subarray(0, 47), /47 bytes, not an SNTP message/],
		["mode 3 (a client's request)", answer(now, { mode: 3 }), /mode 3, not a server's answer/],
		["version 2", answer(now, { version: 2 }), /version 2/],
		["another request's Originate Timestamp", answer(now, { origin: Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9) }), /Originate Timestamp differs/],
		["stratum 16 (unsynchronized)", answer(now, { stratum: 16 }), /stratum 16/],
		["leap indicator 3 (clock not set)", answer(now, { leap: 3 }), /not synchronized/],
		[
			"no Transmit Timestamp",
			(() => {
				const a = answer(now);
				a.fill(0, 40, 48);
				return a;
			})(),
			/no Transmit Timestamp/,
		],
	])("refuses %s", (_name, bytes, reason) => {
		const read = readAnswer(bytes, nonce);
		expect(read.kind).toBe("invalid");
		if (read.kind === "invalid") expect(read.reason).toMatch(reason);
	});

	it("reads stratum 0 as a kiss-of-death with its code (RFC 4330 8)", () => {
		expect(readAnswer(answer(now, { stratum: 0, kiss: "RATE" }), nonce)).toEqual({ kind: "kiss", code: "RATE" });
		expect(readAnswer(answer(now, { stratum: 0, kiss: "D\u0001NY" }), nonce)).toEqual({ kind: "kiss", code: "D?NY" });
	});

	it("reads the 2036 era: seconds with the top bit clear are after 2036-02-07 (RFC 4330 3)", () => {
		expect(unixMilliseconds(0x80000000, 0)).toBe((0x80000000 - ntpToUnix) * 1000);
		expect(unixMilliseconds(0, 0)).toBe((0x100000000 - ntpToUnix) * 1000);
		expect(new Date(unixMilliseconds(0, 0)).toISOString()).toBe("2036-02-07T06:28:16.000Z");
		expect(unixMilliseconds(0x80000000, 0x80000000)).toBe((0x80000000 - ntpToUnix) * 1000 + 500);
	});
});

describe("sntpServers", () => {
	it("takes host and host:port entries, comma-separated, with the default port", () => {
		expect(parseServerList("pool.ntp.org, 10.0.0.1:1123,,", 123)).toEqual([
			{ host: "pool.ntp.org", port: 123 },
			{ host: "10.0.0.1", port: 1123 },
		]);
		expect(parseServerList("", 123)).toEqual([]);
	});

	it.each(["a:0", "a:70000", "a:", ":123", "a b", "a:+12", "http://a"])("refuses %s with the entry named", entry => {
		expect(() => parseServerList(entry, 123)).toThrow(RangeError);
		expect(readConfig({ sntpServers: entry }, parseWebSocketUri).problems.map(p => p.key)).toEqual(["sntpServers"]);
	});
});
