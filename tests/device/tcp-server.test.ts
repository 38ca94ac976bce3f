// The device's TCP echo server, judged from the harness: exactness at every
// size, flow control under a slow reader with bounded device memory,
// maxClients and the backlog, peers that vanish, and an idle timeout.

import type * as net from "node:net";
import { beforeAll, describe, expect, it } from "vitest";
import { measureGrowth } from "../../host-harness/lib/process-memory.js";
import { connect, echoOnce, randomPayload, readBytes, sha256, streamThroughEcho } from "../../host-harness/oracle/tcp-echo.js";
import { hasLog, tiers, useDevice } from "./device-under-test.js";
import { knobs } from "./knobs.js";

function closedWithin(socket: net.Socket, ms: number): Promise<boolean> {
	if (socket.destroyed || socket.readableEnded) return Promise.resolve(true);
	return new Promise(resolve => {
		const timer = setTimeout(() => resolve(false), ms);
		const done = () => {
			clearTimeout(timer);
			resolve(true);
		};
		socket.once("close", done);
		socket.once("end", done);
	});
}

function silentFor(socket: net.Socket, ms: number): Promise<boolean> {
	return new Promise(resolve => {
		const onData = () => {
			clearTimeout(timer);
			resolve(false);
		};
		const timer = setTimeout(() => {
			socket.off("data", onData);
			resolve(true);
		}, ms);
		socket.once("data", onData);
	});
}

describe.each(tiers)("TCP echo server on $name", tier => {
	const device = useDevice(tier);
	const k = knobs[tier.pace];
	const tcp = () => device.endpoints.tcp!;

	describe("echo exactness", () => {
		it.each(k.echoSizes)("echoes %i random bytes exactly", async size => {
			const payload = randomPayload(size);
			if (size === 0) {
				// Nothing sent, nothing back: the connection is served and closes cleanly.
				const socket = await connect(tcp());
				socket.end();
				expect(await silentFor(socket, 300)).toBe(true);
				expect(await closedWithin(socket, 5000)).toBe(true);
				return;
			}
			const back = await echoOnce(tcp(), payload, k.echoTimeoutMs);
			expect(back.length).toBe(size);
			expect(sha256(back)).toBe(sha256(payload));
		});

		it("keeps order across many small writes", async () => {
			const socket = await connect(tcp());
			try {
				const parts = Array.from({ length: 200 }, (_, i) => Buffer.from(`line ${i}\n`));
				const all = Buffer.concat(parts);
				const back = readBytes(socket, all.length, k.echoTimeoutMs);
				for (const part of parts) socket.write(part);
				expect((await back).toString()).toBe(all.toString());
			} finally {
				socket.destroy();
			}
		});
	});

	it(`streams ${k.streamBytes} bytes to a slow reader with no loss and bounded device memory`, async () => {
		const slow = tier.pace === "sim" ? { pauseEvery: 64 * 1024, pauseMs: 300 } : { pauseEvery: 8 * 1024 * 1024, pauseMs: 50 };
		const { result, growth } = await measureGrowth(device.process?.pid, () => streamThroughEcho(tcp(), k.streamBytes, { ...slow, timeoutMs: 240_000 }));
		expect(result.received).toBe(k.streamBytes);
		expect(result.receivedHash).toBe(result.sentHash);
		if (k.streamRssGrowth !== undefined && growth !== undefined) expect(growth).toBeLessThan(k.streamRssGrowth);
	}, 300_000);

	it("serves maxClients at once, keeps the backlog's client with its early data, closes the one beyond", async () => {
		// Defaults: 2 served, 1 waiting.
		const [a, b] = [await connect(tcp()), await connect(tcp())];
		const sockets = [a, b];
		try {
			for (const [socket, text] of [
				[a, "first"],
				[b, "second"],
			] as const) {
				const back = readBytes(socket, text.length, k.echoTimeoutMs);
				socket.write(text);
				expect((await back).toString()).toBe(text);
			}
			const waiting = await connect(tcp());
			sockets.push(waiting);
			waiting.write("early data from the third");
			expect(await silentFor(waiting, tier.pace === "sim" ? 1000 : 400)).toBe(true);

			const refused = await connect(tcp());
			sockets.push(refused);
			refused.on("error", () => {});
			expect(await closedWithin(refused, 5000)).toBe(true);

			const early = readBytes(waiting, "early data from the third".length, k.echoTimeoutMs);
			a.destroy();
			expect((await early).toString()).toBe("early data from the third");
			const more = readBytes(waiting, 4, k.echoTimeoutMs);
			waiting.write("more");
			expect((await more).toString()).toBe("more");
			if (device.process) {
				await device.process.waitForLog(/tcp-server: .*waiting for a free slot/);
				await device.process.waitForLog(/tcp-server: Connection refused from [\d.]+:\d+/);
				await device.process.waitForLog(/tcp-server: Slot free: serving waiting [\d.]+:\d+/);
			}
		} finally {
			for (const socket of sockets) socket.destroy();
		}
	}, 60_000);

	describe("peers that go away", () => {
		let logStart = 0;
		beforeAll(() => {
			logStart = device.process?.log.length ?? 0;
		});

		async function freshClientServed() {
			const payload = randomPayload(3000);
			expect(sha256(await echoOnce(tcp(), payload, k.echoTimeoutMs))).toBe(sha256(payload));
		}

		it("a peer that vanishes mid-stream, unread echo and all", async () => {
			const socket = await connect(tcp());
			socket.write(randomPayload(200_000));
			await new Promise(r => setTimeout(r, 100));
			socket.destroy();
			await freshClientServed();
		});

		it("a peer that half-closes gets its whole echo, then the server closes", async () => {
			const socket = await connect(tcp());
			const payload = randomPayload(10_000);
			const back = readBytes(socket, payload.length, k.echoTimeoutMs);
			socket.end(payload);
			expect(sha256(await back)).toBe(sha256(payload));
			expect(await closedWithin(socket, 10_000)).toBe(true);
			await freshClientServed();
		});

		it("a peer that resets the connection", async () => {
			const socket = await connect(tcp());
			socket.on("error", () => {});
			socket.write(randomPayload(50_000));
			await new Promise(r => setTimeout(r, 50));
			socket.resetAndDestroy();
			await freshClientServed();
		});

		it.runIf(hasLog(tier))("closes and logs every one of those connections, and never aborts", async () => {
			// Three peers that went away and three fresh clients since this group began.
			const closed = () => device.process!.log.slice(logStart).filter(l => l.raw.includes("tcp-server: Connection closed")).length;
			await expect.poll(closed, { timeout: 15_000 }).toBeGreaterThanOrEqual(6);
			expect(device.process!.log.filter(l => /exception|aborted/i.test(l.raw))).toEqual([]);
			expect(device.process!.exited).toBe(false);
		});
	});
});

describe.each(tiers.filter(t => t.target !== "board"))("TCP echo server idle timeout on $name", tier => {
	const device = useDevice(tier, { tcpIdleTimeout: "600" });

	it("closes a connection that stays silent past tcpIdleTimeout, and keeps serving", async () => {
		const socket = await connect(device.endpoints.tcp!);
		const started = Date.now();
		expect(await closedWithin(socket, 5000)).toBe(true);
		expect(Date.now() - started).toBeGreaterThanOrEqual(500);
		await device.process!.waitForLog(/tcp-server: Connection closed: .*idle for 600 ms/);
		expect((await echoOnce(device.endpoints.tcp!, Buffer.from("still here"))).toString()).toBe("still here");
	});
});
