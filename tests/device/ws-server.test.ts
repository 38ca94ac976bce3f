// The device's WebSocket echo server, judged with the real `ws` client:
// echo of every size with its type, fragmented messages, ping/pong, both
// closing directions, Trigger async and Ping, maxClients and 503, and the
// HTTP answers to bad upgrades.
import { afterEach, describe, expect, it } from "vitest";
import type WebSocket from "ws";
import { randomPayload, sha256 } from "../../host-harness/oracle/tcp-echo.js";
import { closed, nextMessage, openWs, rawHttp, wsEndpoint } from "../../host-harness/oracle/ws-echo.js";
import { tiers, useDevice } from "./device-under-test.js";

const MiB = 1024 * 1024;
const sizes = { node: [0, 125, 126, 65535, 65536, MiB], sim: [0, 125, 126, 65535, 65536], board: [0, 125, 126, 65535, 65536, MiB] };

describe.each(tiers)("WebSocket echo server on $name", tier => {
	const device = useDevice(tier);
	const url = () => device.endpoints.ws!;
	const open: WebSocket[] = [];
	const connect = async (options?: WebSocket.ClientOptions) => {
		const socket = await openWs(url(), options);
		open.push(socket);
		return socket;
	};
	afterEach(() => {
		for (const socket of open.splice(0)) socket.terminate();
	});
	const timeout = tier.pace === "sim" ? 60_000 : 20_000;

	it.each(sizes[tier.pace])(
		"echoes a %i-byte text and binary message with its type",
		async size => {
			const socket = await connect();
			const text = "x".repeat(size);
			socket.send(text);
			const textBack = await nextMessage(socket, timeout);
			expect(textBack.binary).toBe(false);
			expect(textBack.data.toString()).toBe(text);
			const binary = randomPayload(size);
			socket.send(binary);
			const binaryBack = await nextMessage(socket, timeout);
			expect(binaryBack.binary).toBe(true);
			expect(sha256(binaryBack.data)).toBe(sha256(binary));
		},
		120_000,
	);

	it("reassembles fragmented messages in several shapes, with pings between fragments", async () => {
		const socket = await connect();
		const shapes = [
			["Hel", "lo ", "World!"],
			["", "a", ""],
			["€", "\u{1F600}", "ü"],
		];
		for (const parts of shapes) {
			parts.forEach((part, i) => {
				socket.send(part, { fin: i === parts.length - 1 });
				if (i === 0) socket.ping("between");
			});
			expect((await nextMessage(socket)).data.toString()).toBe(parts.join(""));
		}
		// UTF-8 split inside a code point across fragments: € is e2 82 ac
		const euro = Buffer.from("€");
		socket.send(euro.subarray(0, 1), { fin: false, binary: false });
		socket.send(euro.subarray(1), { fin: true, binary: false });
		expect((await nextMessage(socket)).data.toString()).toBe("€");
	});

	it("answers a ping with a pong carrying the same payload", async () => {
		const socket = await connect();
		const pong = new Promise<Buffer>(resolve => socket.once("pong", resolve));
		socket.ping("are you there");
		expect((await pong).toString()).toBe("are you there");
	});

	it("answers a client's close with the same code", async () => {
		const socket = await connect();
		const done = closed(socket);
		socket.close(4000, "bye");
		expect((await done).code).toBe(4000);
	});

	it('"Trigger async" makes the server send "Async data" by itself; "Ping" makes it ping', async () => {
		const socket = await connect();
		const messages: string[] = [];
		socket.on("message", data => messages.push(data.toString()));
		const pinged = new Promise<void>(resolve => socket.once("ping", () => resolve()));
		socket.send("Trigger async");
		await expect.poll(() => messages, { timeout }).toEqual(expect.arrayContaining(["Trigger async", "Async data"]));
		socket.send("Ping");
		await pinged;
	});

	it.runIf(tier.target !== "board")("serves wsMaxClients at once and answers 503 beyond", async () => {
		const max = 4;
		for (let i = 0; i < max; i++) await connect();
		await expect(openWs(url())).rejects.toThrow(/HTTP 503/);
		open[0].close(1000);
		await closed(open[0]);
		const again = await connect();
		again.send("after a slot freed");
		expect((await nextMessage(again)).data.toString()).toBe("after a slot freed");
	});

	it("answers bad upgrades: 404 wrong path, 426 wrong version, 400 bad key, 405 not GET", async () => {
		const { host, port } = wsEndpoint(url());
		const head = (method: string, path: string, extra: string) =>
			`${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${extra}\r\n`;
		const key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
		const path = new URL(url()).pathname;
		expect((await rawHttp(host, Number(port), head("GET", "/nowhere", `${key}Sec-WebSocket-Version: 13\r\n`))).status).toBe(404);
		const wrongVersion = await rawHttp(host, Number(port), head("GET", path, `${key}Sec-WebSocket-Version: 8\r\n`));
		expect(wrongVersion.status).toBe(426);
		expect(wrongVersion.headers["sec-websocket-version"]).toBe("13");
		expect((await rawHttp(host, Number(port), head("GET", path, "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n"))).status).toBe(400);
		expect((await rawHttp(host, Number(port), head("POST", path, `${key}Sec-WebSocket-Version: 13\r\n`))).status).toBe(405);
		// and a proper client is still served
		const socket = await connect();
		socket.send("still serving");
		expect((await nextMessage(socket)).data.toString()).toBe("still serving");
	});
});
