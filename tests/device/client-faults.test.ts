// The device's clients against hostile servers, as Espressif runs Autobahn's
// fuzzing server against esp_websocket_client: one device boot per tier runs
// both clients; each points at a hostile peer of the harness
// (host-harness/peers/hostile-*.ts) whose n-th connection gets the n-th
// behaviour below, then the well-behaved peer.
//
// Per behaviour: the device logs a clear error (and for a protocol violation
// the hostile server receives the client's Close with the right code), the
// device does not abort, and the client comes back with capped exponential
// backoff: the server sees the next connection and the device announces the
// delay, growing while the server keeps failing it. Once the list is used up
// the same port is well-behaved, and the ESP-IDF example session completes
// (WebSocket) or the echo is byte-exact (TCP).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogLine } from "../../host-harness/device/log-line.js";
import type { RunningDevice } from "../../host-harness/device/targets.js";
import { randomPayload, sha256 } from "../../host-harness/oracle/tcp-echo.js";
import { type HostileTcpBehaviour, HostileTcpServer } from "../../host-harness/peers/hostile-tcp.js";
import { type HostileWsBehaviour, HostileWsServer } from "../../host-harness/peers/hostile-ws.js";
import { ClientDevice, clientTiers } from "./client-device.js";
import { hostConfig } from "./device-under-test.js";
import { knobs } from "./knobs.js";

const retryDelay = 100;
const retryMaxDelay = 400;
const networkTimeout = 1500;
const idleTimeout = 1500;
const maxMessage = 4096;

/** The hostile peers' address as the device logs it: loopback, or the lwip tier's link (198.18.0.0/15). */
const peerAddress = String.raw`(?:127\.0\.0\.1|198\.1[89]\.\d+\.\d+):\d+`;

interface WsCase {
	name: string;
	behaviour: HostileWsBehaviour;
	/** What the device logs about it (after `ws-client: `). */
	log: string;
	/** The Close code the client must send (protocol violations after the handshake); none when the handshake failed. */
	close?: number;
}

const protocolError = (reason: string, code: number) => `Protocol error from ${peerAddress}: ${reason} \\(close ${code}\\)`;
const handshakeFailed = (reason: string) => `handshake with ${peerAddress} failed: ${reason}`;

const wsCases: WsCase[] = [
	{
		name: "a masked frame from the server (mid-session)",
		behaviour: { kind: "maskedFrame" },
		log: protocolError("masked frame from server", 1002),
		close: 1002,
	},
	{
		name: "a masked frame again, right behind the 101",
		behaviour: { kind: "maskedFrame", withHandshake: true },
		log: protocolError("masked frame from server", 1002),
		close: 1002,
	},
	{ name: "invalid UTF-8 in a text message", behaviour: { kind: "invalidUtf8" }, log: protocolError("invalid UTF-8 in text message", 1007), close: 1007 },
	{
		name: "a Close with code 1005",
		behaviour: { kind: "badCloseCode", code: 1005, withHandshake: true },
		log: protocolError("invalid close code 1005", 1002),
		close: 1002,
	},
	{ name: "a Close with code 999", behaviour: { kind: "badCloseCode", code: 999 }, log: protocolError("invalid close code 999", 1002), close: 1002 },
	{ name: "a Close with code 1016", behaviour: { kind: "badCloseCode", code: 1016 }, log: protocolError("invalid close code 1016", 1002), close: 1002 },
	{ name: "a Close with a one-byte payload", behaviour: { kind: "closeOneByte" }, log: protocolError("close payload of 1 byte", 1002), close: 1002 },
	{
		name: `a message declared one byte over wsClientMaxMessage, payload never sent`,
		behaviour: { kind: "oversized", length: maxMessage + 1 },
		log: protocolError(`message over ${maxMessage} bytes`, 1009),
		close: 1009,
	},
	{
		name: "a message declared 4 GiB long (64-bit length), 10 bytes sent",
		behaviour: { kind: "oversized", length: 2 ** 32, sent: 10, withHandshake: true },
		log: protocolError(`message over ${maxMessage} bytes`, 1009),
		close: 1009,
	},
	{ name: "a fragmented Ping", behaviour: { kind: "fragmentedControl" }, log: protocolError("fragmented control frame", 1002), close: 1002 },
	{ name: "RSV1 set with no extension", behaviour: { kind: "reservedBits" }, log: protocolError("reserved bits set", 1002), close: 1002 },
	{ name: "reserved opcode 0x3", behaviour: { kind: "unknownOpcode", opcode: 0x3 }, log: protocolError("reserved opcode 3", 1002), close: 1002 },
	{
		name: "reserved control opcode 0xB",
		behaviour: { kind: "unknownOpcode", opcode: 0xb, withHandshake: true },
		log: protocolError("reserved opcode 11", 1002),
		close: 1002,
	},
	{ name: "a wrong Sec-WebSocket-Accept", behaviour: { kind: "wrongAccept" }, log: handshakeFailed("Sec-WebSocket-Accept mismatch") },
	{ name: "a 101 without Upgrade", behaviour: { kind: "missingUpgrade" }, log: handshakeFailed("Upgrade header must be websocket") },
	{ name: "status 200", behaviour: { kind: "status", status: 200 }, log: handshakeFailed("unexpected status 200 OK") },
	{ name: "status 404", behaviour: { kind: "status", status: 404 }, log: handshakeFailed("unexpected status 404 Not Found") },
	{ name: "status 503", behaviour: { kind: "status", status: 503 }, log: handshakeFailed("unexpected status 503 Service Unavailable") },
	{ name: "binary garbage instead of HTTP", behaviour: { kind: "garbage" }, log: handshakeFailed("the answer is not HTTP \\(control character in head\\)") },
	{
		name: "a server that hangs up without answering",
		behaviour: { kind: "hangUp" },
		log: `Connection closed: ${peerAddress} \\(server closed during the handshake\\)`,
	},
	{
		name: "a server that accepts TCP and never answers",
		behaviour: { kind: "silent" },
		log: `no answer to the handshake from ws://${peerAddress}/ within ${networkTimeout} ms`,
	},
];

interface TcpCase {
	name: string;
	behaviour: HostileTcpBehaviour;
	/** What the device logs about it (after `tcp-client: `). */
	log: string;
	/** Whether the connection did useful work (echoed bytes): then the backoff starts over. */
	echoes: boolean;
}

const tcpCases: TcpCase[] = [
	{
		name: "a reset right after the greeting",
		behaviour: { kind: "reset" },
		log: `Connection to ${peerAddress} ended: connection closed by peer or reset, 0 bytes echoed`,
		echoes: false,
	},
	{
		name: "a reset right after the greeting, again",
		behaviour: { kind: "reset" },
		log: `Connection to ${peerAddress} ended: connection closed by peer or reset, 0 bytes echoed`,
		echoes: false,
	},
	{
		name: "a reset in the middle of a 16 KiB echo",
		behaviour: { kind: "reset", payload: 16384, afterEcho: 1 },
		log: `Connection to ${peerAddress} ended: .*, [1-9]\\d* bytes echoed`,
		echoes: true,
	},
	{
		name: "a half-close (FIN) after the greeting and 7 bytes",
		behaviour: { kind: "halfClose", payload: "bye now" },
		log: `Connection to ${peerAddress} ended: connection closed by peer or reset, 7 bytes echoed`,
		echoes: true,
	},
	{
		name: "a peer that accepts and then never reads nor answers",
		behaviour: { kind: "stall" },
		log: `Connection to ${peerAddress} ended: nothing moved for ${idleTimeout} ms, 0 bytes echoed`,
		echoes: false,
	},
];

/** The delay the client announces after each failed connection: doubling from retryDelay, capped, starting over after a connection that did its work. */
function expectedDelays(failures: boolean[]): number[] {
	let streak = 0;
	return failures.map(failed => {
		streak = failed ? streak + 1 : 1;
		return Math.min(retryDelay * 2 ** (streak - 1), retryMaxDelay);
	});
}

function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout;
	return Promise.race([
		promise.finally(() => clearTimeout(timer)),
		new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms`)), timeoutMs))),
	]);
}

describe.each(clientTiers)("device clients against hostile servers on $name", tier => {
	const k = knobs[tier.pace];
	const side = new ClientDevice(tier);
	let ws: HostileWsServer;
	let tcp: HostileTcpServer;
	let device: RunningDevice;
	/** Where the next case's log lines start, per client: the cases run in order. */
	const cursor = { ws: 0, tcp: 0 };

	beforeAll(async () => {
		ws = await HostileWsServer.start(
			wsCases.map(c => c.behaviour),
			0,
			side.host,
		);
		tcp = await HostileTcpServer.start(
			tcpCases.map(c => c.behaviour),
			0,
			side.host,
		);
		device = await side.start(
			await hostConfig({
				tcpServer: "false",
				wsServer: "false",
				wsClient: "true",
				wsClientUri: `ws://${side.host}:${ws.port}/`,
				wsClientHelloInterval: "100",
				wsClientNoDataTimeout: "1000",
				wsClientMaxMessage: String(maxMessage),
				wsClientNetworkTimeout: String(networkTimeout),
				wsClientRetryDelay: String(retryDelay),
				wsClientRetryMaxDelay: String(retryMaxDelay),
				tcpClient: "true",
				tcpClientHost: side.host,
				tcpClientPort: String(tcp.port),
				tcpClientConnectTimeout: "2000",
				tcpClientRetryDelay: String(retryDelay),
				tcpClientRetryMaxDelay: String(retryMaxDelay),
				tcpIdleTimeout: String(idleTimeout),
			}),
		);
	});

	afterAll(async () => {
		await device?.stop();
		await ws?.close();
		await tcp?.close();
		side.close();
	});

	/** The next line of this client's log matching `pattern`, after the previous case's. */
	async function next(client: "ws" | "tcp", pattern: RegExp, timeoutMs = 15_000): Promise<LogLine> {
		const line = await device.process.waitForLog(pattern, timeoutMs, cursor[client]);
		cursor[client] = device.process.log.indexOf(line, cursor[client]) + 1;
		return line;
	}

	function expectAlive(): void {
		expect(device.process.log.filter(l => /exception|aborted/i.test(l.raw)).map(l => l.raw)).toEqual([]);
		expect(device.process.exited).toBe(false);
	}

	describe("WebSocket client", () => {
		const delays = expectedDelays(wsCases.map(() => true));

		it.each(wsCases.map((c, index) => ({ ...c, index })))("#$index $name", async c => {
			const connection = await ws.connection(c.index);
			await next("ws", new RegExp(`ws-client: ${c.log}`));
			if (c.close !== undefined) {
				// The client failed the connection (7.1.7) with a masked Close carrying the code, and sent nothing after it.
				const close = await within(connection.close, 10_000, `the client's Close on connection #${c.index + 1}`);
				expect(close.code).toBe(c.close);
				expect(connection.allMasked).toBe(true);
				expect(connection.bytesAfterClose).toBe(0);
				await next("ws", new RegExp(`ws-client: WebSocket disconnected: protocol error: .* \\(close ${c.close}\\)`));
			} else {
				// No WebSocket connection was established: no frame, the client just closes TCP.
				await within(connection.ended, 10_000, `the client closing connection #${c.index + 1}`);
				expect(connection.frames).toEqual([]);
			}
			await within(connection.ended, 10_000, `connection #${c.index + 1} ending`);
			const retry = await next("ws", /ws-client: Reconnecting in (\d+) ms \(attempt (\d+)\)/);
			const [, delay, attempt] = /Reconnecting in (\d+) ms \(attempt (\d+)\)/.exec(retry.raw)!;
			expect({ delay: Number(delay), attempt: Number(attempt) }).toEqual({ delay: delays[c.index], attempt: c.index + 1 });
			// The hostile server sees the client come back.
			await ws.connection(c.index + 1);
			expectAlive();
		});

		it("then completes the ESP-IDF example session on the same port, now well-behaved", async () => {
			const connection = await ws.connection(wsCases.length, 20_000);
			const session = connection.session!;
			const messages = await session.received(8);
			expect(messages.slice(0, 5).map(m => m.data.toString())).toEqual(["hello 0000", "hello 0001", "hello 0002", "hello 0003", "hello 0004"]);
			expect(messages[5]).toEqual({ binary: false, data: Buffer.from("a".repeat(32) + "b".repeat(32)) });
			expect(messages[6]).toEqual({ binary: true, data: Buffer.from([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]) });
			expect(messages[7]).toEqual({ binary: false, data: Buffer.from("a".repeat(2000)) });
			expect((await session.closed).code).toBe(1000);
			await next("ws", /ws-client: Received opcode=1 len=2000: a{64}…/);
			await next("ws", /ws-client: WebSocket closed cleanly \(1000\)/);
			// Every attempt was a proper upgrade request with a fresh key (4.1).
			const keys = ws.connections.slice(0, wsCases.length).map(c => /^sec-websocket-key: *(\S+)/im.exec(c.request ?? "")?.[1]);
			expect(keys.every(key => key && /^[+/0-9A-Za-z]{22}==$/.test(key))).toBe(true);
			expect(new Set(keys).size).toBe(keys.length);
			expectAlive();
		}, 30_000);
	});

	describe("TCP echo client", () => {
		const delays = expectedDelays(tcpCases.map(c => !c.echoes));

		it.each(tcpCases.map((c, index) => ({ ...c, index })))("#$index $name", async c => {
			const connection = await tcp.connection(c.index);
			if (connection.greeting) expect(await connection.greeting).toBe("Hello World!");
			if (c.behaviour.kind === "halfClose") {
				// A half-closed peer still reads: what it sent before its FIN comes back before the client closes.
				expect((await connection.echoed(c.behaviour.payload.length)).toString()).toBe(c.behaviour.payload);
				await within(connection.ended, 10_000, "the client closing its end after the peer's FIN");
			}
			await next("tcp", new RegExp(`tcp-client: ${c.log}`));
			const retry = await next("tcp", /tcp-client: Reconnecting in (\d+) ms/);
			expect(Number(/Reconnecting in (\d+) ms/.exec(retry.raw)![1])).toBe(delays[c.index]);
			await tcp.connection(c.index + 1);
			expectAlive();
		});

		it("then echoes byte for byte on the same port, now well-behaved, and starts its backoff over", async () => {
			// The well-behaved peer stays quiet until it sends a payload, so earlier connections to it
			// may have been closed as idle by now: take the next one.
			const connection = await tcp.connection(tcp.connections.length, 20_000);
			const session = connection.session!;
			expect(await session.greeting).toBe("Hello World!");
			const payload = randomPayload(5000);
			expect(sha256(await session.echo(payload, k.echoTimeoutMs))).toBe(sha256(payload));
			// Then quiet: closed as idle, and the connection that did its work resets the backoff.
			const ended = await device.process.waitForLog(
				new RegExp(`tcp-client: Connection to ${peerAddress} ended: nothing moved for ${idleTimeout} ms, 5000 bytes echoed`),
				10_000,
				cursor.tcp,
			);
			const retry = await device.process.waitForLog(/tcp-client: Reconnecting in \d+ ms/, 10_000, device.process.log.indexOf(ended));
			expect(retry.raw).toMatch(new RegExp(`Reconnecting in ${retryDelay} ms`));
			expectAlive();
		}, 30_000);
	});
});
