// The `services up` line of an app, each service with its kind
// (host-harness/device/services.ts, docs/own-app.md), and how check --app
// probes each kind (host-harness/check/app.ts), against real sockets.

import * as dgram from "node:dgram";
import * as net from "node:net";
import { describe, expect, it } from "vitest";
import { probeService, udpProbePayload } from "../../host-harness/check/app.js";
import { probeUdp } from "../../host-harness/device/reach.js";
import { appServices } from "../../host-harness/device/services.js";
import { freeUdpPort } from "../../host-harness/lib/ports.js";

/** A UDP socket on loopback; answering: each datagram's size back as text. */
async function udpService(answering: boolean): Promise<{ port: number; close(): void }> {
	const socket = dgram.createSocket("udp4");
	if (answering) socket.on("message", (message, from) => socket.send(String(message.length), from.port, from.address));
	await new Promise<void>(resolve => socket.bind(0, "127.0.0.1", resolve));
	return { port: socket.address().port, close: () => socket.close() };
}

describe("the services up line: each service states its kind", () => {
	it("reads the documented form: tcp, udp, ws with its path; address is not a service", () => {
		expect(appServices({ address: "10.0.0.7", upper: { tcp: 7070 }, sizes: { udp: 7072 }, shout: { ws: 7071, path: "/shout" } })).toEqual([
			{ name: "upper", kind: "tcp", port: 7070, stated: true },
			{ name: "sizes", kind: "udp", port: 7072, stated: true },
			{ name: "shout", kind: "ws", port: 7071, path: "/shout", stated: true },
		]);
	});

	it("reads the kit's own app's line: its keys are the kinds, wsPath the ws path, strings name no service", () => {
		expect(appServices({ address: "10.0.0.7", mac: "02:00:7F:00:00:01", tcp: 8080, udp: 9000, ws: 8081, wsPath: "/ws", tcpClient: "10.0.0.2:8080" })).toEqual([
			{ name: "tcp", kind: "tcp", port: 8080, stated: true },
			{ name: "udp", kind: "udp", port: 9000, stated: true },
			{ name: "ws", kind: "ws", port: 8081, path: "/ws", stated: true },
		]);
	});

	it("takes a bare port under another name for TCP, saying its kind was not stated (a name that says udp does not make it UDP)", () => {
		expect(appServices({ address: "x", lines: 7080, myudp: 7082 })).toEqual([
			{ name: "lines", kind: "tcp", port: 7080, stated: false },
			{ name: "myudp", kind: "tcp", port: 7082, stated: false },
		]);
	});

	it("refuses an object that states no kind, or two, naming the service", () => {
		expect(() => appServices({ address: "x", sizes: { port: 7072 } })).toThrow(/"sizes" states no kind/);
		expect(() => appServices({ address: "x", both: { tcp: 1, udp: 2 } })).toThrow(/"both" states tcp and udp/);
		expect(() => appServices({ address: "x", bad: { udp: "7072" } })).toThrow(/"bad"/);
	});
});

describe("check --app probes each service as its kind says", () => {
	it("UDP: an answer is reported, silence passes, a port nothing is bound to fails (ICMP port unreachable)", async () => {
		const answering = await udpService(true);
		const silent = await udpService(false);
		try {
			const answered = await probeUdp("127.0.0.1", answering.port, udpProbePayload);
			expect("answered" in answered && answered.answered.toString()).toBe(String(udpProbePayload.length));
			expect(await probeUdp("127.0.0.1", silent.port, udpProbePayload, 300)).toEqual({ silent: true });
			expect(await probeService({ name: "sizes", kind: "udp", port: answering.port, stated: true })).toEqual({
				name: `service sizes (UDP, port ${answering.port}) takes a datagram: answered 2 bytes`,
				state: "passed",
			});
		} finally {
			answering.close();
			silent.close();
		}
		const nothing = await freeUdpPort();
		expect(await probeUdp("127.0.0.1", nothing, udpProbePayload)).toEqual({ refused: "ECONNREFUSED" });
		expect(await probeService({ name: "sizes", kind: "udp", port: nothing, stated: true })).toEqual({
			name: `service sizes (UDP, port ${nothing}) takes a datagram`,
			state: "failed",
			error: `port unreachable (ECONNREFUSED): no socket is bound to UDP port ${nothing}`,
		});
	});

	it("TCP: a connection accepted passes, a refused one fails; a bare port says its kind was not stated", async () => {
		const server = net.createServer(socket => socket.destroy());
		await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
		const port = (server.address() as net.AddressInfo).port;
		try {
			expect(await probeService({ name: "lines", kind: "tcp", port, stated: false })).toEqual({
				name: `service lines (TCP, its kind not stated, port ${port}) accepts a TCP connection`,
				state: "passed",
			});
		} finally {
			await new Promise(resolve => server.close(resolve));
		}
		const refused = await probeService({ name: "upper", kind: "tcp", port, stated: true });
		expect(refused.state).toBe("failed");
		expect(refused.error).toMatch(/ECONNREFUSED/);
	});
});
