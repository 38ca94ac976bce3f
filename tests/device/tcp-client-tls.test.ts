// The device's TCP echo client over TLS (tcpClientTls, tcpClientCa) against
// the harness's TCP echo peer behind a TLS gate (host-harness/peers/
// tls-gate.ts), with a CA made at run time: on the simulator Moddable's TLS
// engine (modules/tls-socket.ts), on node the host provider over node:tls.
// The greeting and echoes byte for byte; then a certificate from another CA
// is refused with its cause in the log, retried with backoff, and the
// client greets again once the peer is fixed. The peer is addressed by IP
// (127.0.0.1, the link's host end on the lwip tier): the certificate names
// it in an iPAddress subjectAltName.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningDevice } from "../../host-harness/device/targets.js";
import { makeTestPki, opensslMissing, type TestPki } from "../../host-harness/lib/tls-certs.js";
import { randomPayload, sha256 } from "../../host-harness/oracle/tcp-echo.js";
import { TcpPeer } from "../../host-harness/peers/tcp-peer.js";
import { TlsGate } from "../../host-harness/peers/tls-gate.js";
import { ClientDevice, clientTiers } from "./client-device.js";
import { knobs } from "./knobs.js";

const missing = opensslMissing();
if (missing) console.log(`TCP TLS suite skipped: ${missing}`);

describe.skipIf(Boolean(missing)).each(clientTiers)("TCP echo client over TLS on $name", tier => {
	const k = knobs[tier.pace];
	const side = new ClientDevice(tier);
	let pki: TestPki;
	let gate: TlsGate;
	let peer: TcpPeer;
	let device: RunningDevice;

	beforeAll(async () => {
		pki = makeTestPki({ addresses: [side.host] });
		gate = new TlsGate(pki.server);
		peer = await TcpPeer.start(0, side.host, gate);
		device = await side.start(await side.tcpClientConfig(peer.port, { tcpClientTls: "true", tcpClientCa: pki.caConfig }));
	});

	afterAll(async () => {
		await device?.stop();
		await peer?.close();
		side.close();
	});

	it("connects over TLS and greets with Hello World!", async () => {
		const session = await peer.session(0, 30_000);
		expect(await session.greeting).toBe("Hello World!");
		await device.process.waitForLog(new RegExp(`tcp-client: Successfully connected to ${side.hostPattern}:\\d+`));
	});

	it.each([1, 1500, 65536])(
		"echoes %i random bytes back to the peer over TLS",
		async size => {
			const session = await peer.session(0);
			const payload = randomPayload(size);
			expect(sha256(await session.echo(payload, k.echoTimeoutMs))).toBe(sha256(payload));
		},
		60_000,
	);

	it("refuses a certificate from another CA, says why, retries, and greets once the peer is fixed", async () => {
		gate.setCredentials(pki.otherCa);
		const mark = device.process.log.length;
		peer.sessions[0].close();
		await device.process.waitForLog(
			new RegExp(
				`tcp-client: Connection to ${side.hostPattern}:\\d+ failed: TLS handshake with ${side.hostPattern}:\\d+ failed: the server's certificate is not issued by the configured CA \\(unknown CA\\)`,
			),
			20_000,
			mark,
		);
		const retry = device.process.log.length;
		await device.process.waitForLog(/tcp-client: Reconnecting in \d+ ms/, 10_000, mark);
		gate.setCredentials(pki.server);
		// On node the refused connections reach the peer too (node:tls judges the certificate
		// after its handshake, socket-tls.ts): the session to greet is the last one.
		await device.process.waitForLog(new RegExp(`tcp-client: Successfully connected to ${side.hostPattern}:\\d+`), 30_000, retry);
		const session = peer.sessions[peer.sessions.length - 1];
		expect(
			await session.greeting.catch((e: Error) => {
				throw new Error(`${e.message}\n${device.process.tail(20)}`);
			}),
		).toBe("Hello World!");
		const payload = randomPayload(5000);
		expect(sha256(await session.echo(payload, k.echoTimeoutMs))).toBe(sha256(payload));
	}, 60_000);

	it("accepts a good certificate sent alone, without the CA's after it", async () => {
		gate.setCredentials(pki.leafOnly);
		const mark = device.process.log.length;
		peer.sessions[peer.sessions.length - 1].close();
		await device.process.waitForLog(new RegExp(`tcp-client: Successfully connected to ${side.hostPattern}:\\d+`), 30_000, mark);
		const session = peer.sessions[peer.sessions.length - 1];
		expect(await session.greeting).toBe("Hello World!");
		expect(device.process.log.slice(mark).filter(l => /TLS handshake/.test(l.raw))).toEqual([]);
	}, 60_000);
});
