// The device's WebSocket server over TLS (wsTls: wss://, https://), with a CA
// and certificates made at run time (host-harness/lib/tls-certs.ts): on the
// simulator it is Moddable's own TLS engine in its server role
// (modules/tls-server-socket.ts), on node the host provider over node:tls.
//
// 1. The WebSocket conformance set over wss://: the categories whose bytes
//    cross TLS records in every way (1, 5, 7, 9), at small scale.
// 2. Clients that fail the handshake, each its own way: plain HTTP to the TLS
//    port, bytes that are a TLS record header and then garbage, a client
//    that offers no suite the device serves, one that offers TLS 1.3 only
//    (an alert), one that leaves mid-handshake. Each ends only
//    its own connection, with its cause logged; a wss client open meanwhile
//    keeps echoing, and a fresh one is served after.
// 3. Headless Chromium loads the device's own page over HTTPS and the page
//    opens wss:// to the device: a secure context, no mixed content, and a
//    message sent to the broadcast route by another client shows in it.

import { createHash, X509Certificate } from "node:crypto";
import * as net from "node:net";
import * as tls from "node:tls";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { runConformance } from "../../host-harness/conformance/runner.js";
import { findChromium, HeadlessPage } from "../../host-harness/dashboard/browser.js";
import { deviceTlsConfig, makeTestPki, opensslMissing, type TestPki } from "../../host-harness/lib/tls-certs.js";
import { tiers, useDevice } from "./device-under-test.js";
import { expectDeviceWhole } from "./judge.js";

const missing = opensslMissing();
if (missing) console.log(`TLS server suite skipped: ${missing}`);
const chromium = findChromium();
if (!missing && !chromium) console.log("TLS server browser case skipped: no Chromium on PATH (apt-get install chromium-headless-shell)");

// Made at collection, as the device's config needs it before it boots.
const pki: TestPki | undefined = missing ? undefined : makeTestPki();
const hostTiers = tiers.filter(t => t.name === "node" || t.name === "sim");

/** A wss client that has opened, or the reason it did not. */
function openClient(url: string, ca: string, protocols: string[] = []): Promise<WebSocket> {
	return new Promise((resolve, reject) => {
		const socket = new WebSocket(url, protocols, { ca });
		socket.once("open", () => resolve(socket));
		socket.once("error", reject);
	});
}

function echo(socket: WebSocket, text: string, timeoutMs = 10_000): Promise<string> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no echo of "${text}" within ${timeoutMs} ms`)), timeoutMs);
		socket.once("message", data => {
			clearTimeout(timer);
			resolve(data.toString());
		});
		socket.send(text);
	});
}

/** Until the TCP connection ends (the device closed it), or a timeout. */
function ended(socket: net.Socket, timeoutMs = 15_000): Promise<void> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`the device kept the connection open for ${timeoutMs} ms`)), timeoutMs);
		socket.on("error", () => undefined);
		socket.resume(); // read to the end: a paused socket never sees the device's FIN
		socket.once("close", () => {
			clearTimeout(timer);
			resolve();
		});
	});
}

function tcpConnect(port: number): Promise<net.Socket> {
	return new Promise((resolve, reject) => {
		const socket = net.connect({ host: "127.0.0.1", port }, () => resolve(socket));
		socket.once("error", reject);
	});
}

/** A TLS client's attempt: "connected", or its error's message. */
function tlsAttempt(options: tls.ConnectionOptions): Promise<string> {
	return new Promise(resolve => {
		const socket = tls.connect(options, () => {
			socket.destroy();
			resolve("connected");
		});
		socket.once("error", e => {
			socket.destroy();
			resolve(e.message);
		});
	});
}

interface Fault {
	name: string;
	/** Start it; resolves once the device has ended the connection (or the client gave up). */
	run(port: number): Promise<unknown>;
	/** What the device logs after "TLS handshake with 127.0.0.1:p failed: ". */
	cause: RegExp;
}

const faults: Fault[] = [
	{
		name: "plain HTTP to the TLS port",
		async run(port) {
			const socket = await tcpConnect(port);
			socket.write("GET /ws HTTP/1.1\r\nHost: device\r\nUpgrade: websocket\r\n\r\n");
			await ended(socket);
		},
		cause: /the client does not speak TLS/,
	},
	{
		name: "a TLS record header, then garbage",
		async run(port) {
			const socket = await tcpConnect(port);
			// A handshake record of 64 bytes whose message is no ClientHello the engine can read.
			socket.write(Buffer.concat([Buffer.from([22, 3, 1, 0, 64]), Buffer.alloc(64, 0xa5)]));
			await ended(socket);
		},
		// The device's engine: a malformed message; node: OpenSSL's reason for it.
		cause: /the client sent a malformed TLS message|.*(unexpected message|wrong version|unknown protocol|length).*/,
	},
	{
		name: "a client that offers only ECDHE suites",
		run: port => tlsAttempt({ host: "127.0.0.1", port, ca: pki!.caPem, maxVersion: "TLSv1.2", ciphers: "ECDHE-RSA-AES128-GCM-SHA256" }),
		cause: /the client offers no cipher suite the device serves/,
	},
	{
		name: "a client that offers TLS 1.3 only",
		// Its ClientHello offers TLS 1.3's suites only: the device's engine knows none of them (the simulator), Node's TLS sees the version (node).
		run: port => tlsAttempt({ host: "127.0.0.1", port, ca: pki!.caPem, minVersion: "TLSv1.3" }),
		cause: /the client offers no cipher suite the device serves.*|the client does not offer TLS 1\.2/,
	},
	{
		name: "a client that leaves mid-handshake",
		async run(port) {
			const socket = await tcpConnect(port);
			socket.write(Buffer.from([22, 3, 1, 2, 0, 1, 0, 1, 252, 3, 3])); // the first bytes of a ClientHello
			await new Promise(r => setTimeout(r, 300));
			socket.end();
			await ended(socket);
		},
		cause: /the client closed the connection during the TLS handshake/,
	},
];

describe.skipIf(Boolean(missing)).each(hostTiers)("WebSocket server over TLS (wss://) on $name", tier => {
	const device = useDevice(tier, { ...deviceTlsConfig(pki!.server), wsMaxClients: "8", wsBroadcastPath: "/bc" });
	const tail = (count: number) =>
		device.process?.log
			.slice(-count)
			.map(l => `  | ${l.raw}`)
			.join("\n") ?? "";

	it("says TLS for every service on the WebSocket port in its boot lines", async () => {
		const url = new URL(device.endpoints.ws!);
		expect(url.protocol).toBe("wss:");
		const lines = device.process!.log.filter(l => l.message.startsWith("listening: ") && l.message.includes(`port ${url.port},`)).map(l => l.message);
		expect(lines.length).toBeGreaterThanOrEqual(3);
		for (const line of lines) expect(line).toMatch(/, TLS$/);
	});

	it("passes every case of the conformance set over wss://", async () => {
		// Small scale on both: the WebSocket layer is judged at full scale over TCP (ws-conformance); here, TLS under it.
		// The categories whose bytes cross records in every way (framing, fragmentation, close, limits: 180
		// cases); the rest judge the WebSocket layer, which ws-conformance holds over TCP on every tier.
		const results = await runConformance(device.endpoints.ws!, {
			only: ["1", "5", "7", "9"],
			scale: "small",
			concurrency: 7,
			roundTrips: 10,
			ca: pki!.caPem,
		}).catch((e: Error) => {
			throw new Error(`${e.message}\n${tail(30)}`);
		});
		console.log(`WebSocket conformance over TLS on ${tier.name}: ${results.filter(r => r.passed).length}/${results.length} cases pass`);
		expect(results.length).toBeGreaterThanOrEqual(150);
		expect(results.filter(r => !r.passed).map(r => `${r.id} ${r.description}: expected ${r.expected}, observed ${r.observed}`)).toEqual([]);
	}, 600_000);

	it("ends only the connection of a client that fails the handshake, and says why", async () => {
		const url = new URL(device.endpoints.ws!);
		const port = Number(url.port);
		const bystander = await openClient(device.endpoints.ws!, pki!.caPem);
		try {
			for (const fault of faults) {
				const mark = device.process!.log.length;
				await fault.run(port);
				const line = await device
					.process!.waitForLog(new RegExp(`TLS handshake with 127\\.0\\.0\\.1:\\d+ failed: (${fault.cause.source})`), 15_000, mark)
					.catch((e: Error) => {
						throw new Error(`${fault.name}: ${e.message}\n${tail(6)}`);
					});
				expect(line.message, fault.name).toMatch(fault.cause);
				expect(await echo(bystander, `still here after ${fault.name}`), fault.name).toBe(`still here after ${fault.name}`);
			}
			const fresh = await openClient(device.endpoints.ws!, pki!.caPem);
			expect(await echo(fresh, "fresh")).toBe("fresh");
			fresh.close();
		} finally {
			bystander.close();
		}
		expectDeviceWhole(device);
	}, 180_000);

	describe.runIf(!!chromium)("in headless Chromium", () => {
		const pages: HeadlessPage[] = [];
		afterAll(async () => {
			for (const page of pages) await page.close();
		});

		it("loads the device's page over HTTPS, which opens wss:// to it and shows a broadcast", async () => {
			const url = new URL(device.endpoints.ws!);
			// Chromium trusts the device's certificate by its key (the test CA is in no store of its).
			const leaf = new X509Certificate(pki!.server.cert);
			const spki = createHash("sha256")
				.update(leaf.publicKey.export({ type: "spki", format: "der" }))
				.digest("base64");
			const page = await HeadlessPage.open(chromium!, `https://${url.host}/`, undefined, [`--ignore-certificate-errors-spki-list=${spki}`]);
			pages.push(page);
			const until = Date.now() + 60_000;
			while (!/^connected to \/bc$/.test(await page.evaluate<string>(`document.getElementById("status")?.textContent ?? ""`))) {
				if (Date.now() > until) throw new Error(`the page never connected: ${await page.evaluate<string>("document.body?.innerText ?? location.href")}`);
				await new Promise(r => setTimeout(r, 200));
			}
			expect(await page.evaluate<string>("location.protocol")).toBe("https:");
			expect(await page.evaluate<boolean>("window.isSecureContext")).toBe(true);
			const sender = await openClient(`wss://${url.host}/bc`, pki!.caPem);
			const text = `over TLS ${Date.now()}`;
			sender.send(text);
			const seen = Date.now() + 20_000;
			while (!(await page.evaluate<string[]>(`[...document.querySelectorAll("#messages li")].map(li => li.textContent)`)).includes(text)) {
				if (Date.now() > seen) throw new Error("the broadcast message never appeared in the page");
				await new Promise(r => setTimeout(r, 200));
			}
			sender.close();
			expect(page.mixedContent).toEqual([]);
		}, 120_000);
	});
});
