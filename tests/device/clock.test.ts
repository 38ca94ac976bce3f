// The device's clock: the SNTP client (sntp/client.ts) against the
// harness's SNTP server (host-harness/peers/sntp.ts), and the TLS clients
// waiting for the clock (modules/clock.ts).
//
// Every host tier: the clock is set from the server, and answers that must
// not be believed (garbage, an answer to another request, an unsynchronized
// server, a kiss-of-death RATE) are logged and survived; a server that
// sends DENY is dropped for the next one.
//
// The Node-hosted device can boot with its clock at 1970 as a board does
// (startDevice's `clock`, host-harness/node-host/time.ts): there, wss:// and
// the TCP client over TLS complete once SNTP has set the clock; with no
// SNTP answer the log names the clock and the client keeps asking, then
// succeeds once the server answers; a TLS client that waited its
// tlsClockWait out fails on the certificate's dates, naming the clock. The
// simulator starts with the PC's time and its Time.set() changes nothing,
// so these cases are the node tier's.
//
// On a LAN stand-in (a namespace per device, as the lan tiers), the SNTP
// server sits on the link's host end and the device sets its clock across
// the link, as a board asks a server on its LAN.
import { afterEach, describe, expect, it } from "vitest";
import { type LanDevice, startLanDevice } from "../../host-harness/device/lan.js";
import { LogFile } from "../../host-harness/device/log-file.js";
import { type RunningDevice, startDevice } from "../../host-harness/device/targets.js";
import { whyNoNamespaces } from "../../host-harness/lib/netns.js";
import { makeTestPki, opensslMissing } from "../../host-harness/lib/tls-certs.js";
import { type SntpMode, SntpServer } from "../../host-harness/peers/sntp.js";
import { TcpPeer } from "../../host-harness/peers/tcp-peer.js";
import { TlsGate } from "../../host-harness/peers/tls-gate.js";
import { WsPeer } from "../../host-harness/peers/ws-peer.js";
import { hostConfig, tiers } from "./device-under-test.js";

const hostTiers = tiers.filter(t => t.target === "node" || t.target === "sim");
const missing = opensslMissing();
if (missing) console.log(`clock suite, TLS cases skipped: ${missing}`);
if (!tiers.some(t => t.target === "node")) console.log("clock suite, boot-at-1970 cases skipped: they need the Node-hosted device (TARGETS includes node)");

/** The SNTP client's retries kept short, so a case sees several. */
const quickSntp = { sntpRetryDelay: "200", sntpRetryMaxDelay: "500" };

describe.each(hostTiers)("the clock from SNTP on $target", tier => {
	let device: RunningDevice | undefined;
	const servers: SntpServer[] = [];

	afterEach(async () => {
		await device?.stop();
		device = undefined;
		for (const server of servers.splice(0)) await server.close();
	});

	const serve = async (mode: SntpMode = "time") => {
		const server = await SntpServer.start();
		server.mode = mode;
		servers.push(server);
		return server;
	};

	it("sets the clock from the server once the station has an address", async () => {
		const server = await serve();
		device = await startDevice({ target: tier.target as "node" | "sim", config: await hostConfig({ sntpServers: server.server, ...quickSntp }) });
		const line = await device.process.waitForLog(/sntp: clock set to (\S+) by 127\.0\.0\.1:\d+ \(stratum 2, round trip \d+ ms\)/, 20_000);
		const set = Date.parse(/clock set to (\S+)/.exec(line.raw)![1]);
		// The server's own time, give or take the round trip and the log's delay.
		expect(Math.abs(set - Date.now())).toBeLessThan(60_000);
		expect(server.requests).toBeGreaterThanOrEqual(1);
	}, 60_000);

	it("ignores answers it must not believe, survives a kiss-of-death RATE, and sets the clock once a real answer comes", async () => {
		const server = await serve("garbage");
		device = await startDevice({
			target: tier.target as "node" | "sim",
			config: await hostConfig({ sntpServers: server.server, ...quickSntp, wsClient: "false" }),
		});
		const why: Record<Exclude<SntpMode, "time" | "silent" | "kiss-DENY">, RegExp> = {
			garbage: /sntp: ignored an answer from 127\.0\.0\.1:\d+: 13 bytes, not an SNTP message/,
			"wrong-origin": /sntp: ignored an answer from 127\.0\.0\.1:\d+: not an answer to our request/,
			unsynchronized: /sntp: ignored an answer from 127\.0\.0\.1:\d+: the server's clock is not synchronized/,
			"kiss-RATE": /sntp: clock not set: 127\.0\.0\.1:\d+ sent a kiss-of-death \(RATE\); TLS clients wait for the clock; asking again in \d+ ms/,
		};
		for (const [mode, line] of Object.entries(why)) {
			const mark = device.process.log.length;
			server.mode = mode as SntpMode;
			await device.process.waitForLog(line, 20_000, mark);
		}
		const mark = device.process.log.length;
		server.mode = "time";
		await device.process.waitForLog(/sntp: clock set to \S+ by 127\.0\.0\.1:\d+/, 20_000, mark);
		// The device is still serving: its services came up, and nothing aborted.
		expect(device.process.log.some(l => /XS abort|unhandled exception/.test(l.raw))).toBe(false);
	}, 90_000);

	it("drops a server that sends a kiss-of-death DENY and asks the next", async () => {
		const deny = await serve("kiss-DENY");
		const good = await serve("time");
		device = await startDevice({
			target: tier.target as "node" | "sim",
			config: await hostConfig({ sntpServers: `${deny.server},${good.server}`, ...quickSntp, sntpInterval: "300" }),
		});
		await device.process.waitForLog(new RegExp(String.raw`sntp: clock not set: ${deny.server} sent a kiss-of-death \(DENY\), it is not asked again`), 20_000);
		await device.process.waitForLog(new RegExp(String.raw`sntp: clock set to \S+ by ${good.server}`), 20_000);
		// Syncs go on every sntpInterval, to the good server only.
		const asked = deny.requests;
		const mark = device.process.log.length;
		await device.process.waitForLog(new RegExp(String.raw`sntp: clock set to \S+ by ${good.server}`), 20_000, mark);
		expect(deny.requests).toBe(asked);
	}, 60_000);
});

describe.skipIf(Boolean(missing) || !tiers.some(t => t.target === "node"))("a device that boots at 1970 (node)", () => {
	let device: RunningDevice | undefined;
	let sntp: SntpServer | undefined;
	let ws: WsPeer | undefined;
	let tcp: TcpPeer | undefined;

	afterEach(async () => {
		await device?.stop();
		await sntp?.close();
		await ws?.close();
		await tcp?.close();
		device = sntp = ws = tcp = undefined;
	});

	const peers = async () => {
		const pki = makeTestPki();
		ws = await WsPeer.start(0, "127.0.0.1", "/", new TlsGate(pki.server));
		tcp = await TcpPeer.start(0, "127.0.0.1", new TlsGate(pki.server));
		return {
			wsClient: "true",
			wsClientUri: `wss://localhost:${ws.port}/`,
			wsClientCa: pki.caConfig,
			wsClientHelloInterval: "100",
			wsClientRetryDelay: "200",
			wsClientRetryMaxDelay: "800",
			tcpClient: "true",
			tcpClientHost: "127.0.0.1",
			tcpClientPort: String(tcp.port),
			tcpClientTls: "true",
			tcpClientCa: pki.caConfig,
			tcpClientRetryDelay: "200",
			tcpClientRetryMaxDelay: "800",
			tcpServer: "false",
		};
	};

	it("completes wss:// and TCP-over-TLS sessions once SNTP has set the clock", async () => {
		sntp = await SntpServer.start();
		device = await startDevice({ target: "node", clock: 0, config: await hostConfig({ ...(await peers()), sntpServers: sntp.server, ...quickSntp }) });
		await device.process.waitForLog(
			/ws-client: waiting up to 30000 ms for the clock \(SNTP\) before TLS to wss:\/\/localhost:\d+\/: it reads 1970-01-01/,
			20_000,
		);
		await device.process.waitForLog(/sntp: clock set to \S+ by 127\.0\.0\.1:\d+/, 20_000);
		const session = await ws!.session(0, 30_000);
		expect((await session.received(1))[0].data.toString()).toBe("hello 0000");
		expect(await (await tcp!.session(0, 30_000)).greeting).toBe("Hello World!");
	}, 90_000);

	it("names the clock while SNTP gets no answer, keeps asking, and connects once the server answers", async () => {
		sntp = await SntpServer.start();
		sntp.mode = "silent";
		device = await startDevice({
			target: "node",
			clock: 0,
			config: await hostConfig({ ...(await peers()), tcpClient: "false", sntpServers: sntp.server, ...quickSntp, tlsClockWait: "120000" }),
		});
		const noAnswer = /sntp: clock not set: no answer from 127\.0\.0\.1:\d+ within 3000 ms; TLS clients wait for the clock; asking again in \d+ ms/;
		const first = await device.process.waitForLog(noAnswer, 20_000);
		await device.process.waitForLog(noAnswer, 20_000, device.process.log.indexOf(first) + 1);
		expect(ws!.sessions.length).toBe(0); // nothing tried TLS with a clock at 1970
		sntp.mode = "time";
		await device.process.waitForLog(/sntp: clock set to \S+/, 20_000);
		const session = await ws!.session(0, 30_000);
		expect((await session.received(1))[0].data.toString()).toBe("hello 0000");
	}, 90_000);

	it("a TLS client that waited tlsClockWait out fails on the certificate's dates, naming the clock", async () => {
		device = await startDevice({ target: "node", clock: 0, config: await hostConfig({ ...(await peers()), wsClient: "false", tlsClockWait: "1000" }) });
		await device.process.waitForLog(/tcp-client: the clock is still not set after 1000 ms: connecting to 127\.0\.0\.1:\d+ anyway/, 20_000);
		await device.process.waitForLog(
			/tcp-client: Connection to 127\.0\.0\.1:\d+ failed: TLS handshake with 127\.0\.0\.1:\d+ failed: the server's certificate is not valid before \d{4}-\d\d-\d\d and the device's clock says 1970-01-01: set the clock \(SNTP\) before connecting/,
			20_000,
		);
	}, 60_000);
});

const noNamespaces = whyNoNamespaces();
if (noNamespaces) console.log(`clock suite, LAN cases skipped: ${noNamespaces}`);

describe.each(noNamespaces ? [] : hostTiers)("the clock from SNTP across a LAN stand-in, $target device", tier => {
	let device: LanDevice | undefined;
	let sntp: SntpServer | undefined;

	afterEach(async () => {
		await device?.stop();
		await sntp?.close();
		device = sntp = undefined;
	});

	it("sets the clock from a server on the link's host end", async () => {
		const { createLink } = await import("../../host-harness/lib/netns.js");
		const link = createLink();
		sntp = await SntpServer.start(link.hostAddress);
		device = await startLanDevice(tier.target as "node" | "sim", { sntpServers: sntp.server, ...quickSntp }, { link });
		const log = new LogFile(device.logFile);
		await log.waitForLog(new RegExp(String.raw`sntp: clock set to \S+ by ${sntp.server.replace(/\./g, "\\.")}`), 30_000);
		expect(sntp.requests).toBeGreaterThanOrEqual(1);
	}, 180_000);
});
