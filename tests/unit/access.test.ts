// Who gets in: access keys (websocket/access) as the server judges them, and
// what the app says at boot about what it exposes (app/exposure). The device
// suite tests/device/access.test.ts holds the same over real sockets.
import * as fs from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { exposure } from "app/exposure";
import type { RequestHead } from "modules/http";
import { queryParameter } from "modules/http";
import { describe, expect, it } from "vitest";
import { keyProblem, presentedKey, RetryGate, sameKey } from "websocket/access";
import { parseWebSocketUri } from "websocket/uri";
import { readConfig } from "../../app/config-schema.js";

const head = (headers: [string, string][]): RequestHead =>
	({ method: "GET", target: "/", version: "1.1", headers: new Map(headers) }) as unknown as RequestHead;

describe("an access key", () => {
	it("is 8 to 64 letters, digits and -._~, in the library and in the app's config alike", () => {
		for (const [key, fits] of [
			["abcdefgh", true],
			["A1-._~zz", true],
			["short", false],
			["x".repeat(65), false],
			["has space", false],
			["comma,key", false],
			["slash/key", false],
		] as const) {
			expect(keyProblem(key) === undefined, key).toBe(fits);
			const { problems } = readConfig({ wsKey: key }, parseWebSocketUri);
			expect(
				problems.some(p => p.key === "wsKey"),
				key,
			).toBe(!fits);
		}
	});

	it("is taken from Authorization: Bearer first, then a bearer. subprotocol, then ?key= or ?token=", () => {
		expect(presentedKey(head([["authorization", "Bearer k1-key-xx"]]), ["bearer.k2-key-xx"], "key=k3")).toEqual({ key: "k1-key-xx" });
		expect(presentedKey(head([["authorization", "bearer   spaced-key"]]), [], "")).toEqual({ key: "spaced-key" });
		expect(presentedKey(head([["authorization", "Basic abc"]]), ["chat", "bearer.k2-key-xx"], "")).toEqual({ key: "k2-key-xx", protocol: "bearer.k2-key-xx" });
		expect(presentedKey(head([]), [], "a=1&key=k3%2Dx")).toEqual({ key: "k3-x" });
		expect(presentedKey(head([]), [], "token=old-style")).toEqual({ key: "old-style" });
		expect(presentedKey(head([]), ["chat"], "a=1")).toBeUndefined();
		expect(queryParameter("key=%E0%A4%A", "key")).toBeUndefined();
	});

	it("is compared whole: a prefix, an extension or one character off is not the key", () => {
		expect(sameKey("s3cret-key", "s3cret-key")).toBe(true);
		for (const wrong of ["", "s3cret-ke", "s3cret-key!", "S3cret-key", "s3cret-kez"]) expect(sameKey(wrong, "s3cret-key"), wrong).toBe(false);
	});
});

describe("wrong keys make their address wait", () => {
	it("1 s after the first, doubling, up to 60 s; the right key forgets them", () => {
		const gate = new RetryGate();
		expect(gate.wait("10.0.0.1", 0)).toBe(0);
		gate.failed("10.0.0.1", 0);
		expect(gate.wait("10.0.0.1", 0)).toBe(1000);
		expect(gate.wait("10.0.0.2", 0)).toBe(0);
		gate.failed("10.0.0.1", 1000);
		expect(gate.wait("10.0.0.1", 1000)).toBe(2000);
		for (let i = 0; i < 20; i++) gate.failed("10.0.0.1", 5000);
		expect(gate.wait("10.0.0.1", 5000)).toBe(60_000);
		gate.passed("10.0.0.1");
		expect(gate.wait("10.0.0.1", 5000)).toBe(0);
	});

	it("keeps a fixed table: a ninth address takes the place whose wait ended first", () => {
		const gate = new RetryGate(8);
		for (let i = 0; i < 8; i++) gate.failed(`10.0.0.${i}`, i * 10);
		gate.failed("10.0.1.1", 100);
		expect(gate.wait("10.0.1.1", 100)).toBe(1000);
		expect(gate.wait("10.0.0.0", 100)).toBe(0); // its place was taken: the oldest wait
		expect(gate.wait("10.0.0.7", 100)).toBeGreaterThan(0);
		expect((gate as unknown as { addresses: string[] }).addresses).toHaveLength(8);
	});
});

describe("what the app says at boot it exposes", () => {
	const config = (raw: Record<string, unknown>) => readConfig(raw, parseWebSocketUri).config;
	const endpoints = {
		address: "192.168.1.20",
		tcp: 8080,
		udp: 8081,
		ws: 80,
		wsPath: "/ws",
		wsBroadcastPath: "/broadcast",
		wsLogPath: "/log",
		page: "/",
		mdns: "xs-netkit.local",
	};

	it("a line per listening service, and a warning for each open one beyond the echoes", () => {
		const open = exposure(endpoints, config({}));
		expect(open.listening).toEqual([
			"listening: TCP echo, port 8080, open to anyone, no TLS",
			"listening: UDP echo, port 8081, open to anyone, no TLS",
			"listening: WebSocket echo /ws, port 80, open to anyone, no TLS",
			"listening: WebSocket broadcast /broadcast, port 80, open to anyone, no TLS",
			"listening: WebSocket log /log, port 80, open to anyone, no TLS",
			"listening: HTTP page / and /routes.json, port 80, open to anyone, no TLS",
			"listening: mDNS responder (xs-netkit.local), UDP port 5353, open to anyone, no TLS",
		]);
		expect(open.warnings.map(w => w.split(" on port")[0])).toEqual(["WebSocket broadcast /broadcast", "WebSocket log /log", "the page /"]);
	});

	it("with wsKey, the log and broadcast need the key and are not warned about", () => {
		const keyed = exposure(endpoints, config({ wsKey: "s3cret-key" }));
		expect(keyed.listening.filter(l => l.includes("key needed"))).toEqual([
			"listening: WebSocket broadcast /broadcast, port 80, key needed, no TLS",
			"listening: WebSocket log /log, port 80, key needed, no TLS",
		]);
		expect(keyed.warnings.map(w => w.split(" on port")[0])).toEqual(["the page /"]);
	});

	it("with TLS on the WebSocket port, its services say TLS and the page is HTTPS; the others stay plain", () => {
		const secure = exposure({ ...endpoints, wsTls: true }, config({ wsTls: "true" }));
		expect(secure.listening.filter(l => l.includes("port 80,"))).toEqual([
			"listening: WebSocket echo /ws, port 80, open to anyone, TLS",
			"listening: WebSocket broadcast /broadcast, port 80, open to anyone, TLS",
			"listening: WebSocket log /log, port 80, open to anyone, TLS",
			"listening: HTTPS page / and /routes.json, port 80, open to anyone, TLS",
		]);
		expect(secure.listening.filter(l => !l.includes("port 80,")).every(l => l.endsWith(", no TLS"))).toBe(true);
	});

	it("refuses wsTls with the SDK's WebSocket module, which serves plain TCP only", () => {
		const { problems } = readConfig({ wsTls: "true", wsImpl: "sdk" }, parseWebSocketUri);
		expect(problems.map(p => p.key)).toEqual(["wsTls"]);
	});
});

describe("the device's page", () => {
	it("is served gzip-compressed from a twin that holds the same page", () => {
		const dir = path.resolve(import.meta.dirname, "../../app/page");
		expect(gunzipSync(fs.readFileSync(path.join(dir, "index.html.gz"))).toString()).toBe(fs.readFileSync(path.join(dir, "index.html"), "utf8"));
	});
});
