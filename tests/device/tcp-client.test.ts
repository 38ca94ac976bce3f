// The device's TCP echo client against the harness's TCP peer: the greeting,
// payloads echoed byte for byte, and a reconnect after the peer restarts.
// A board's client must be flashed pointing at this PC; these run on the
// host targets and the lwip tier, where the harness configures the device
// itself (tests/device/client-device.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningDevice } from "../../host-harness/device/targets.js";
import { randomPayload, sha256 } from "../../host-harness/oracle/tcp-echo.js";
import { TcpPeer } from "../../host-harness/peers/tcp-peer.js";
import { ClientDevice, clientTiers } from "./client-device.js";
import { knobs } from "./knobs.js";

describe.each(clientTiers)("TCP echo client on $name", tier => {
	const k = knobs[tier.pace];
	const side = new ClientDevice(tier);
	let peer: TcpPeer;
	let device: RunningDevice;

	beforeAll(async () => {
		peer = await TcpPeer.start(0, side.host);
		device = await side.start(await side.tcpClientConfig(peer.port));
	});

	afterAll(async () => {
		await device?.stop();
		await peer?.close();
		side.close();
	});

	it("connects and greets with Hello World!", async () => {
		const session = await peer.session(0);
		expect(await session.greeting).toBe("Hello World!");
		await device.process.waitForLog(new RegExp(`tcp-client: Successfully connected to ${side.hostPattern}:\\d+`));
	});

	it.each([1, 1500, 65536])("echoes %i random bytes back to the peer", async size => {
		const session = await peer.session(0);
		const payload = randomPayload(size);
		expect(sha256(await session.echo(payload, k.echoTimeoutMs))).toBe(sha256(payload));
	});

	it("reconnects with backoff after the peer goes away, and greets again", async () => {
		const port = peer.port;
		await peer.close();
		await device.process.waitForLog(new RegExp(`tcp-client: Connection to ${side.hostPattern}:\\d+ ended: connection closed by peer or reset`));
		await device.process.waitForLog(new RegExp(`tcp-client: Connection to ${side.hostPattern}:\\d+ failed: connection refused or unreachable`));
		await device.process.waitForLog(/tcp-client: Reconnecting in 400 ms/);
		peer = await TcpPeer.start(port, side.host);
		const session = await peer.session(0, 20_000);
		expect(await session.greeting).toBe("Hello World!");
		const payload = randomPayload(5000);
		expect(sha256(await session.echo(payload, k.echoTimeoutMs))).toBe(sha256(payload));
	}, 60_000);
});
