// The simulator's debug build (mcconfig -d), watched the way a developer
// watches a board: through an xsbug-protocol debugger (host-harness logs).
// Its log arrives there with the machine's tag, and its XS heap figures
// (instrumentation) show whether the app keeps within the default esp32
// heaps (the simulator is built with the same creation values: a 32 KB
// chunk heap, 2048 slots) while it echoes a large WebSocket message and a
// TCP stream: the chunk heap never grows past its initial 32 KB, and a
// second round of the same load grows neither heap (nothing leaks).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningDevice, startDevice } from "../../host-harness/device/targets.js";
import { echoOnce, randomPayload, sha256, streamThroughEcho } from "../../host-harness/oracle/tcp-echo.js";
import { nextMessage, openWs } from "../../host-harness/oracle/ws-echo.js";
import { XsbugLogServer } from "../../host-harness/xsbug/log-server.js";
import { hostConfig, tiers } from "./device-under-test.js";

describe.runIf(tiers.some(t => t.target === "sim"))("simulator debug build, through host-harness logs", () => {
	const server = new XsbugLogServer({ breakOnExceptions: false });
	let device: RunningDevice;
	const peaks: Record<string, number> = {};

	beforeAll(async () => {
		const port = await server.start(0, "127.0.0.1");
		server.on("sample", ({ values }: { values: Record<string, number> }) => {
			for (const [name, value] of Object.entries(values)) peaks[name] = Math.max(peaks[name] ?? 0, value);
		});
		device = await startDevice({ target: "sim", config: await hostConfig(), xsbugPort: port });
	}, 180_000);

	afterAll(async () => {
		await device?.stop();
		await server.close();
	});

	it("delivers the app's log to the debugger, tagged, and the app runs on", async () => {
		await server.waitForLog(/app: services up/, 20_000);
		await echoOnce(device.endpoints.tcp!, Buffer.from("watched"));
		await server.waitForLog(/tcp-server: Socket accepted ip address: 127\.0\.0\.1:\d+/, 10_000);
		expect(server.machines.length).toBe(1);
		expect(server.lines.some(line => /\[[\w.-]+\] D \(\d+\) tcp-server: Received 7 bytes from 127\.0\.0\.1:\d+: watched/.test(line))).toBe(true);
		expect(server.exceptions).toEqual([]);
	});

	async function load(): Promise<void> {
		const socket = await openWs(device.endpoints.ws!);
		const message = randomPayload(256 * 1024);
		socket.send(message);
		const back = await nextMessage(socket, 60_000);
		expect(sha256(back.data)).toBe(sha256(message));
		socket.close();
		const stream = await streamThroughEcho(device.endpoints.tcp!, 256 * 1024, { pauseEvery: 64 * 1024, pauseMs: 200, timeoutMs: 60_000 });
		expect(stream.receivedHash).toBe(stream.sentHash);
		await new Promise(r => setTimeout(r, 2500)); // the simulator samples once a second
	}

	it("echoes a 256 KiB WebSocket message and a 256 KiB TCP stream within a 32 KB chunk heap, and leaks nothing", async () => {
		await expect.poll(() => peaks["Chunk available"], { timeout: 5000 }).toBeGreaterThan(0);
		const initialChunks = peaks["Chunk available"];
		await load();
		const afterFirst = { chunks: peaks["Chunk available"], slots: peaks["Slot available"] };
		await load();
		console.log(
			`XS heaps on the simulator under load: chunk ${peaks["Chunk used"]} used of ${peaks["Chunk available"]}, slots ${peaks["Slot used"]} of ${peaks["Slot available"]}, stack ${peaks["Stack used"]} of ${peaks["Stack available"]}`,
		);
		expect(initialChunks).toBe(32768);
		expect(peaks["Chunk available"]).toBe(initialChunks);
		expect({ chunks: peaks["Chunk available"], slots: peaks["Slot available"] }).toEqual(afterFirst);
		expect(server.exceptions).toEqual([]);
	}, 180_000);
});
