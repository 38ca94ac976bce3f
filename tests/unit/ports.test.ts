// Free ports for devices: below the kernel's ephemeral range, where no outgoing
// connection can take one between its release and the device's bind, and free.
import * as dgram from "node:dgram";
import * as net from "node:net";
import { describe, expect, it } from "vitest";
import { ephemeralStart, freeTcpPort, freeUdpPort } from "../../host-harness/lib/ports.js";

describe("free ports for devices", () => {
	it("picks TCP and UDP ports below the ephemeral range that a listener can bind, different from call to call", async () => {
		const start = ephemeralStart();
		const tcp = await Promise.all(Array.from({ length: 20 }, () => freeTcpPort()));
		const udp = await Promise.all(Array.from({ length: 5 }, () => freeUdpPort()));
		for (const port of [...tcp, ...udp]) expect(port >= 10_000 && port < start, String(port)).toBe(true);
		expect(new Set(tcp).size).toBeGreaterThan(15);
		const server = net.createServer();
		await new Promise<void>(resolve => server.listen(tcp[0], "0.0.0.0", resolve));
		server.close();
		const socket = dgram.createSocket("udp4");
		await new Promise<void>(resolve => socket.bind(udp[0], "0.0.0.0", resolve));
		socket.close();
	});
});
