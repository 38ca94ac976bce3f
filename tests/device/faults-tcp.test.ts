// Reliability of the TCP echo server under faults: peers that reset,
// half-close, vanish with their echo unread, say nothing, or flood the
// port. Every case ends by proving that a fresh client is served byte for
// byte within the dead-peer deadline (1 s on node, 2 s on the simulator's
// 20 ms polling) and that the device holds no more sockets or timers than
// before the case.
import { describe, expect, it } from "vitest";
import { flood, halfClose, reset, silent, tryConnect, vanish } from "../../host-harness/faults/tcp.js";
import { freshTcpClientServed } from "../../host-harness/oracle/health.js";
import { echoOnce, randomPayload, readBytes, sha256 } from "../../host-harness/oracle/tcp-echo.js";
import { hasLog, tiers, useDevice } from "./device-under-test.js";
import { judgedCases, keepEchoing, servedWithin } from "./judge.js";
import { knobs } from "./knobs.js";

const MiB = 1024 * 1024;

/** The same cases at the volume each target carries. */
const volume = {
	node: { halfCloseSizes: [0, 1, 1500, 5000, 60_000, MiB], endsInARow: 1000, resetAtOnce: 20 },
	sim: { halfCloseSizes: [1, 1500, 5000, 60_000], endsInARow: 100, resetAtOnce: 20 },
	board: { halfCloseSizes: [1, 1500, 5000, 60_000], endsInARow: 100, resetAtOnce: 20 },
};

describe.each(tiers)("TCP echo server under faults on $name", tier => {
	const device = useDevice(tier);
	const k = knobs[tier.pace];
	const v = volume[tier.pace];
	const within = servedWithin[tier.pace];
	const tcp = () => device.endpoints.tcp!;
	const judge = judgedCases(device, tier.pace);

	it(`${v.resetAtOnce} clients that send 3000 bytes and reset at once free every slot`, async () => {
		await Promise.all(Array.from({ length: v.resetAtOnce }, () => reset(tcp(), 3000, 20)));
		await judge.recovered();
	});

	it("a peer that resets while its echo is backed up (unread) frees its slot", async () => {
		await Promise.all([vanish(tcp(), 2 * MiB, 200), reset(tcp(), 200_000, 200)]);
		await judge.recovered();
	});

	// The echo's tail is written after the peer's FIN: on lwIP only with the kit's patched tcp.c (docs/platform-lwip.md).
	it.each(v.halfCloseSizes)(
		"a peer that half-closes after %i bytes gets every byte back, then the server closes",
		async size => {
			const { sent, received, closed } = await halfClose(tcp(), size, k.echoTimeoutMs * 2);
			expect(received.length).toBe(sent.length);
			expect(sha256(received)).toBe(sha256(sent));
			expect(closed).toBe(true);
			await judge.recovered();
		},
		60_000,
	);

	it(`${v.endsInARow} abrupt ends in a row (reset, vanish, half-close, mid-stream), then a fresh client is served`, async () => {
		const endings = [
			() => reset(tcp(), 1000, 0),
			() => vanish(tcp(), 20_000, 0),
			() => halfClose(tcp(), 700, 5000).then(() => undefined),
			() => reset(tcp(), 0, 0),
		];
		for (
			let i = 0;
			i < v.endsInARow;
			i += 2 // two at a time: both slots busy with faults
		)
			await Promise.all([endings[i % 4](), endings[(i + 1) % 4]()]);
		await judge.recovered();
	}, 240_000);

	it("50 connections that end abruptly, then 8 at once beyond capacity that leave their echo unread: a fresh client is served within 2 s", async () => {
		const endings = [
			() => reset(tcp(), 1000, 0),
			() => vanish(tcp(), 20_000, 0),
			() => halfClose(tcp(), 700, 5000).then(() => undefined),
			() => echoOnce(tcp(), randomPayload(300), k.echoTimeoutMs).then(() => undefined),
		];
		for (let i = 0; i < 50; i++) await endings[i % 4]();
		// 2 served, 1 waiting, 5 closed by the device; every one gone with its echo unread (the kernel resets).
		await Promise.all(Array.from({ length: 8 }, () => vanish(tcp(), 20_000, 0)));
		// Asked again (refused, reset, or no echo) for up to 2 s: then it must have been served.
		const servedAfter = await freshTcpClientServed(device.endpoints, { withinMs: 2000 });
		console.log(`faults-tcp on ${tier.name}: a fresh client served ${servedAfter} ms after 8 at once beyond capacity`);
		await judge.recovered();
	}, 120_000);

	it("a dead connection waiting in the backlog never holds its place", async () => {
		// Defaults: 2 served, 1 waiting. Two live clients take the slots, a third waits and dies.
		const live = [await tryConnect(tcp()), await tryConnect(tcp())];
		try {
			for (const socket of live) {
				const back = readBytes(socket!, 4, k.echoTimeoutMs);
				socket!.write("live");
				expect((await back).toString()).toBe("live");
			}
			const dead = await tryConnect(tcp());
			await new Promise(r => setTimeout(r, tier.pace === "sim" ? 200 : 50)); // accepted into the backlog
			dead!.resetAndDestroy();
			await new Promise(r => setTimeout(r, tier.pace === "sim" ? 200 : 50));
			// A newcomer takes the dead one's place in the backlog instead of being refused…
			const newcomer = await tryConnect(tcp());
			let refused = false;
			newcomer!.once("close", () => {
				refused = true;
			});
			newcomer!.write("waited");
			const echoed = readBytes(newcomer!, 6, within * 4);
			await new Promise(r => setTimeout(r, tier.pace === "sim" ? 500 : 200));
			expect(refused).toBe(false);
			// …and is served, early data first, once a slot frees.
			live[0]!.destroy();
			expect((await echoed).toString()).toBe("waited");
			newcomer!.destroy();
		} finally {
			for (const socket of live) socket?.destroy();
		}
		await judge.recovered();
	});

	it("a flood of maxClients + 50 connections: served clients keep echoing throughout, the rest wait or are turned away", async () => {
		const served = [await tryConnect(tcp()), await tryConnect(tcp())];
		const echoing = keepEchoing(served, async socket => {
			const payload = randomPayload(512);
			const back = readBytes(socket!, payload.length, k.echoTimeoutMs);
			socket!.write(payload);
			return sha256(await back) === sha256(payload);
		});
		try {
			const before = echoing.tally.echoes;
			const result = await flood(tcp(), 2 + 50, tier.pace === "sim" ? 1500 : 500);
			const during = echoing.tally.echoes - before;
			const { failures } = await echoing.stop();
			expect(failures).toBe(0);
			expect(during).toBeGreaterThan(0);
			// None of the flood is served while both slots are busy: one waits (the backlog), the rest are closed.
			expect(result.held).toBeLessThanOrEqual(1);
			expect(result.turnedAway).toBeGreaterThanOrEqual(51);
		} finally {
			await echoing.stop();
			for (const socket of served) socket?.destroy();
		}
		await judge.recovered();
	}, 60_000);

	it("a client that never reads while the device has data for it does not stall anyone else", async () => {
		const stuck = await tryConnect(tcp());
		stuck!.pause();
		const pushing = new Promise<void>(resolve => {
			const block = randomPayload(64 * 1024);
			const write = () => {
				while (!stuck!.destroyed && stuck!.write(block)) {}
				if (!stuck!.destroyed) stuck!.once("drain", write);
				resolve();
			};
			write();
		});
		await pushing;
		try {
			// Its echo backs up into its own fixed buffer; the other slot serves others, one after another.
			for (let i = 0; i < 5; i++) {
				const payload = randomPayload(3000);
				expect(sha256(await echoOnce(tcp(), payload, k.echoTimeoutMs))).toBe(sha256(payload));
			}
		} finally {
			stuck!.destroy();
		}
		await judge.recovered();
	}, 60_000);

	it("a client that connects and says nothing does not stall anyone else", async () => {
		const quiet = await silent(tcp());
		expect(quiet).toBeDefined();
		try {
			await freshTcpClientServed(device.endpoints, { withinMs: within });
		} finally {
			quiet?.destroy();
		}
		await judge.recovered();
	});

	it.runIf(hasLog(tier))("logs every fault as a closed connection with its cause, never as an error", async () => {
		const log = device.process!.log.map(l => l.raw);
		expect(log.filter(l => /tcp-server: Connection closed: .*\((peer closed or reset|peer gone .*)\)/.test(l)).length).toBeGreaterThan(20);
		expect(log.filter(l => /^E .*tcp-server/.test(l) || /E \(\d+\) tcp-server/.test(l))).toEqual([]);
	});
});

describe.each(tiers.filter(t => t.target !== "board"))("TCP echo server dead and silent peers on $name", tier => {
	describe("with a short idle timeout", () => {
		const device = useDevice(tier, { tcpIdleTimeout: "800" });
		const judge = judgedCases(device, tier.pace);

		it("closes a silent connection at tcpIdleTimeout and frees its slot", async () => {
			const quiet = [await silent(device.endpoints.tcp!), await silent(device.endpoints.tcp!)];
			const closedAt = await Promise.all(
				quiet.map(
					socket =>
						new Promise<boolean>(resolve => {
							const timer = setTimeout(() => resolve(false), 10_000);
							socket!.once("close", () => {
								clearTimeout(timer);
								resolve(true);
							});
						}),
				),
			);
			expect(closedAt).toEqual([true, true]);
			await device.process!.waitForLog(/tcp-server: Connection closed: .*idle for 800 ms/);
			await judge.recovered();
		});
	});

	describe("with tcpLruPurge", () => {
		const device = useDevice(tier, { tcpLruPurge: "true", tcpBacklog: "0" });
		const judge = judgedCases(device, tier.pace);

		it("a newcomer to a full server closes the connection idle the longest and is served", async () => {
			const tcp = device.endpoints.tcp!;
			const idle = await tryConnect(tcp);
			idle!.write("x");
			await readBytes(idle!, 1, 5000);
			await new Promise(r => setTimeout(r, 300));
			const busy = await tryConnect(tcp);
			busy!.write("y");
			await readBytes(busy!, 1, 5000);
			const idleClosed = new Promise<boolean>(resolve => {
				const timer = setTimeout(() => resolve(false), 5000);
				idle!.once("close", () => {
					clearTimeout(timer);
					resolve(true);
				});
			});
			const payload = randomPayload(1000);
			expect(sha256(await echoOnce(tcp, payload, 5000))).toBe(sha256(payload));
			expect(await idleClosed).toBe(true);
			expect(busy!.destroyed).toBe(false);
			busy!.destroy();
			await device.process!.waitForLog(/tcp-server: Connection closed: .*purged, idle for \d+ ms/);
			await judge.recovered();
		});
	});
});
