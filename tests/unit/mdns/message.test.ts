// DNS messages as mDNS uses them (mdns/message.ts): what is written reads
// back the same; compression pointers are followed back and never forward
// or in loops (RFC 1035 4.1.4); malformed input is a MalformedMessage,
// never another exception.
import { describe, expect, it } from "vitest";
import {
	addressData,
	MalformedMessage,
	nameBytes,
	nameIn,
	RecordType,
	readMessage,
	readName,
	readText,
	sameName,
	serviceData,
	textData,
	writeMessage,
} from "../../../mdns/message.js";
import { isHostLabel } from "../../../mdns/responder.js";

describe("mDNS messages", () => {
	it("reads back what it writes: header, question with the QU bit, records with the cache-flush bit", () => {
		const bytes = writeMessage({
			id: 0x1234,
			response: true,
			questions: [{ name: "xs-netkit.local", type: RecordType.ANY, unicast: true }],
			answers: [{ name: "xs-netkit.local", type: RecordType.A, flush: true, ttl: 120, data: addressData("198.18.0.2") }],
			authorities: [],
			additionals: [{ name: "xs-netkit._xs-netkit._tcp.local", type: RecordType.TXT, ttl: 4500, data: textData(["ws=/ws", "tcp=8080"]) }],
		});
		const message = readMessage(bytes);
		expect(message.id).toBe(0x1234);
		expect(message.response).toBe(true);
		expect(message.questions).toEqual([{ name: "xs-netkit.local", type: RecordType.ANY, unicast: true }]);
		expect(message.answers[0]).toMatchObject({ name: "xs-netkit.local", type: RecordType.A, flush: true, ttl: 120 });
		expect([...message.answers[0].data]).toEqual([198, 18, 0, 2]);
		expect(readText(message.additionals[0].data)).toEqual(["ws=/ws", "tcp=8080"]);
		// QR and AA set in a response (RFC 6762 18.4).
		expect(bytes[2]).toBe(0x84);
	});

	it("writes SRV data as priority, weight, port, target (RFC 2782) and reads its target", () => {
		const data = serviceData(8080, "xs-netkit.local");
		expect([...data.subarray(0, 6)]).toEqual([0, 0, 0, 0, 0x1f, 0x90]);
		const bytes = writeMessage({ response: true, answers: [{ name: "a._b._tcp.local", type: RecordType.SRV, ttl: 120, data }] });
		const message = readMessage(bytes);
		expect(nameIn(bytes, message.answers[0].data, 6)).toBe("xs-netkit.local");
	});

	it("follows a compression pointer back to an earlier name", () => {
		// "local" at 12, then "dev" + pointer to 12.
		const bytes = Uint8Array.from([...new Array(12).fill(0), 5, ...Buffer.from("local"), 0, 3, ...Buffer.from("dev"), 0xc0, 12]);
		expect(readName(bytes, 19)).toEqual({ name: "dev.local", next: 25 });
	});

	it.each([
		["a pointer to itself", Uint8Array.from([...new Array(12).fill(0), 0xc0, 12])],
		["a pointer forward", Uint8Array.from([...new Array(12).fill(0), 0xc0, 14, 0])],
		["a label past the end", Uint8Array.from([...new Array(12).fill(0), 9, 65])],
		["reserved label bits", Uint8Array.from([...new Array(12).fill(0), 0x80, 0])],
	])("refuses a name with %s", (_why, bytes) => {
		expect(() => readName(bytes, 12)).toThrow(MalformedMessage);
	});

	it("refuses a name over 255 bytes", () => {
		const label = [63, ...new Array(63).fill(97)];
		const bytes = Uint8Array.from([...new Array(12).fill(0), ...label, ...label, ...label, ...label, 0]);
		expect(() => readName(bytes, 12)).toThrow(/over 255/);
		expect(() => nameBytes(`${"a".repeat(63)}.`.repeat(4) + "local")).toThrow(RangeError);
	});

	it("throws only MalformedMessage for any truncation of a real message", () => {
		const bytes = writeMessage({
			response: true,
			questions: [{ name: "x.local", type: RecordType.PTR, unicast: false }],
			answers: [{ name: "_x._tcp.local", type: RecordType.PTR, ttl: 1, data: nameBytes("i._x._tcp.local") }],
		});
		for (let length = 0; length < bytes.length; length++) {
			try {
				readMessage(bytes.subarray(0, length));
			} catch (e) {
				expect(e).toBeInstanceOf(MalformedMessage);
			}
		}
	});

	it("compares names without regard to ASCII case", () => {
		expect(sameName("XS-NetKit.Local", "xs-netkit.local")).toBe(true);
		expect(sameName("xs-netkit.local", "xs-netkit2.local")).toBe(false);
	});

	it("takes host labels by RFC 1123: letters, digits, inner hyphens, 1 to 63", () => {
		for (const good of ["xs-netkit", "a", "esp32-01", "A1"]) expect(isHostLabel(good), good).toBe(true);
		for (const bad of ["", "-a", "a-", "a.b", "a_b", "a b", "x".repeat(64), "é"]) expect(isHostLabel(bad), bad).toBe(false);
	});
});
