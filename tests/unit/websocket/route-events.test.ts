// A WebSocket route's handler, as an app uses it: each event it is given,
// once, in order, for each way a connection ends; onClose last. The device
// suites hold the same contract on every tier (tests/device/contract).
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { CLOSING, type WebSocketConnection, type WebSocketHandler } from "websocket/connection";
import { MessageType, Opcode } from "websocket/constants";
import { WebSocketServer } from "websocket/server";
import WebSocket from "ws";
import { encode, MASK } from "./helpers.js";
import { RawClient, until } from "./peers.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
	while (cleanups.length) cleanups.pop()!();
});

/** Every event the handler got, as "name" or "name:detail", in order. */
class Recorder implements WebSocketHandler {
	readonly events: string[] = [];
	onOpen(): void {
		this.events.push("open");
	}
	onMessage(connection: WebSocketConnection): void {
		this.events.push("message");
		connection.sendText("ok");
	}
	onCloseFrame(_connection: WebSocketConnection, code: number): void {
		this.events.push(`closeFrame:${code}`);
	}
	onProtocolError(_connection: WebSocketConnection, code: number): void {
		this.events.push(`protocolError:${code}`);
	}
	onClose(_connection: WebSocketConnection, cause: string): void {
		this.events.push(`close:${cause}`);
	}
}

function serve(recorder: Recorder): WebSocketServer {
	const server = new WebSocketServer({ port: 0, logTag: "route-events" });
	server.route("/r", recorder, { maxMessage: 64 });
	server.start();
	cleanups.push(() => server.close());
	return server;
}

async function client(server: WebSocketServer): Promise<WebSocket> {
	const ws = new WebSocket(`ws://127.0.0.1:${server.port}/r`);
	ws.on("error", () => {});
	cleanups.push(() => ws.terminate());
	await once(ws, "open");
	ws.send("hi");
	await once(ws, "message");
	return ws;
}

/** A client that writes raw frames, once the route's handler has its onOpen. */
async function rawClient(server: WebSocketServer, recorder: Recorder): Promise<RawClient> {
	const raw = await RawClient.open(server.port, "/r");
	cleanups.push(() => raw.destroy());
	await until(() => recorder.events.length === 1, "onOpen");
	return raw;
}

const ended = (recorder: Recorder) => until(() => recorder.events.some(e => e.startsWith("close:")), "onClose", 5000);

describe("a WebSocket route's handler gets onClose, last and once, however the connection ends", () => {
	it("the peer closes with 1000", async () => {
		const recorder = new Recorder();
		const server = serve(recorder);
		const ws = await client(server);
		ws.close(1000);
		await ended(recorder);
		expect(recorder.events).toEqual(["open", "message", "closeFrame:1000", "close:closed"]);
		expect(server.clients).toBe(0);
	});

	it("a newcomer purges it (lruPurge): the peer sees Close 1001, the handler onClose with cause purged", async () => {
		const recorder = new Recorder();
		const server = new WebSocketServer({ port: 0, logTag: "route-events", maxClients: 1, lruPurge: true });
		server.route("/r", recorder, { maxMessage: 64 });
		server.start();
		cleanups.push(() => server.close());
		const idle = await client(server);
		const closed = once(idle, "close");
		await client(server);
		const [code] = await closed;
		expect(code).toBe(1001);
		await until(() => recorder.events.includes("close:purged"), "onClose of the purged one", 5000);
		// (One recorder for both: the newcomer opened; the purged one's onClose came once, with its cause.)
		expect(recorder.events.filter(e => e === "open" || e.startsWith("close:"))).toEqual(["open", "open", "close:purged"]);
	});

	it("the peer closes with no code (1005)", async () => {
		const recorder = new Recorder();
		const server = serve(recorder);
		const ws = await client(server);
		ws.close();
		await ended(recorder);
		expect(recorder.events).toEqual(["open", "message", "closeFrame:1005", "close:closed"]);
	});

	it("the peer resets the connection", async () => {
		const recorder = new Recorder();
		const server = serve(recorder);
		const ws = await client(server);
		ws.terminate();
		await ended(recorder);
		expect(recorder.events.slice(0, 2)).toEqual(["open", "message"]);
		expect(recorder.events).toHaveLength(3);
		expect(recorder.events[2]).toMatch(/^close:(peer-closed|peer-gone)$/);
	});

	it("the server stops: Close 1001 answered, then onClose", async () => {
		const recorder = new Recorder();
		const server = serve(recorder);
		await client(server);
		server.close();
		await ended(recorder);
		expect(recorder.events).toEqual(["open", "message", "closeFrame:1001", "close:closed"]);
	});

	it("the peer breaks the protocol (an unmasked frame): onProtocolError, then onClose", async () => {
		const recorder = new Recorder();
		const server = serve(recorder);
		const raw = await rawClient(server, recorder);
		raw.write(encode({ opcode: Opcode.TEXT, payload: "unmasked", fin: true }));
		await ended(recorder);
		expect(recorder.events).toEqual(["open", "protocolError:1002", "close:protocol-error"]);
	});

	it("a message too big: onProtocolError 1009, then onClose", async () => {
		const recorder = new Recorder();
		const server = serve(recorder);
		const raw = await rawClient(server, recorder);
		raw.write(encode({ opcode: Opcode.BINARY, payload: new Uint8Array(65), fin: true, mask: MASK }));
		await ended(recorder);
		expect(recorder.events).toEqual(["open", "protocolError:1009", "close:protocol-error"]);
	});

	it("inside onProtocolError the connection is already failing: a send is refused, only the Close goes out", async () => {
		const recorder = new Recorder();
		const inside: [number, boolean][] = [];
		recorder.onProtocolError = (connection: WebSocketConnection, code: number) => {
			recorder.events.push(`protocolError:${code}`);
			inside.push([connection.state, connection.sendText("too late")]);
		};
		const server = serve(recorder);
		const raw = await rawClient(server, recorder);
		raw.write(encode({ opcode: Opcode.TEXT, payload: "unmasked", fin: true }));
		await ended(recorder);
		expect(inside).toEqual([[CLOSING, false]]);
		await until(() => raw.closes.length === 1, "the Close");
		expect(raw.closes[0].code).toBe(1002);
		expect(raw.messages).toEqual([]);
	});
});

describe("a route keeps its connections: count, iteration, broadcast", () => {
	it("counts a connection from onOpen to onClose, and none after four ends", async () => {
		const seen: string[] = [];
		const server = new WebSocketServer({ port: 0, logTag: "route-count" });
		const route = server.route("/r", {
			onOpen(connection) {
				seen.push(`open:${connection.route!.count}:${[...connection.route!].includes(connection)}`);
			},
			onMessage() {},
			onClose(connection) {
				seen.push(`close:${connection.route!.count}:${[...connection.route!].includes(connection)}`);
			},
		});
		server.start();
		cleanups.push(() => server.close());
		const clients = await Promise.all(
			[0, 1, 2, 3].map(async () => {
				const ws = new WebSocket(`ws://127.0.0.1:${server.port}/r`);
				ws.on("error", () => {});
				cleanups.push(() => ws.terminate());
				await once(ws, "open");
				return ws;
			}),
		);
		await until(() => route.count === 4, "four open");
		expect([...route].map(c => c.route)).toEqual([route, route, route, route]);
		clients[0].close(1000);
		clients[1].close();
		clients[2].terminate();
		const raw = clients[3];
		(raw as unknown as { _socket: import("node:net").Socket })._socket.end(); // FIN without a Close
		await until(() => seen.filter(e => e.startsWith("close")).length === 4, "four onClose", 5000);
		expect(route.count).toBe(0);
		expect([...route]).toEqual([]);
		expect(seen.filter(e => e.startsWith("open"))).toEqual(["open:1:true", "open:2:true", "open:3:true", "open:4:true"]);
		expect(seen.filter(e => e.startsWith("close"))).toEqual(["close:3:false", "close:2:false", "close:1:false", "close:0:false"]);
	});

	it("broadcasts one message to every open connection but the one excepted", async () => {
		const server = new WebSocketServer({ port: 0, logTag: "route-broadcast" });
		const route = server.route("/r", {
			onMessage(sender, type, data) {
				sender.route!.broadcast(type, data, sender);
			},
		});
		server.route("/other", { onMessage() {} });
		server.start();
		cleanups.push(() => server.close());
		const open = async (path: string) => {
			const ws = new WebSocket(`ws://127.0.0.1:${server.port}${path}`);
			ws.on("error", () => {});
			cleanups.push(() => ws.terminate());
			const inbox: string[] = [];
			ws.on("message", data => inbox.push(String(data)));
			await once(ws, "open");
			return { ws, inbox };
		};
		const [a, b, c] = await Promise.all([open("/r"), open("/r"), open("/r")]);
		const elsewhere = await open("/other");
		a.ws.send("from a");
		await until(() => b.inbox.length === 1 && c.inbox.length === 1, "the broadcast");
		expect(route.broadcast(MessageType.TEXT, "from the app")).toBe(3);
		await until(() => a.inbox.length === 1 && b.inbox.length === 2, "the app's broadcast");
		expect([a.inbox, b.inbox, c.inbox]).toEqual([["from the app"], ["from a", "from the app"], ["from a", "from the app"]]);
		expect(elsewhere.inbox).toEqual([]);
	});
});
