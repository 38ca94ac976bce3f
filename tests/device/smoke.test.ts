// Smoke: the plumbing works on every tier: the app boots, reports its
// endpoints, and a first TCP and UDP echo round-trip.
import { describe, expect, it } from "vitest";
import { echoOnce, randomPayload, sha256 } from "../../host-harness/oracle/tcp-echo.js";
import { udpSender } from "../../host-harness/oracle/udp-echo.js";
import { hasLog, tiers, useDevice } from "./device-under-test.js";

describe.each(tiers)("smoke on $name", tier => {
	const device = useDevice(tier);

	it("reports TCP and UDP endpoints once its services are up", () => {
		expect(device.endpoints.tcp?.port).toBeGreaterThan(0);
		expect(device.endpoints.udp?.port).toBeGreaterThan(0);
	});

	it("echoes a first TCP message byte for byte", async () => {
		const payload = Buffer.from("Hello World!");
		expect((await echoOnce(device.endpoints.tcp!, payload)).toString()).toBe("Hello World!");
		const binary = randomPayload(1000);
		expect(sha256(await echoOnce(device.endpoints.tcp!, binary))).toBe(sha256(binary));
	});

	it("echoes a first UDP datagram to its sender", async () => {
		const sender = await udpSender(device.endpoints.udp!);
		try {
			const { data } = await sender.echo(Buffer.from("ping"));
			expect(data.toString()).toBe("ping");
		} finally {
			sender.close();
		}
	});

	it.runIf(tier.target !== "board")("logs the boot sequence in order", () => {
		const order = ["wifi: station started", "wifi: got IP", "tcp-server: Socket listening", "app: services up"].map(text =>
			device.process!.log.findIndex(l => l.raw.includes(text)),
		);
		expect(order.every(i => i >= 0)).toBe(true);
		expect([...order].sort((a, b) => a - b)).toEqual(order);
	});

	it.runIf(hasLog(tier))("logs each accepted peer", async () => {
		const from = device.process!.log.length;
		await echoOnce(device.endpoints.tcp!, Buffer.from("x"));
		await device.process!.waitForLog(/tcp-server: Socket accepted ip address: [\d.]+:\d+/, 10_000, from);
	});
});
