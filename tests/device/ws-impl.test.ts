// The WebSocket echo on both implementations (config wsImpl): ours
// (websocket/) and Moddable's SDK websocket module, with the smoke cases
// both must pass: text and binary echo, and "Trigger async". Everything
// else is judged on ours (ws-server, faults-ws, conformance); the SDK
// module runs on the simulator and esp32, not on the Node host, where
// wsImpl=sdk must leave the service out with its reason, never abort.
import { describe, expect, it } from "vitest";
import type WebSocket from "ws";
import { randomPayload, sha256 } from "../../host-harness/oracle/tcp-echo.js";
import { nextMessage, openWs } from "../../host-harness/oracle/ws-echo.js";
import { tiers, useDevice } from "./device-under-test.js";

const hostTiers = tiers.filter(t => t.target !== "board");
const impls = hostTiers.flatMap(tier =>
	["ours", "sdk"].filter(impl => impl === "ours" || tier.target === "sim").map(impl => ({ tier, impl, name: `${tier.name}, wsImpl=${impl}` })),
);

// wsImpl picks the app's WebSocket server at build time: only devices this PC builds can switch it.
if (!hostTiers.length) {
	console.log("ws-impl skipped: it builds the device with each wsImpl, and TARGETS has no host target (node, sim)");
	it.skip("wsImpl on a host target (node, sim)", () => undefined);
}

describe.each(impls)("WebSocket echo smoke on $name", ({ tier, impl }) => {
	const device = useDevice(tier, { wsImpl: impl });
	const timeout = tier.pace === "sim" ? 20_000 : 5_000;

	it("echoes text and binary with their type", async () => {
		const socket = await openWs(device.endpoints.ws!);
		try {
			socket.send("Hello World!");
			const text = await nextMessage(socket, timeout);
			expect(text).toMatchObject({ binary: false });
			expect(text.data.toString()).toBe("Hello World!");
			const payload = randomPayload(1000);
			socket.send(payload);
			const binary = await nextMessage(socket, timeout);
			expect(binary.binary).toBe(true);
			expect(sha256(binary.data)).toBe(sha256(payload));
		} finally {
			socket.terminate();
		}
	});

	it('answers "Trigger async" with its echo, then "Async data"', async () => {
		const socket: WebSocket = await openWs(device.endpoints.ws!);
		try {
			// Both may arrive in one TCP segment: collect from the start rather than wait for each.
			const messages: string[] = [];
			socket.on("message", data => messages.push(data.toString()));
			socket.send("Trigger async");
			const deadline = Date.now() + timeout;
			while (messages.length < 2 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20));
			expect(messages).toEqual(["Trigger async", "Async data"]);
		} finally {
			socket.terminate();
		}
	});
});

describe.each(hostTiers.filter(t => t.target === "node"))("wsImpl=sdk on $name", tier => {
	const device = useDevice(tier, { wsImpl: "sdk" });

	it("leaves the WebSocket service out with its reason, and runs the others", async () => {
		expect(device.endpoints.ws).toBeUndefined();
		expect(device.endpoints.tcp?.port).toBeGreaterThan(0);
		await device.process!.waitForLog(/E \(\d+\) app: .*SDK websocket module.*wsImpl=sdk runs on the simulator and esp32/);
	});
});
