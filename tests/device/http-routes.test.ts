// Plain HTTP beside the WebSocket routes, on the WebSocket server's port
// (websocket/http-routes, app: the device's page at / and /routes.json),
// on every tier: GET and HEAD with the exact body and its length, gzip
// negotiated by Accept-Encoding, 404 and 405, 431 for a head too large, a
// reader that takes its time, clients that reset mid-body; and the
// WebSocket echo on the same port meanwhile; routes that take a body
// (app/http-upload, httpUpload): a body in many pieces answered with its
// length and CRC-32, 413 over maxBody, clients that reset or end mid-body
// (the route told, nothing answered, others served); persistent connections
// (RFC 9112 9.3): fetch's requests one after the other through one
// connection, two requests in a row on a raw socket. Then the page in headless
// Chromium: it opens the broadcast route, and a message sent there by
// another client appears in it.
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { crc32, gunzipSync } from "node:zlib";
import type { Agent } from "undici-types";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { parseHttpHead, type HttpReply as Reply, wholeReplies } from "../../host-harness/conformance/http-head.js";
import { findChromium, HeadlessPage } from "../../host-harness/dashboard/browser.js";
import { type LanDevice, startLanDevice } from "../../host-harness/device/lan.js";
import { type RunningDevice, startDevice } from "../../host-harness/device/targets.js";
import { whyNoNamespaces } from "../../host-harness/lib/netns.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { hasLog, hostConfig, tiers, useDevice } from "./device-under-test.js";
import { knobs } from "./knobs.js";

const page = fs.readFileSync(path.join(projectRoot, "app/page/index.html"));
const chromium = findChromium();
if (!chromium) console.log("device page browser cases skipped: no Chromium on PATH (apt-get install chromium-headless-shell)");

/** One request as raw bytes; the whole reply until the server closes. `readDelayMs`: pause reading between chunks (a slow reader). */
function request(host: string, port: number, text: string, readDelayMs = 0): Promise<Reply> {
	return new Promise((resolve, reject) => {
		const socket = net.connect({ host, port });
		const chunks: Buffer[] = [];
		socket.setTimeout(20_000, () => socket.destroy(new Error("no complete reply within 20 s")));
		socket.on("connect", () => socket.write(text));
		socket.on("data", chunk => {
			chunks.push(chunk);
			if (readDelayMs) {
				socket.pause();
				setTimeout(() => socket.resume(), readDelayMs);
			}
		});
		socket.on("error", reject);
		socket.on("end", () => {
			const all = Buffer.concat(chunks);
			const split = all.indexOf("\r\n\r\n");
			const head = all.subarray(0, split).toString("latin1");
			resolve({ ...parseHttpHead(head), head, body: all.subarray(split + 4) });
		});
	});
}

/** Send `text` (requests in a row) and read `count` replies, each ended by its Content-Length; fewer when the server closes first. */
function replies(host: string, port: number, text: string, count: number): Promise<Reply[]> {
	return new Promise((resolve, reject) => {
		const socket = net.connect({ host, port });
		let buffer = Buffer.alloc(0);
		let got: Reply[] = [];
		const done = () => {
			socket.destroy();
			resolve(got);
		};
		socket.setTimeout(20_000, () => socket.destroy(new Error(`${got.length} of ${count} replies within 20 s`)));
		socket.on("connect", () => socket.write(text));
		socket.on("data", chunk => {
			buffer = Buffer.concat([buffer, chunk]);
			got = wholeReplies(buffer);
			if (got.length >= count) done();
		});
		socket.on("error", reject);
		socket.on("end", done);
	});
}

/**
 * An undici Agent of one connection, for Node's fetch (`dispatcher`): each
 * request then goes on the connection the one before left idle, or on a new
 * one when the server closed it. Its class is that of the global dispatcher,
 * which Node's fetch keeps under undici's interop key once it has run.
 */
async function oneConnection(): Promise<Agent> {
	await fetch("data:,").catch(() => undefined);
	const global = (globalThis as Record<symbol, unknown>)[Symbol.for("undici.globalDispatcher.1")] as
		| { constructor: new (options: Agent.Options) => Agent }
		| undefined;
	if (typeof global?.constructor !== "function") throw new Error("Node's fetch has no undici Agent to make a dispatcher of one connection from");
	return new global.constructor({ connections: 1 });
}

const get = (target: string, headers: Record<string, string> = {}, method = "GET") =>
	`${method} ${target} HTTP/1.1\r\nHost: device\r\n${Object.entries(headers)
		.map(([k, v]) => `${k}: ${v}\r\n`)
		.join("")}\r\n`;

/** A raw connection: bytes written as asked, the replies read as they come (each ended by its Content-Length). */
class RawConnection {
	readonly socket: net.Socket;
	readonly closed: Promise<void>;
	received = Buffer.alloc(0);
	#wake: (() => void) | undefined;
	#ended = false;

	constructor(host: string, port: number) {
		this.socket = net.connect({ host, port });
		this.socket.on("data", chunk => {
			this.received = Buffer.concat([this.received, chunk]);
			this.#wake?.();
		});
		this.socket.on("error", () => {});
		this.closed = new Promise(resolve =>
			this.socket.on("close", () => {
				this.#ended = true;
				this.#wake?.();
				resolve();
			}),
		);
	}

	async connected(): Promise<this> {
		if (this.socket.connecting) await new Promise(resolve => this.socket.once("connect", resolve));
		return this;
	}

	write(data: string | Buffer): Promise<void> {
		return new Promise((resolve, reject) => this.socket.write(data, e => (e ? reject(e) : resolve())));
	}

	/** The replies once `count` are whole (fewer when the connection ends first), within timeoutMs. */
	async replies(count: number, timeoutMs = 20_000): Promise<Reply[]> {
		const until = Date.now() + timeoutMs;
		while (wholeReplies(this.received).length < count && !this.#ended && Date.now() < until)
			await new Promise<void>(resolve => {
				this.#wake = resolve;
				setTimeout(resolve, 200);
			});
		return wholeReplies(this.received);
	}

	destroy(): void {
		this.socket.destroy();
	}
}

/** A request head with a body of `length` to follow (the connection asked to be kept). */
const withBody = (method: string, target: string, length: number) =>
	`${method} ${target} HTTP/1.1\r\nHost: device\r\nConnection: keep-alive\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`;

/** `size` bytes that no wrong offset or lost piece would leave with the same CRC. */
function bodyOf(size: number, seed = 1): Buffer {
	const body = Buffer.alloc(size);
	let x = seed;
	for (let i = 0; i < size; i++) {
		x = (x * 1103515245 + 12345) >>> 0;
		body[i] = x >>> 24;
	}
	return body;
}

/** Upload `body` by POST /upload in `pieces` writes, a pause between them; the reply. */
async function upload(host: string, port: number, body: Buffer, pieces: number, pauseMs: number): Promise<Reply | undefined> {
	const connection = await new RawConnection(host, port).connected();
	try {
		await connection.write(withBody("POST", "/upload", body.length));
		const size = Math.ceil(body.length / pieces);
		for (let at = 0; at < body.length; at += size) {
			await connection.write(body.subarray(at, at + size));
			await new Promise(r => setTimeout(r, pauseMs));
		}
		return (await connection.replies(1))[0];
	} finally {
		connection.destroy();
	}
}

describe.each(tiers)("HTTP routes on the WebSocket port, $name", tier => {
	// The routes that take a body: the app's httpUpload, on in the devices the suites start (the lan tiers' too); a board as flashed.
	const uploads = tier.target !== "board" || tier.board?.config.httpUpload === "true";
	if (!uploads) console.log(`HTTP routes' upload cases on ${tier.name} skipped: its config has no httpUpload=true`);
	const dut = useDevice(tier, { wsBroadcastPath: "/bc", httpUpload: "true" });
	const k = knobs[tier.pace];
	const where = () => {
		const url = new URL(dut.endpoints.ws!);
		return { host: url.hostname, port: Number(url.port || 80) };
	};

	it("GET / is the device's page: its bytes, length, type, cache policy, Connection: close; HEAD the same head and no body", async () => {
		const { host, port } = where();
		const reply = await request(host, port, get("/"));
		expect(reply.status).toBe(200);
		expect(reply.headers.get("content-type")).toBe("text/html; charset=utf-8");
		expect(reply.headers.get("content-length")).toBe(String(page.length));
		expect(reply.headers.get("cache-control")).toBe("no-cache");
		expect(reply.headers.get("connection")).toBe("close");
		expect(reply.headers.get("vary")).toBe("Accept-Encoding");
		expect(reply.body.equals(page)).toBe(true);
		const head = await request(host, port, get("/", {}, "HEAD"));
		expect(head.head).toBe(reply.head);
		expect(head.body.length).toBe(0);
	}, 60_000);

	it("sends the gzip twin to a client that accepts gzip, the plain page to one that refuses it", async () => {
		const { host, port } = where();
		const zipped = await request(host, port, get("/", { "Accept-Encoding": "gzip, deflate, br" }));
		expect(zipped.headers.get("content-encoding")).toBe("gzip");
		expect(Number(zipped.headers.get("content-length"))).toBe(zipped.body.length);
		expect(gunzipSync(zipped.body).equals(page)).toBe(true);
		const refused = await request(host, port, get("/", { "Accept-Encoding": "gzip;q=0, identity" }));
		expect(refused.headers.has("content-encoding")).toBe(false);
		expect(refused.body.equals(page)).toBe(true);
	}, 60_000);

	it("tells the page its routes; 404 for a path with no route; 405 with Allow for another method; 431 for a head too large", async () => {
		const { host, port } = where();
		const routes = await request(host, port, get("/routes.json"));
		expect(routes.headers.get("content-type")).toBe("application/json");
		const said = JSON.parse(routes.body.toString());
		expect(said.echo).toBe(dut.endpoints.ws ? new URL(dut.endpoints.ws).pathname : "/ws");
		if (tier.target !== "board") {
			expect(said.broadcast).toBe("/bc");
			expect(said.log).toBe("/log");
			// What it says about itself: a MAC where the platform gives one (the Node host's is made up; the simulator has none).
			if (tier.target === "node") expect(said.mac).toMatch(/^02:00(:[0-9A-F]{2}){4}$/);
			else expect(said.mac).toBeUndefined();
		}
		expect((await request(host, port, get("/nothing-here"))).status).toBe(404);
		const post = await request(host, port, get("/", {}, "POST"));
		expect(post.status).toBe(405);
		expect(post.headers.get("allow")).toBe("GET, HEAD");
		expect((await request(host, port, get("/", { "X-Filler": "x".repeat(4000) }))).status).toBe(431);
	}, 60_000);

	it("keeps the connection for fetch's next requests: several answered through one connection, each Connection: keep-alive", async () => {
		const { host, port } = where();
		const base = `http://${host}:${port}`;
		const from = dut.process?.log.length ?? 0;
		// Node's fetch (undici) asks for keep-alive; with one connection, it sends each request on the connection the one before left.
		const dispatcher = await oneConnection();
		const answers: [number, string | null, string | null][] = [];
		try {
			for (const target of ["/", "/routes.json", "/"]) {
				const reply = await fetch(`${base}${target}`, { dispatcher } as RequestInit);
				const body = Buffer.from(await reply.arrayBuffer());
				if (target === "/") expect(body.equals(page)).toBe(true);
				answers.push([reply.status, reply.headers.get("connection"), reply.headers.get("keep-alive")]);
			}
		} finally {
			await dispatcher.close();
		}
		expect(answers.map(([status, connection]) => [status, connection])).toEqual([
			[200, "keep-alive"],
			[200, "keep-alive"],
			[200, "keep-alive"],
		]);
		// The idle limit, in seconds: the app's wsHandshakeTimeout (default 5000 ms: 5 on the host tiers).
		expect(answers[0][2]).toMatch(tier.target === "board" ? /^timeout=[1-9]\d*$/ : /^timeout=5$/);
		if (!hasLog(tier)) return;
		// The device's log names each request's peer: one connection, one peer (address and port) for all three.
		const shape = /^HTTP GET \S+ 200, peer (\S+?),/;
		let peers: string[] = [];
		for (let wait = 0; wait < 50 && peers.length < 3; wait++) {
			peers = dut.process!.log.slice(from).flatMap(line => shape.exec(line.message)?.[1] ?? []);
			if (peers.length < 3) await new Promise(r => setTimeout(r, 100));
		}
		expect(peers.length).toBe(3);
		expect(new Set(peers).size).toBe(1);
	}, 60_000);

	it("answers two keep-alive requests in a row on one raw socket, in order", async () => {
		const { host, port } = where();
		const keep = { Connection: "keep-alive" };
		const [first, second] = await replies(host, port, get("/routes.json", keep) + get("/", keep), 2);
		expect([first?.status, first?.headers.get("connection"), first?.headers.get("content-type")]).toEqual([200, "keep-alive", "application/json"]);
		expect(JSON.parse(first.body.toString()).echo).toBeDefined();
		expect(second?.status).toBe(200);
		expect(second?.body.equals(page)).toBe(true);
	}, 60_000);

	it("gives a slow reader the whole page", async () => {
		const { host, port } = where();
		const reply = await request(host, port, get("/"), tier.pace === "node" ? 50 : 20);
		expect(reply.body.equals(page)).toBe(true);
	}, 60_000);

	it.runIf(uploads)(
		"takes a body in many pieces (POST /upload) and answers its length and CRC-32, the connection kept; PUT the same body whole; DELETE",
		async () => {
			const { host, port } = where();
			const body = bodyOf(64 * 1024);
			const connection = await new RawConnection(host, port).connected();
			try {
				await connection.write(withBody("POST", "/upload", body.length));
				for (let at = 0; at < body.length; at += 2048) {
					await connection.write(body.subarray(at, at + 2048));
					await new Promise(r => setTimeout(r, tier.pace === "node" ? 1 : 5));
				}
				const [posted] = await connection.replies(1);
				expect(posted?.status).toBe(200);
				expect(JSON.parse(posted!.body.toString())).toEqual({ bytes: body.length, crc32: crc32(body) });
				expect(posted!.headers.get("connection")).toBe("keep-alive");
				// On the same connection: the whole-body route (PUT, up to 1024 bytes) and DELETE.
				const small = bodyOf(1000, 7);
				await connection.write(Buffer.concat([Buffer.from(withBody("PUT", "/upload", small.length)), small, Buffer.from(withBody("DELETE", "/upload", 0))]));
				const [, put, deleted] = await connection.replies(3);
				expect(put?.status).toBe(200);
				expect(JSON.parse(put!.body.toString())).toEqual({ bytes: 1000, crc32: crc32(small) });
				expect(deleted?.status).toBe(200);
				expect(JSON.parse(deleted!.body.toString())).toEqual({ deleted: true });
			} finally {
				connection.destroy();
			}
		},
		60_000,
	);

	it.runIf(uploads)(
		"answers 413 to a Content-Length over the route's maxBody before a byte is read (the route not called), 411 to a chunked body",
		async () => {
			const { host, port } = where();
			const from = dut.process?.log.length ?? 0;
			for (const [method, length] of [
				["POST", 1048577],
				["PUT", 1025],
			] as const) {
				// The head alone: an answer that waited for the body would never come.
				const connection = await new RawConnection(host, port).connected();
				await connection.write(withBody(method, "/upload", length));
				const [reply] = await connection.replies(1);
				expect(reply?.status).toBe(413);
				expect(reply!.headers.get("connection")).toBe("close");
				await connection.closed;
			}
			const chunked = await request(host, port, `POST /upload HTTP/1.1\r\nHost: device\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
			expect(chunked.status).toBe(411);
			// Not begun, so not aborted either: the route never heard of them.
			if (hasLog(tier) && dut.process) expect(dut.process.log.slice(from).filter(l => /upload ended/.test(l.message))).toEqual([]);
		},
		60_000,
	);

	it.runIf(uploads)(
		"tells the route when a client resets or ends mid-body (nothing answered), and serves an upload and the echo meanwhile and afterwards",
		async () => {
			const { host, port } = where();
			for (const end of ["reset", "FIN"] as const) {
				const from = dut.process?.log.length ?? 0;
				const leaving = await new RawConnection(host, port).connected();
				await leaving.write(withBody("POST", "/upload", 100_000));
				await leaving.write(bodyOf(20_000));
				// Another upload is served whole while that one is mid-body.
				const other = bodyOf(8 * 1024, 3);
				const reply = await upload(host, port, other, 4, 5);
				expect(JSON.parse(reply?.body.toString() ?? "{}")).toEqual({ bytes: other.length, crc32: crc32(other) });
				if (end === "reset") leaving.socket.resetAndDestroy();
				else leaving.socket.end();
				await leaving.closed;
				expect(leaving.received.length, "nothing answered to a body left unfinished").toBe(0);
				if (hasLog(tier) && dut.process) {
					const told = await dut.process.waitForLog(/upload ended after \d+ of 100000 bytes: (peer-closed|peer-gone)/, 20_000, from);
					expect(Number(/after (\d+) of/.exec(told.message)![1])).toBeLessThanOrEqual(20_000);
				}
			}
			const after = bodyOf(4096, 5);
			expect(JSON.parse((await upload(host, port, after, 2, 5))?.body.toString() ?? "{}")).toEqual({ bytes: 4096, crc32: crc32(after) });
			const ws = new WebSocket(dut.endpoints.ws!);
			const echoed = await new Promise<string>((resolve, reject) => {
				ws.once("open", () => ws.send("after the uploads"));
				ws.once("message", data => resolve(data.toString()));
				ws.once("error", reject);
				setTimeout(() => reject(new Error("no echo")), k.echoTimeoutMs ?? 10_000);
			});
			ws.close();
			expect(echoed).toBe("after the uploads");
		},
		90_000,
	);

	it("survives clients that reset mid-body, and serves the page and the echo afterwards", async () => {
		const { host, port } = where();
		await Promise.all(
			Array.from(
				{ length: 6 },
				() =>
					new Promise<void>(resolve => {
						const socket = net.connect({ host, port }, () => socket.write(get("/")));
						socket.once("data", () => socket.resetAndDestroy());
						socket.on("error", () => resolve());
						socket.on("close", () => resolve());
					}),
			),
		);
		// The sockets the resets held are freed as the device notices them (the simulator polls every 20 ms):
		// a fresh client may be turned away meanwhile (beyond capacity, closed), and is served within a few tries.
		let reply: Reply | undefined;
		for (let attempt = 0; attempt < 20 && !reply; attempt++) {
			reply = await request(host, port, get("/")).catch(() => undefined);
			if (!reply) await new Promise(r => setTimeout(r, 250));
		}
		expect(reply?.body.equals(page)).toBe(true);
		const ws = new WebSocket(dut.endpoints.ws!);
		const echoed = await new Promise<string>((resolve, reject) => {
			ws.once("open", () => ws.send("still here"));
			ws.once("message", data => resolve(data.toString()));
			ws.once("error", reject);
			setTimeout(() => reject(new Error("no echo")), k.echoTimeoutMs ?? 10_000);
		});
		ws.close();
		expect(echoed).toBe("still here");
	}, 60_000);
});

describe.runIf(!!chromium)("the device's page in headless Chromium", () => {
	const running: (RunningDevice | LanDevice)[] = [];
	afterAll(async () => {
		for (const device of running) await device.stop();
	});

	/** Open the page, wait for its WebSocket, send on the broadcast route from another client, find the message in the page. */
	async function judge(pageUrl: string, wsUrl: string): Promise<void> {
		const browser = await HeadlessPage.open(chromium!, pageUrl);
		try {
			const until = Date.now() + 30_000;
			while (!/^connected to \/bc$/.test(await browser.evaluate<string>(`document.getElementById("status")?.textContent ?? ""`))) {
				if (Date.now() > until) throw new Error(`the page never connected: ${await browser.evaluate<string>("document.body.innerText")}`);
				await new Promise(r => setTimeout(r, 200));
			}
			const sender = new WebSocket(wsUrl);
			await new Promise((resolve, reject) => {
				sender.once("open", resolve);
				sender.once("error", reject);
			});
			const text = `from the test ${Date.now()}`;
			sender.send(text);
			const seen = Date.now() + 20_000;
			while (!(await browser.evaluate<string[]>(`[...document.querySelectorAll("#messages li")].map(li => li.textContent)`)).includes(text)) {
				if (Date.now() > seen) throw new Error("the broadcast message never appeared in the page");
				await new Promise(r => setTimeout(r, 200));
			}
			sender.close();
		} finally {
			await browser.close();
		}
	}

	it.runIf(tiers.some(t => t.target === "sim"))(
		"on the simulator: the page connects to the broadcast route and shows what another client sends there",
		async () => {
			const device = await startDevice({ target: "sim", config: await hostConfig({ wsBroadcastPath: "/bc" }) });
			running.push(device);
			const url = new URL(device.endpoints.ws!);
			await judge(`http://${url.host}/`, `ws://${url.host}/bc`);
		},
		180_000,
	);

	it.runIf(!whyNoNamespaces() && tiers.some(t => t.target === "node"))(
		"on a LAN stand-in (node device in a namespace), the same",
		async () => {
			const device = await startLanDevice("node", { wsBroadcastPath: "/bc" });
			running.push(device);
			await judge(`http://${device.link.deviceAddress}/`, `ws://${device.link.deviceAddress}/bc`);
		},
		180_000,
	);
});
