// Seeded fuzzing of the device's servers (host-harness/fuzz) on every tier:
// mutated WebSocket traffic, mutated upgrade requests, plain HTTP requests
// on the device's HTTP routes (POST, PUT, DELETE on /upload with httpUpload,
// their bodies framed right and wrong), TCP and UDP echo payloads, each
// judged by the harness's reference oracle; every 250 cases a
// fresh client must still be served. Afterwards: no exception in the
// device's log, the device still running, a fresh client served, and the
// device's sockets and timers back where they were before the run.
//
// The seed is printed first; FUZZ_SEED=<seed> replays a run, and
// `npm run -s harness -- fuzz --target <tier> --seed <seed> --case <n>` replays
// one case of it (same generator, same oracle).
import { describe, expect, it } from "vitest";
import { frame, Op } from "../../host-harness/conformance/frames.js";
import type { LogLine } from "../../host-harness/device/log-line.js";
import type { Tier } from "../../host-harness/device/tiers.js";
import { FUZZ_CONFIG } from "../../host-harness/fuzz/command.js";
import { appHttpRoutes } from "../../host-harness/fuzz/http-oracle.js";
import { randomSeed } from "../../host-harness/fuzz/prng.js";
import { runHandshakeCase, runWsCase, type WsContext } from "../../host-harness/fuzz/run-ws.js";
import { type FuzzOptions, formatMismatch, runFuzz } from "../../host-harness/fuzz/runner.js";
import { deviceResources, freshClientsServed, resourcesSettled } from "../../host-harness/oracle/health.js";
import { tiers, useDevice } from "./device-under-test.js";

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : randomSeed();
if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`FUZZ_SEED must be a whole number, not "${process.env.FUZZ_SEED}"`);

/** How a tier is fuzzed: owned devices (node, sim) get FUZZ_CONFIG; a board (or a lan tier) runs whatever it was started with. */
function plan(tier: Tier): Omit<FuzzOptions, "endpoints" | "seed"> & { handshakeTimeoutMs: number } {
	// The HTTP routes the oracle judges requests on: the app's for the config the device runs.
	const httpRoutes = appHttpRoutes(tier.target === "board" ? tier.board!.config : FUZZ_CONFIG);
	if (tier.target !== "board")
		return tier.pace === "node"
			? { cases: 4000, concurrency: { ws: 6, tcp: 4, udp: 4 }, scale: "full", timeoutMs: 5000, handshakeTimeoutMs: 500, maxDelayMs: 3, httpRoutes }
			: // The simulator reads its sockets every 20 ms: pauses up to 25 ms between writes split a case across its polls.
				{ cases: 500, concurrency: { ws: 6, tcp: 4, udp: 2 }, scale: "small", timeoutMs: 15_000, handshakeTimeoutMs: 500, maxDelayMs: 25, httpRoutes };
	const config = tier.board!.config;
	return {
		// The lan tiers: node's and the simulator's device again, over a link (a few hundred cases judge the link);
		// lwip: the board's stack; a board: as many as its pace allows in a few minutes.
		cases: tier.name === "lan-node" ? 300 : tier.name === "lan-sim" ? 150 : tier.pace === "node" || tier.name === "lwip" ? 600 : 300,
		concurrency: { ws: Math.max(1, Math.min(3, Number(config.wsMaxClients ?? 4) - 1)), tcp: Math.min(2, Number(config.tcpMaxClients ?? 2)), udp: 2 },
		scale: tier.pace === "node" ? "full" : "small",
		maxDelayMs: tier.pace === "node" ? 3 : 25,
		timeoutMs: 15_000,
		handshakeTimeoutMs: Number(config.wsHandshakeTimeout ?? 5000),
		heartbeat: config.wsHeartbeat !== "0",
		httpRoutes: appHttpRoutes(config),
	};
}

describe.each(tiers)("fuzzing the device's servers on $name", tier => {
	// Devices this run starts get FUZZ_CONFIG (the same as host-harness fuzz --target gives them).
	const device = useDevice(tier, tier.target === "board" ? {} : { ...FUZZ_CONFIG });
	const settings = plan(tier);

	it(`matches the reference oracle on ${settings.cases} seeded cases and stays whole`, async () => {
		const where =
			tier.target === "board"
				? `--device ${tier.board!.host}${Object.entries(tier.board!.config)
						.map(([k, v]) => ` --config ${k}=${v}`)
						.join("")}${settings.scale === "small" ? " --scale small" : ""}`
				: `--target ${tier.target}`;
		console.log(`fuzz on ${tier.name}: seed ${seed} (replay: FUZZ_SEED=${seed}; one case: npm run -s harness -- fuzz ${where} --seed ${seed} --case <n>)`);
		// Every log line of the run: the device process keeps only its recent lines in memory.
		const bad: string[] = [];
		const watch = (line: LogLine) => {
			if (/exception|aborted/i.test(line.raw)) bad.push(line.raw);
		};
		device.running?.process.on("log", watch);
		const logFrom = device.process?.log.length ?? 0;
		const baseline = await deviceResources(device.resources);
		let report;
		try {
			report = await runFuzz({ ...settings, endpoints: device.endpoints, seed, healthEvery: 250 });
		} finally {
			device.running?.process.off("log", watch);
		}
		if (!device.running && device.process)
			// a board's log file: read it now
			bad.push(
				...device.process.log
					.slice(logFrom)
					.filter(l => /exception|aborted/i.test(l.raw))
					.map(l => l.raw),
			);

		const counts = Object.entries(report.counts)
			.map(([k, n]) => `${n} ${k}`)
			.join(", ");
		console.log(
			`fuzz on ${tier.name}: seed ${seed}, ${report.cases} cases (${counts}) in ${(report.ms / 1000).toFixed(1)} s: ` +
				`${report.mismatchCount} mismatches, ${report.healthChecks} health checks`,
		);
		expect(report.cases).toBe(settings.cases);
		expect(report.mismatchCount, `seed ${seed}: first mismatches:\n${report.mismatches.slice(0, 5).map(formatMismatch).join("\n\n")}`).toBe(0);
		expect(report.healthFailures).toEqual([]);
		expect(bad, "device log lines with an exception or an abort").toEqual([]);
		expect(device.process?.exited ?? false, "the device process is still running").toBe(false);
		await freshClientsServed(device.endpoints, { withinMs: 15_000, echoTimeoutMs: settings.timeoutMs });
		if (baseline) expect(await resourcesSettled(device.resources, baseline), "device resources after the run (before it: baseline)").toEqual(baseline);
	}, 300_000);

	/* Device bugs the fuzzer found, replayed as fixed cases so they stay fixed. */

	const context = (): WsContext => ({
		url: new URL(device.endpoints.ws!),
		timeoutMs: settings.timeoutMs ?? 5000,
		handshakeTimeoutMs: settings.handshakeTimeoutMs,
		heartbeat: !!settings.heartbeat,
		httpRoutes: settings.httpRoutes,
	});

	it("refuses an upgrade with two Host headers with 400 (RFC 7230 5.4; found by the fuzzer, seed 1 case 99)", async () => {
		const url = new URL(device.endpoints.ws!);
		const head = Buffer.from(
			[
				`GET ${url.pathname} HTTP/1.1`,
				`Host: ${url.host}`,
				"Upgrade: websocket",
				"Connection: Upgrade",
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
				"Sec-WebSocket-Version: 13",
				"Host: other.example",
				"",
				"",
			].join("\r\n"),
		);
		const verdict = await runHandshakeCase(
			{ kind: "handshake", index: 0, seed: 0, label: "Host twice", head, after: [], writes: { cuts: [], delayMs: 0, hangUp: true } },
			context(),
		);
		expect(verdict.problem, `expected ${verdict.expected}, observed ${verdict.observed}`).toBeUndefined();
	}, 60_000);

	it("bytes after the client's Close cost neither echoes nor the Close reply (found by the fuzzer on the simulator)", async () => {
		// Found by the fuzzer (sim, seed 6, case 2086; also seeds 7 and 8), reduced: a fragmented text with a
		// Ping between its fragments, two more messages, our Close, then 80 bytes more, 1539 in all: more than
		// the simulator reads in one poll (1536), so bytes are still unread in the kernel when the server
		// closes; closing then resets the connection and the reset destroys the last frames (fixed: the
		// server lingers after a clean close as fail() does, websocket/connection.ts onClose()).
		const key = Uint8Array.of(1, 2, 3, 4);
		const text = (n: number, op: number = Op.TEXT, fin = true) => frame(op, Buffer.alloc(n, 0x61), { fin, mask: key });
		const frames = [
			text(112, Op.TEXT, false),
			text(141, Op.CONT, false),
			frame(Op.PING, "", { mask: key }),
			text(314, Op.CONT, false),
			text(18, Op.CONT),
			text(806),
			text(8),
			frame(Op.CLOSE, "", { mask: key }),
			frame(Op.BINARY, Buffer.alloc(80), { mask: key }),
		];
		expect(Buffer.concat(frames).length).toBe(1539);
		// Before the fix it failed about 9 times in 10 here, depending on when the kernel sends what: five tries.
		const problems: string[] = [];
		for (let i = 0; i < 5; i++) {
			const verdict = await runWsCase(
				{ kind: "ws", index: i, seed: 0, parts: frames.map(bytes => ({ bytes, label: "" })), writes: { cuts: [], delayMs: 0, hangUp: false } },
				context(),
			);
			if (verdict.problem) problems.push(`try ${i + 1}: ${verdict.problem}; expected ${verdict.expected}, observed ${verdict.observed}`);
		}
		expect(problems).toEqual([]);
	}, 60_000);
});
