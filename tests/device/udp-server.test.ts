// The device's UDP echo server: each datagram back to its sender unchanged,
// at the classic sizes, and to many senders at once.
import { describe, expect, it } from "vitest";
import { randomPayload, sha256 } from "../../host-harness/oracle/tcp-echo.js";
import { udpSender } from "../../host-harness/oracle/udp-echo.js";
import { hasLog, tiers, useDevice } from "./device-under-test.js";
import { knobs } from "./knobs.js";

describe.each(tiers)("UDP echo server on $name", tier => {
	const device = useDevice(tier);
	const k = knobs[tier.pace];

	it.each(k.udpSizes)("echoes a %i-byte datagram to its sender unchanged", async size => {
		const sender = await udpSender(device.endpoints.udp!);
		try {
			const payload = randomPayload(size);
			const { data, from } = await sender.echo(payload);
			expect(from.port).toBe(device.endpoints.udp!.port);
			expect(data.length).toBe(size);
			expect(sha256(data)).toBe(sha256(payload));
		} finally {
			sender.close();
		}
	});

	it(`answers ${k.udpSenders} senders at once, each with its own datagrams`, async () => {
		const senders = await Promise.all(Array.from({ length: k.udpSenders }, () => udpSender(device.endpoints.udp!)));
		try {
			await Promise.all(
				senders.map(async (sender, s) => {
					for (let i = 0; i < k.udpDatagramsEach; i++) {
						const text = `sender ${s} datagram ${i}`;
						const { data } = await sender.echo(Buffer.from(text), 10_000);
						expect(data.toString()).toBe(text);
					}
				}),
			);
		} finally {
			for (const sender of senders) sender.close();
		}
	}, 60_000);

	it.runIf(hasLog(tier))("logs each datagram's sender and size", async () => {
		const sender = await udpSender(device.endpoints.udp!);
		try {
			await sender.echo(Buffer.from("hello udp"));
			await device.process!.waitForLog(new RegExp(`udp-server: Received 9 bytes from [\\d.]+:${sender.port}: hello udp`));
		} finally {
			sender.close();
		}
	});
});
