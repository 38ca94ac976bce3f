// The device's WebSocket client running the ESP-IDF example session against
// the harness's ws echo peer: five hellos, the fragmented message
// reassembled as 64 bytes, a fragmented binary message, the 2000-byte text,
// a clean 1000 close after the no-data timeout, and a reconnect after the
// peer restarts. On the host targets and the lwip tier, where the harness
// configures the device (tests/device/client-device.ts).
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { RunningDevice } from "../../host-harness/device/targets.js";
import { WsPeer } from "../../host-harness/peers/ws-peer.js";
import { ClientDevice, clientTiers } from "./client-device.js";
import { hostConfig } from "./device-under-test.js";

describe.each(clientTiers)("WebSocket client session on $name", tier => {
	const side = new ClientDevice(tier);
	let peer: WsPeer | undefined;
	let device: RunningDevice | undefined;
	afterEach(async () => {
		await device?.stop();
		await peer?.close();
		device = undefined;
		peer = undefined;
	});
	afterAll(() => side.close());

	const boot = async (port: number, extra: Record<string, string> = {}) =>
		side.start(
			await hostConfig({
				tcpServer: "false",
				wsClient: "true",
				wsClientUri: `ws://${side.host}:${port}/`,
				wsClientHelloInterval: "100",
				wsClientNoDataTimeout: "1000",
				wsClientRetryDelay: "200",
				wsClientRetryMaxDelay: "800",
				...extra,
			}),
		);

	it("runs the example session and closes cleanly with 1000", async () => {
		peer = await WsPeer.start(0, side.host);
		device = await boot(peer.port);
		const session = await peer.session(0);
		const messages = await session.received(8);
		expect(messages.slice(0, 5).map(m => m.data.toString())).toEqual(["hello 0000", "hello 0001", "hello 0002", "hello 0003", "hello 0004"]);
		expect(messages[5]).toEqual({ binary: false, data: Buffer.from("a".repeat(32) + "b".repeat(32)) });
		expect(messages[6].binary).toBe(true);
		expect(messages[6].data).toEqual(Buffer.from([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]));
		expect(messages[7]).toEqual({ binary: false, data: Buffer.from("a".repeat(2000)) });
		expect((await session.closed).code).toBe(1000);
		await device.process.waitForLog(/ws-client: Received opcode=1 len=10: hello 0004/);
		await device.process.waitForLog(/ws-client: WebSocket closed cleanly \(1000\)/);
	}, 240_000); // a build for this configuration first on the simulator and lwip

	it("reconnects after the peer restarts, and starts the session over", async () => {
		peer = await WsPeer.start(0, side.host);
		const port = peer.port;
		device = await boot(port, { wsClientHelloCount: "1000", wsClientHelloInterval: "200" });
		const first = await peer.session(0);
		await first.received(2);
		await peer.close();
		await device.process.waitForLog(/ws-client: Reconnecting in \d+ ms/, 10_000);
		peer = await WsPeer.start(port, side.host);
		const second = await peer.session(0, 20_000);
		const [hello] = await second.received(1);
		expect(hello.data.toString()).toBe("hello 0000");
	}, 240_000); // a build for this configuration first on the simulator and lwip
});
