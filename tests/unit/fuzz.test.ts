import { crc32 } from "node:zlib";
// The fuzzer (host-harness/fuzz): its PRNG and generators replay from a seed,
// its reference oracles get hand-written cases right, and its runner finds
// deliberately wrong echo servers wrong (and right ones right).

import * as dgram from "node:dgram";
import { once } from "node:events";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { utf8Vectors } from "../../host-harness/conformance/cases/utf8-vectors.js";
import { closeBody, type FrameOptions, frame, Op } from "../../host-harness/conformance/frames.js";
import { parseArgs } from "../../host-harness/fuzz/command.js";
import { type GenerateOptions, generateCase } from "../../host-harness/fuzz/generate.js";
import { appHttpRoutes, expectHandshake } from "../../host-harness/fuzz/http-oracle.js";
import { caseSeed, Rng } from "../../host-harness/fuzz/prng.js";
import { runFuzz } from "../../host-harness/fuzz/runner.js";
import { Utf8Judge, validUtf8 } from "../../host-harness/fuzz/utf8.js";
import { payloadSize } from "../../host-harness/fuzz/ws-cases.js";
import { expectWs, type WsExpectation } from "../../host-harness/fuzz/ws-oracle.js";
import { WebSocketEchoServer } from "./websocket/echo-server.js";

const KEY = Uint8Array.of(0x11, 0x22, 0x33, 0x44);
/** A client frame, masked unless said otherwise. */
const f = (opcode: number, payload: string | Buffer = "", options: FrameOptions = {}) => frame(opcode, payload, { mask: KEY, ...options });
const stream = (...frames: Buffer[]) => Buffer.concat(frames);
/** The close code(s) and end of each alternative, for compact assertions. */
const outcomes = (expectations: WsExpectation[]) => expectations.map(e => ({ close: e.close, end: e.end }));

describe("fuzz PRNG", () => {
	it("replays the same sequence from the same seed, another from another", () => {
		const draw = (seed: number) => {
			const rng = new Rng(seed);
			return [rng.uint32(), rng.uint32(), rng.int(-5, 5), rng.float(), rng.bytes(7).toString("hex"), rng.pick(["a", "b", "c"])];
		};
		expect(draw(42)).toEqual(draw(42));
		expect(draw(42)).not.toEqual(draw(43));
	});

	it("is mulberry32: the same floats as the reference implementation (Tommy Ettinger's, as commonly published)", () => {
		const reference = (a: number) => () => {
			let t = (a += 0x6d2b79f5);
			t = Math.imul(t ^ (t >>> 15), t | 1);
			t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
			return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
		};
		for (const seed of [0, 1, 123456789, 0xffffffff]) {
			const ours = new Rng(seed),
				theirs = reference(seed);
			for (let i = 0; i < 100; i++) expect(ours.float()).toBe(theirs());
		}
	});

	it("keeps int() within bounds and reaches every weighted choice; case seeds differ per index", () => {
		const rng = new Rng(7);
		const seen = new Set<number>();
		for (let i = 0; i < 2000; i++) {
			const n = rng.int(3, 9);
			expect(n >= 3 && n <= 9).toBe(true);
			seen.add(n);
		}
		expect([...seen].sort()).toEqual([3, 4, 5, 6, 7, 8, 9]);
		const picks = new Set(
			Array.from({ length: 500 }, () =>
				rng.weighted([
					["rare", 1],
					["common", 20],
				] as const),
			),
		);
		expect(picks).toEqual(new Set(["rare", "common"]));
		const seeds = new Set(Array.from({ length: 1000 }, (_, i) => caseSeed(99, i)));
		expect(seeds.size).toBe(1000);
		expect(caseSeed(99, 5)).toBe(caseSeed(99, 5));
		expect(caseSeed(99, 5)).not.toBe(caseSeed(100, 5));
	});
});

describe("fuzz generators", () => {
	const options: GenerateOptions = { weights: { ws: 5, handshake: 2, tcp: 2, udp: 1 }, scale: "full", wsHost: "127.0.0.1:8081", wsPath: "/ws", maxDelayMs: 3 };
	const bytesOf = (seed: number, index: number) =>
		JSON.stringify(generateCase(seed, index, options), (_k, v) => (v?.type === "Buffer" ? Buffer.from(v.data).toString("hex") : v));

	it("make the same cases, byte for byte, from the same seed; any case regenerates alone", () => {
		const first = Array.from({ length: 300 }, (_, i) => bytesOf(2024, i));
		const again = Array.from({ length: 300 }, (_, i) => bytesOf(2024, i));
		expect(again).toEqual(first);
		expect(bytesOf(2024, 250)).toBe(first[250]);
		const other = Array.from({ length: 300 }, (_, i) => bytesOf(2025, i));
		expect(other.filter((c, i) => c === first[i]).length).toBeLessThan(3);
	}, 30_000); // generating is CPU: about 2 s here, more on a loaded machine

	it("make every kind, and WebSocket cases the oracle judges in every way", () => {
		const kinds = new Set<string>();
		const closes = new Set<string>();
		for (let i = 0; i < 1500; i++) {
			const c = generateCase(5, i, options);
			kinds.add(c.kind);
			if (c.kind === "ws") for (const e of expectWs(Buffer.concat(c.parts.map(p => p.bytes)))) closes.add(`${JSON.stringify(e.close)}/${e.end}`);
		}
		expect(kinds).toEqual(new Set(["ws", "handshake", "tcp", "udp"]));
		for (const wanted of ["1002/none", "1007/none", "1009/none", "1000/close", '"none"/fin', "[1000,null]/none"]) expect(closes, wanted).toContain(wanted);
	}, 30_000); // generating is CPU: about 2 s here, more on a loaded machine

	it("keep UDP datagrams within 1..1472 bytes and the simulator's payloads within 4 KiB", () => {
		const sizes = new Set<number>();
		for (let i = 0; i < 500; i++) {
			const c = generateCase(11, i, { ...options, weights: { udp: 1, tcp: 1 }, scale: "small" });
			if (c.kind === "udp") {
				expect(c.payload.length >= 1 && c.payload.length <= 1472).toBe(true);
				sizes.add(c.payload.length);
			} else if (c.kind === "tcp") expect(c.payload.length).toBeLessThanOrEqual(4096);
		}
		expect(sizes.has(1)).toBe(true);
		const rng = new Rng(3);
		expect(Math.max(...Array.from({ length: 2000 }, () => payloadSize(rng, { maxPayload: 4096, maxDelayMs: 0 })))).toBe(4096);
	});
});

describe("fuzz oracle: UTF-8", () => {
	it("agrees with a strict decoder on every conformance vector, and names the first bad byte", () => {
		for (const vector of utf8Vectors) expect(validUtf8(Buffer.from(vector.hex, "hex")), `${vector.id} ${vector.hex}`).toBe(vector.valid);
		expect(new Utf8Judge().feed(Buffer.from("ab\xe0\x80", "latin1"))).toBe(3); // E0 80: overlong, bad at its second byte
		expect(new Utf8Judge().feed(Buffer.from("\xed\xa0\x80", "latin1"))).toBe(1); // a surrogate
		const split = new Utf8Judge();
		expect(split.feed(Buffer.from([0xf0, 0x9f]))).toBe(-1);
		expect(split.complete).toBe(false);
		expect(split.feed(Buffer.from([0x98, 0x80]))).toBe(-1);
		expect(split.complete).toBe(true);
	});
});

describe("fuzz oracle: WebSocket", () => {
	it("echoes valid messages, whole or fragmented, then answers our close 1000", () => {
		const [e, ...rest] = expectWs(stream(f(Op.TEXT, "hi"), f(Op.BINARY, "ab", { fin: false }), f(Op.PING, "p"), f(Op.CONT, "cd", { encoding: 16 })));
		expect(rest).toEqual([]);
		expect(e.messages.map(m => [m.type, m.data.toString()])).toEqual([
			[Op.TEXT, "hi"],
			[Op.BINARY, "abcd"],
		]);
		expect(e.pings.map(p => p.toString())).toEqual(["p"]);
		expect([e.close, e.end]).toEqual([1000, "close"]);
	});

	it("closes 1002 for an unmasked client frame, RSV bits, a reserved opcode, a continuation with no message, a message inside one", () => {
		for (const bad of [f(Op.TEXT, "x", { mask: false }), f(Op.TEXT, "x", { rsv: 4 }), f(3, "x"), f(0xb, ""), f(Op.CONT, "x")])
			expect(outcomes(expectWs(stream(f(Op.TEXT, "ok"), bad, f(Op.TEXT, "ignored")))), bad.toString("hex")).toEqual([{ close: 1002, end: "none" }]);
		const inside = expectWs(stream(f(Op.TEXT, "ab", { fin: false }), f(Op.BINARY, "x")));
		expect(outcomes(inside)).toEqual([{ close: 1002, end: "none" }]);
		expect(inside[0].partial?.data.toString()).toBe("ab");
	});

	it("closes 1002 for a fragmented ping and control frames over 125 bytes; a non-minimal ping length may go either way", () => {
		expect(outcomes(expectWs(f(Op.PING, "p", { fin: false })))).toEqual([{ close: 1002, end: "none" }]);
		expect(outcomes(expectWs(f(Op.PING, Buffer.alloc(126))))).toEqual([{ close: 1002, end: "none" }]);
		expect(outcomes(expectWs(f(Op.CLOSE, closeBody(1000, "x".repeat(124)))))).toEqual([{ close: 1002, end: "none" }]);
		const nonMinimal = expectWs(f(Op.PING, "abc", { encoding: 16 }));
		expect(outcomes(nonMinimal)).toEqual([
			{ close: 1002, end: "none" },
			{ close: 1000, end: "close" },
		]);
		expect(nonMinimal[1].pings.map(p => p.toString())).toEqual(["abc"]);
	});

	it("closes 1007 at the first bad UTF-8 byte, even split across fragments or in a frame that never completes", () => {
		expect(outcomes(expectWs(f(Op.TEXT, Buffer.from([0x61, 0xc0, 0xaf]))))).toEqual([{ close: 1007, end: "none" }]);
		const split = expectWs(stream(f(Op.TEXT, Buffer.from([0x61, 0xe2]), { fin: false }), f(Op.CONT, Buffer.from([0x28, 0x62]))));
		expect(outcomes(split)).toEqual([{ close: 1007, end: "none" }]);
		expect(split[0].partial?.data).toEqual(Buffer.from([0x61, 0xe2]));
		expect(outcomes(expectWs(f(Op.TEXT, Buffer.from([0x61, 0xe2, 0x82]))))).toEqual([{ close: 1007, end: "none" }]); // ends inside
		const unfinished = f(Op.TEXT, Buffer.from("ab\xff", "latin1"), { declared: 1000n });
		expect(outcomes(expectWs(unfinished))).toEqual([{ close: 1007, end: "none" }]);
		expect(outcomes(expectWs(f(Op.CLOSE, Buffer.concat([closeBody(1000), Buffer.from([0xff])]))))).toEqual([{ close: 1007, end: "none" }]);
	});

	it("checks close frames: 1-byte and invalid codes 1002, valid ones echoed, an empty one 1000 or empty, 1012-1014 either", () => {
		expect(outcomes(expectWs(f(Op.CLOSE, Buffer.from([3]))))).toEqual([{ close: 1002, end: "none" }]);
		for (const code of [0, 999, 1004, 1005, 1006, 1015, 2999, 5000])
			expect(outcomes(expectWs(f(Op.CLOSE, closeBody(code)))), String(code)).toEqual([{ close: 1002, end: "none" }]);
		for (const code of [1000, 1001, 1003, 1011, 3000, 4999])
			expect(outcomes(expectWs(stream(f(Op.CLOSE, closeBody(code, "bye")), f(Op.TEXT, "x", { mask: false })))), String(code)).toEqual([
				{ close: code, end: "none" },
			]);
		expect(outcomes(expectWs(f(Op.CLOSE)))).toEqual([{ close: [1000, null], end: "none" }]);
		expect(outcomes(expectWs(f(Op.CLOSE, closeBody(1013))))).toEqual([
			{ close: 1013, end: "none" },
			{ close: 1002, end: "none" },
		]);
	});

	it("streams legal lengths however large (the server waits), 1002 for the 64-bit top bit, 1009 or waiting from 2^53", () => {
		const waits = expectWs(f(Op.BINARY, "0123456789", { declared: 1n << 40n }));
		expect(outcomes(waits)).toEqual([{ close: "none", end: "fin" }]);
		expect(waits[0].partial?.data.toString()).toBe("0123456789");
		expect(outcomes(expectWs(f(Op.BINARY, "", { declared: (1n << 63n) + 5n })))).toEqual([{ close: 1002, end: "none" }]);
		expect(outcomes(expectWs(f(Op.BINARY, "x", { declared: 1n << 60n })))).toEqual([
			{ close: 1009, end: "none" },
			{ close: "none", end: "fin" },
		]);
	});

	it('knows a header cut short waits, or may already fail when what arrived shows an error; the "Ping" command pings', () => {
		expect(outcomes(expectWs(f(Op.TEXT, "hello").subarray(0, 3)))).toEqual([{ close: "none", end: "fin" }]);
		expect(outcomes(expectWs(Buffer.from([0xc1])))).toEqual([
			{ close: "none", end: "fin" },
			{ close: 1002, end: "none" },
		]);
		expect(expectWs(stream(f(Op.TEXT, "Pi", { fin: false }), f(Op.CONT, "ng")))[0].serverPings).toBe(1);
		expect(expectWs(f(Op.TEXT, "Ping!"))[0].serverPings).toBe(0);
	});
});

describe("fuzz oracle: handshake", () => {
	const request = (lines: string[], eol = "\r\n") => Buffer.from([...lines, "", ""].join(eol), "latin1");
	const good = [
		"GET /ws HTTP/1.1",
		"Host: d:8081",
		"Upgrade: websocket",
		"Connection: Upgrade",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-WebSocket-Version: 13",
	];
	const answer = (lines: string[]) => expectHandshake(request(lines), { path: "/ws" }).outcomes;
	const without = (name: string) => good.filter(l => !l.startsWith(`${name}:`));

	it("accepts a valid upgrade, also with bare LF line ends, mixed-case names, extra headers and leading empty lines", () => {
		expect(answer(good)).toEqual([101]);
		expect(expectHandshake(request(good, "\n"), { path: "/ws" }).outcomes).toEqual([101]);
		expect(answer([good[0], ...good.slice(1).map(l => l.replace(/^[^:]+/, n => n.toUpperCase())), "X-Extra: 1"])).toEqual([101]);
		expect(expectHandshake(Buffer.concat([Buffer.from("\r\n"), request(good)]), { path: "/ws" }).outcomes).toEqual([101]);
	});

	it("names the status each fault earns: 405, 404, 400, 426, 431", () => {
		expect(answer(["POST /ws HTTP/1.1", ...good.slice(1)])).toEqual([405]);
		expect(answer(["GET /other HTTP/1.1", ...good.slice(1)])).toEqual([404]);
		expect(answer(["GET /ws HTTP/1.0", ...good.slice(1)])).toEqual([400]);
		expect(answer([...without("Sec-WebSocket-Version"), "Sec-WebSocket-Version: 12"])).toEqual([426]);
		expect(answer(without("Sec-WebSocket-Version"))).toEqual([426]);
		expect(answer(without("Upgrade"))).toEqual([400, 426]);
		expect(answer(without("Connection"))).toEqual([400]);
		expect(answer(without("Host"))).toEqual([400]);
		expect(answer([...good, "Host: other"])).toEqual([400]);
		expect(answer([...without("Sec-WebSocket-Key"), "Sec-WebSocket-Key: short=="])).toEqual([400]);
		expect(answer(["GET /ws HTTP/1.1 x", ...good.slice(1)])).toEqual([400]);
		expect(answer([...good, "Bad Name: x"])).toEqual([400]);
		expect(answer([...good, `X-Big: ${"a".repeat(2100)}`])).toEqual([431]);
		expect(answer(["POST /other HTTP/1.1", ...good.slice(1)])).toEqual([404, 405]);
	});

	it("finds control characters at once, waits for heads that never end, and allows 400 where leniency is optional", () => {
		expect(answer([...good, "X-C: a\u0001b"])).toEqual([400]);
		expect(expectHandshake(request(good).subarray(0, 50), { path: "/ws" }).outcomes).toEqual(["drop"]);
		expect(expectHandshake(Buffer.from("GET /ws\u0000"), { path: "/ws" }).outcomes).toEqual([400, "drop"]);
		expect(answer([...good, "X-Folded: a", " b"])).toEqual([101, 400]);
		expect(expectHandshake(Buffer.concat([request(good).subarray(0, -2), Buffer.from("X: \xff\r\n\r\n", "latin1")]), { path: "/ws" }).outcomes).toEqual([
			101, 400,
		]);
		expect(answer([...good, "Sec-WebSocket-Protocol: a b"])).toEqual([101, 400]);
	});
});

/* -------------------------------------------------------- runner against servers */

async function tcpServer(echo: (data: Buffer) => Buffer): Promise<net.Server> {
	const server = net.createServer({ allowHalfOpen: true }, socket => {
		socket.on("error", () => {});
		socket.on("data", data => socket.write(echo(data)));
		socket.on("end", () => socket.end());
	});
	server.listen(0, "127.0.0.1");
	await once(server, "listening");
	return server;
}

async function udpServer(echo: (data: Buffer) => Buffer): Promise<dgram.Socket> {
	const socket = dgram.createSocket("udp4");
	socket.on("message", (data, from) => socket.send(echo(data), from.port, from.address));
	socket.bind(0, "127.0.0.1");
	await once(socket, "listening");
	return socket;
}

describe("fuzz runner", () => {
	it("finds nothing wrong with correct TCP and UDP echo servers", async () => {
		const tcp = await tcpServer(d => d),
			udp = await udpServer(d => d);
		try {
			const report = await runFuzz({
				endpoints: {
					target: "board",
					tcp: { host: "127.0.0.1", port: (tcp.address() as net.AddressInfo).port },
					udp: { host: "127.0.0.1", port: udp.address().port },
				},
				seed: 12,
				cases: 120,
				healthEvery: 60,
				timeoutMs: 2000,
			});
			expect(report.counts.tcp + report.counts.udp).toBe(120);
			expect(report.counts.tcp).toBeGreaterThan(0);
			expect(report.mismatches).toEqual([]);
			expect(report.healthFailures).toEqual([]);
			expect(report.healthChecks).toBe(2);
		} finally {
			tcp.close();
			udp.close();
		}
	}, 60_000);

	it("reports mismatches, with what replays them, against a TCP echo that drops a byte and a UDP echo that reverses", async () => {
		const tcp = await tcpServer(d => (d.length > 3 ? d.subarray(1) : d)),
			udp = await udpServer(d => Buffer.from(d).reverse());
		try {
			const report = await runFuzz({
				endpoints: {
					target: "board",
					tcp: { host: "127.0.0.1", port: (tcp.address() as net.AddressInfo).port },
					udp: { host: "127.0.0.1", port: udp.address().port },
				},
				seed: 13,
				cases: 30,
				healthEvery: 0,
				timeoutMs: 500,
			});
			const tcpMisses = report.mismatches.filter(m => m.kind === "tcp"),
				udpMisses = report.mismatches.filter(m => m.kind === "udp");
			expect(tcpMisses.length).toBeGreaterThan(0);
			expect(udpMisses.length).toBeGreaterThan(0);
			expect(tcpMisses[0].problem).toMatch(/came back|differs/);
			expect(udpMisses.some(m => /differs at byte/.test(m.problem))).toBe(true);
			expect(report.mismatchCount).toBe(report.mismatches.length);
			const m = tcpMisses[0];
			expect(m.seed).toBe(13);
			expect(m.caseSeed).toBe(caseSeed(13, m.index));
			// Replaying that one case reproduces it.
			const replay = await runFuzz({
				endpoints: { target: "board", tcp: { host: "127.0.0.1", port: (tcp.address() as net.AddressInfo).port } },
				seed: 13,
				cases: 0,
				indices: [m.index],
				healthEvery: 0,
				timeoutMs: 500,
				only: ["tcp"],
			});
			expect(replay.cases).toBe(1);
			expect(replay.mismatches.map(r => [r.index, r.sent, r.problem])).toEqual([[m.index, m.sent, m.problem]]);
		} finally {
			tcp.close();
			udp.close();
		}
	}, 60_000);

	it("finds a WebSocket server that echoes text as binary wrong, in its cases and in its health checks", async () => {
		const wss = new WebSocketServer({ port: 0, path: "/ws" });
		await once(wss, "listening");
		wss.on("connection", ws => {
			ws.on("error", () => {});
			ws.on("message", data => ws.send(data as Buffer, { binary: true }));
		});
		try {
			const url = `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}/ws`;
			const report = await runFuzz({
				endpoints: { target: "board", ws: url },
				seed: 21,
				cases: 40,
				only: ["ws"],
				healthEvery: 20,
				healthWithinMs: 300,
				timeoutMs: 1500,
			});
			expect(report.counts.ws).toBe(40);
			expect(report.mismatches.some(m => /echo #\d+ is binary .*, expected text/.test(m.problem))).toBe(true);
			expect(report.healthFailures.length).toBe(2);
			expect(report.healthFailures[0]).toMatch(/no fresh WebSocket client served/);
		} finally {
			wss.close();
		}
	}, 60_000);

	it("finds no fault in the device's own WebSocket server (in-process) across WebSocket cases", async () => {
		const server = new WebSocketEchoServer({ port: 0, path: "/ws", maxClients: 8, heartbeat: 0 });
		server.start();
		try {
			const report = await runFuzz({
				endpoints: { target: "node", ws: `ws://127.0.0.1:${server.port}/ws` },
				seed: 31,
				cases: 300,
				only: ["ws"],
				concurrency: 4,
				healthEvery: 150,
			});
			expect(report.counts.ws).toBe(300);
			expect(report.mismatches.map(m => `${m.description}: ${m.problem}`)).toEqual([]);
			expect(report.healthFailures).toEqual([]);
		} finally {
			server.close();
		}
	}, 90_000);
});

describe("host-harness fuzz arguments", () => {
	it("parses targets, seeds, case lists, kinds and per-service concurrency; refuses bad usage", () => {
		const args = parseArgs(["--target", "node", "--seed", "7", "--cases", "50", "--only", "ws,tcp", "--case", "3,9", "--concurrency", "ws=6,tcp=4", "--json"]);
		expect(args).toMatchObject({ target: "node", seed: 7, cases: 50, only: ["ws", "tcp"], indices: [3, 9], concurrency: { ws: 6, tcp: 4 }, json: true });
		expect(parseArgs(["--url", "ws://h:1/ws", "--tcp", "h:2"])).toMatchObject({ url: "ws://h:1/ws", tcp: { host: "h", port: 2 } });
		expect(parseArgs(["--help"])).toBe("help");
		expect(() => parseArgs([])).toThrow(/exactly one/);
		expect(() => parseArgs(["--target", "node", "--device", "1.2.3.4"])).toThrow(/exactly one/);
		expect(() => parseArgs(["--target", "node", "--only", "ws,nope"])).toThrow(/--only/);
		expect(() => parseArgs(["--target", "board"])).toThrow(/node or sim/);
		expect(() => parseArgs(["--target", "node", "--seed", "x"])).toThrow(/whole number/);
	});
});

describe("the HTTP oracle on persistent connections", () => {
	const plain = (connection: string, version = "HTTP/1.1") =>
		expectHandshake(Buffer.from(`GET / ${version}\r\nHost: device\r\n${connection ? `Connection: ${connection}\r\n` : ""}\r\n`), {
			path: "/ws",
			httpPaths: ["/"],
		});

	it("lets a plain answer keep the connection only when an HTTP/1.1 request asked (RFC 9112 9.3, 9.6)", () => {
		expect(plain("keep-alive")).toMatchObject({ outcomes: expect.arrayContaining([200]), mayKeep: true });
		expect(plain("Keep-Alive, foo").mayKeep).toBe(true);
		expect(plain("").mayKeep).toBe(false);
		expect(plain("keep-alive, close").mayKeep).toBe(false);
		expect(plain("keep-alive", "HTTP/1.0").mayKeep).toBe(false);
	});
});

describe("the HTTP oracle on the device's routes (POST, PUT, DELETE)", () => {
	const routes = appHttpRoutes({ httpUpload: "true" });
	const judge = (head: string, body = "", keepAlive = true) =>
		expectHandshake(Buffer.concat([Buffer.from(head.split("|").join("\r\n")), Buffer.from(body)]), { path: "/ws", routes, keepAlive });
	const post = (headers: string, method = "POST", target = "/upload") => `${method} ${target} HTTP/1.1|Host: d|${headers}||`;

	it("knows the app's routes from its config", () => {
		expect(Object.keys(appHttpRoutes({}))).toEqual(["/", "/routes.json"]);
		expect(appHttpRoutes({ httpPage: "false", httpUpload: "true" })).toEqual({ "/upload": { POST: 1048576, PUT: 1024, DELETE: 1024 } });
	});

	it("expects the route's answer to a whole body (its length and CRC-32), kept when asked and the server keeps connections", () => {
		const whole = judge(post("Connection: keep-alive|Content-Length: 5"), "hello");
		expect(whole).toMatchObject({ outcomes: [200], mustKeep: true, body: JSON.stringify({ bytes: 5, crc32: crc32(Buffer.from("hello")) }) });
		expect(judge(post("Connection: keep-alive|Content-Length: 5"), "hello", false)).toMatchObject({ mayKeep: true, mustKeep: false });
		expect(judge(post("Content-Length: 0", "DELETE")).body).toBe('{"deleted":true}');
		expect(judge(post("Connection: close|Content-Length: 5", "PUT"), "hello")).toMatchObject({ outcomes: [200], mayKeep: false });
	});

	it("judges the framing in the server's order: 400 Host, 405 with Allow, 411, 400 length, 413, then dropped while the body has not come", () => {
		expect(judge(`POST /upload HTTP/1.1|Content-Length: 1||`).outcomes).toEqual([400]);
		expect(judge(post("Connection: keep-alive", "GET"))).toMatchObject({ outcomes: [405], allow: "POST, PUT, DELETE", mustKeep: true });
		expect(judge(post("Connection: keep-alive|Content-Length: 3", "PUT", "/"), "abc")).toMatchObject({ outcomes: [405], allow: "GET, HEAD", mayKeep: false });
		expect(judge(post("Transfer-Encoding: chunked|Content-Length: 99999999"), "0\r\n\r\n").outcomes).toEqual([411]);
		expect(judge(post("Content-Length: 1 2")).outcomes).toEqual([400]);
		expect(judge(post("Content-Length: 5|Content-Length: 5"), "hello").outcomes).toEqual([400]);
		expect(judge(post("Content-Length: 1025", "PUT")).outcomes).toEqual([413]);
		expect(judge(post("Content-Length: 1025"), "x".repeat(1025)).outcomes).toEqual([200]);
		expect(judge(post("Content-Length: 10"), "short").outcomes).toEqual(["drop"]);
	});

	it("generates such requests, each kind of framing, when the device has routes", () => {
		const labels = new Set<string>();
		for (let i = 0; i < 3000; i++) {
			const c = generateCase(9, i, { weights: { handshake: 1 }, scale: "small", wsHost: "d:1", wsPath: "/ws", maxDelayMs: 0, httpRoutes: routes });
			if (c.kind === "handshake" && /^(POST|PUT|DELETE|GET|HEAD) /.test(c.label))
				for (const kind of ["no body", "a body of", "B sent", "over the route", 'Content-Length "', "chunked"]) if (c.label.includes(kind)) labels.add(kind);
		}
		expect(labels.size).toBe(6);
	});
});
