// The device's WebSocket client over TLS (wss://) against the harness's ws
// echo peer behind a TLS gate (host-harness/peers/tls-gate.ts), with a CA
// and certificates made at run time (host-harness/lib/tls-certs.ts): on the
// simulator it is Moddable's own TLS engine (modules/tls-socket.ts), on node
// the host provider over node:tls.
//
// 1. The ESP-IDF example session over wss, ending with a clean 1000.
// 2. One device, the peer failing it in turn with each fault a TLS client
//    meets: a certificate from another CA (alone, and followed by our CA's
//    certificate, which the SDK's own check accepted), for another name,
//    expired; a
//    server speaking plain TCP (HTTP); a server that closes mid-handshake.
//    Per fault the device logs the handshake's failure with its cause,
//    stays up and retries; once the peer is fixed the next retry completes
//    a session (the peer hears "hello 0000").
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RunningDevice } from "../../host-harness/device/targets.js";
import { freeTcpPort, freeUdpPort } from "../../host-harness/lib/ports.js";
import { makeTestPki, opensslMissing, type ServerCredentials, type TestPki } from "../../host-harness/lib/tls-certs.js";
import { type GateMode, TlsGate } from "../../host-harness/peers/tls-gate.js";
import { WsPeer } from "../../host-harness/peers/ws-peer.js";
import { ClientDevice, clientTiers } from "./client-device.js";

const missing = opensslMissing();
if (missing) console.log(`TLS suites skipped: ${missing}`);

const failed = (peerPattern: string, cause: string) => new RegExp(String.raw`ws-client: TLS handshake with ${peerPattern}:\d+ failed: ${cause}`);

interface Fault {
	name: string;
	mode: GateMode;
	credentials?: (pki: TestPki) => ServerCredentials;
	/** What the device logs, after "TLS handshake with a:p failed: " (NAME: the name it connected to). */
	cause: string;
}

const faults: Fault[] = [
	{
		name: "a certificate from another CA",
		mode: "tls",
		credentials: pki => pki.otherCa,
		cause: String.raw`the server's certificate is not issued by the configured CA \(unknown CA\)`,
	},
	// What the SDK's own check accepted: a certificate signed by another key, our CA's certificate after it.
	{
		name: "a certificate from another CA followed by our CA's certificate",
		mode: "tls",
		credentials: pki => pki.forgedChain,
		cause: String.raw`the server's certificate is not issued by the configured CA \(unknown CA`,
	},
	// A server's certificate from our CA (not a CA itself) cannot vouch for another.
	{
		name: "a certificate signed by a server's certificate from our CA",
		mode: "tls",
		credentials: pki => pki.issuedByServer,
		cause: String.raw`the server's certificate is not issued by the configured CA \(unknown CA`,
	},
	{
		name: "a certificate for another host name",
		mode: "tls",
		credentials: pki => pki.wrongName,
		cause: String.raw`the server's certificate is for wrong\.invalid, not NAME \(name mismatch\)`,
	},
	{ name: "an expired certificate", mode: "tls", credentials: pki => pki.expired, cause: "the server's certificate has expired" },
	{ name: "a server that speaks plain TCP (HTTP)", mode: "plain", cause: "the server does not speak TLS" },
	{ name: "a server that closes mid-handshake", mode: "drop-handshake", cause: "the server closed the connection during the TLS handshake" },
];

describe.skipIf(Boolean(missing)).each(clientTiers)("WebSocket client over TLS (wss://) on $name", tier => {
	const side = new ClientDevice(tier);
	const cause = (fault: Fault) => fault.cause.replace("NAME", side.hostName.replace(/\./g, "\\."));
	let pki: TestPki;
	let gate: TlsGate;
	let peer: WsPeer | undefined;
	let device: RunningDevice | undefined;

	beforeAll(() => {
		pki = makeTestPki({ names: [side.hostName] });
	});
	afterAll(() => side.close());
	afterEach(async () => {
		await device?.stop();
		await peer?.close();
		device = undefined;
		peer = undefined;
	});

	/** The peer's session `index`, or an error carrying the device's log (why it did not come). */
	const sessionOf = (index: number) =>
		peer!.session(index, 30_000).catch((e: Error) => {
			throw new Error(`${e.message}\n${device?.process.tail(25) ?? ""}`);
		});

	const boot = async (port: number, extra: Record<string, string> = {}) =>
		side.start({
			tcpServer: "false",
			tcpPort: String(await freeTcpPort()),
			udpPort: String(await freeUdpPort()),
			wsPort: String(await freeTcpPort()),
			wsClient: "true",
			// A name, not the address: SNI and the certificate check use it.
			wsClientUri: `wss://${side.hostName}:${port}/`,
			wsClientCa: pki.caConfig,
			wsClientHelloInterval: "100",
			wsClientNoDataTimeout: "1000",
			wsClientRetryDelay: "200",
			wsClientRetryMaxDelay: "800",
			...extra,
		});

	it("runs the example session over wss and closes cleanly with 1000", async () => {
		gate = new TlsGate(pki.server);
		peer = await WsPeer.start(0, side.host, "/", gate);
		device = await boot(peer.port);
		const session = await sessionOf(0);
		const messages = await session.received(8);
		expect(messages.slice(0, 5).map(m => m.data.toString())).toEqual(["hello 0000", "hello 0001", "hello 0002", "hello 0003", "hello 0004"]);
		expect(messages[5]).toEqual({ binary: false, data: Buffer.from("a".repeat(32) + "b".repeat(32)) });
		expect(messages[6].data).toEqual(Buffer.from([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]));
		expect(messages[7]).toEqual({ binary: false, data: Buffer.from("a".repeat(2000)) });
		expect((await session.closed).code).toBe(1000);
		await device.process.waitForLog(/ws-client: Received opcode=1 len=2000/);
		await device.process.waitForLog(/ws-client: WebSocket closed cleanly \(1000\)/);
		expect(gate.failures).toEqual([]);
	}, 90_000);

	it("logs each TLS fault with its cause, keeps retrying, and connects once the peer is fixed", async () => {
		gate = new TlsGate(pki.server);
		peer = await WsPeer.start(0, side.host, "/", gate);
		// Messages keep flowing until the peer drops the session, which the client retries.
		device = await boot(peer.port, { wsClientHelloCount: "100000", wsClientHelloInterval: "200", wsClientNoDataTimeout: "30000" });
		let sessions = 0;
		const first = await sessionOf(sessions++);
		await first.received(1);
		for (const fault of faults) {
			gate.mode = fault.mode;
			if (fault.credentials) gate.setCredentials(fault.credentials(pki));
			const mark = device.process.log.length;
			peer.sessions[sessions - 1].socket.terminate();
			const line = await device.process.waitForLog(failed(side.hostPattern, cause(fault)), 20_000, mark);
			expect(line.raw, fault.name).toMatch(/TLS handshake/);
			// It retries while the fault lasts: a second failure after a "Reconnecting in".
			const retried = await device.process.waitForLog(/ws-client: Reconnecting in \d+ ms/, 10_000, device.process.log.indexOf(line) + 1);
			await device.process.waitForLog(failed(side.hostPattern, cause(fault)), 20_000, device.process.log.indexOf(retried) + 1);
			gate.mode = "tls";
			gate.setCredentials(pki.server);
			const next = await sessionOf(sessions++);
			const [hello] = await next.received(1, 20_000);
			expect(hello.data.toString(), `after ${fault.name}`).toBe("hello 0000");
		}
		expect(device.process.exited).toBeFalsy();
	}, 240_000);
});
