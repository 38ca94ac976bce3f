// The libraries' event contract (docs/api-websocket.md, docs/api-tcp-udp.md),
// held on every tier that can run an app of a user's: the contract app
// (tests/fixtures/contract-app, on the libraries only) records each event
// its handlers and owners are given, per connection, and this suite drives
// the libraries through each way a connection can end and compares the
// connection's whole sequence: each event once, in order, the end last with
// its documented cause, and what a send inside an event returned.
//
// One device per tier: node and sim on this PC, lwip in a network namespace
// of its own (reached at its address; its clients reach the harness's peers
// at the link's host end).

import * as dgram from "node:dgram";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { newKey, RawConnection, upgradeRequest } from "../../host-harness/conformance/client.js";
import { frame, Op } from "../../host-harness/conformance/frames.js";
import { findApp } from "../../host-harness/device/app.js";
import { startLanDevice } from "../../host-harness/device/lan.js";
import { startDevice } from "../../host-harness/device/targets.js";
import { closedByServer, mute } from "../../host-harness/faults/ws.js";
import { createLink } from "../../host-harness/lib/netns.js";
import { freeTcpPort, freeUdpPort } from "../../host-harness/lib/ports.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { connect, readBytes } from "../../host-harness/oracle/tcp-echo.js";
import { closed, nextMessage } from "../../host-harness/oracle/ws-echo.js";
import { ContractEvents, getJson, isEnd } from "./contract-events.js";
import { tiers } from "./device-under-test.js";

const app = findApp(path.join(projectRoot, "tests", "fixtures", "contract-app"));
const contractTiers = tiers.filter(t => t.target !== "board" || t.name === "lwip");
for (const tier of tiers.filter(t => !contractTiers.includes(t)))
	console.log(`contract suite on ${tier.name} skipped: it runs its own app, on node, sim and lwip; a board runs the app it was flashed with`);

/** Short limits, so a heartbeat loss, a handshake timeout, an idle timeout and a full server are reached in about a second. */
const limits = { heartbeat: "1000", handshakeTimeout: "1000", maxClients: "2", tcpIdleTimeout: "1500" };

interface Services {
	ws: number;
	wsStop: number;
	tcp: number;
	udp: number;
}

describe.each(contractTiers)("the libraries' event contract on $name", tier => {
	let host = "127.0.0.1";
	/** Where the device's clients reach the harness's peers. */
	let peerHost = "127.0.0.1";
	let services: Services;
	let events: ContractEvents;
	let stop: (() => Promise<void>) | undefined;

	beforeAll(async () => {
		if (tier.name === "lwip") {
			const link = createLink();
			const lan = await startLanDevice("lwip", limits, { app, link });
			stop = () => lan.stop();
			host = link.deviceAddress;
			peerHost = link.hostAddress;
			services = lan.endpoints.services as unknown as Services;
		} else {
			const ports = { wsPort: await freeTcpPort(), wsStopPort: await freeTcpPort(), tcpPort: await freeTcpPort(), udpPort: await freeUdpPort() };
			const running = await startDevice({
				target: tier.target as "node" | "sim",
				app,
				config: { ...limits, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) },
			});
			stop = () => running.stop();
			services = running.endpoints.services as unknown as Services;
		}
		events = new ContractEvents(host, services.ws);
	}, 300_000); // the first build of the app for a target takes minutes on a busy machine; later ones seconds

	afterAll(async () => {
		await stop?.();
	});

	const url = (route: string, server: "ws" | "wsStop" = "ws") => `ws://${host}:${services[server]}${route}`;

	/** A `ws` client, open, and its local port (what the device's record names it by). */
	async function open(route: string, server: "ws" | "wsStop" = "ws"): Promise<{ socket: WebSocket; port: number }> {
		const socket = new WebSocket(url(route, server));
		let port = 0;
		socket.once("upgrade", response => {
			port = response.socket.localPort ?? 0;
		});
		await new Promise<void>((resolve, reject) => {
			socket.once("open", () => resolve());
			socket.once("error", reject);
		});
		socket.on("error", () => {});
		return { socket, port };
	}

	/** Echo `text` through a WebSocket client (the connection is open on the device once it comes back). */
	async function echo(socket: WebSocket, text: string): Promise<void> {
		socket.send(text);
		expect((await nextMessage(socket)).data.toString()).toBe(text);
	}

	/** A raw WebSocket client after a real handshake, its local port, and the device's onOpen seen. */
	async function raw(route: string): Promise<{ connection: RawConnection; port: number }> {
		const connection = await RawConnection.open(new URL(url(route)), 5000);
		const port = connection.socket.localPort!;
		await events.until(() => events.of("ws", { port }).length > 0, "onOpen");
		return { connection, port };
	}

	describe("WebSocket server: a route's handler", () => {
		it("the client closes (1000): open, messages, onCloseFrame 1000, onClose closed; no send inside either", async () => {
			const { socket, port } = await open("/echo");
			await echo(socket, "hi");
			socket.pong("unsolicited");
			socket.close(1000);
			expect((await closed(socket)).code).toBe(1000);
			expect(await events.sequence("ws", { port })).toEqual(["open", "message:2", "closeFrame:1000/send=false", "close:closed/send=false"]);
			expect(await events.sequence("ws", { port }, { pongs: true })).toContain("pong");
		});

		it("the client closes without a code: onCloseFrame 1005, answered with 1000", async () => {
			const { socket, port } = await open("/echo");
			await echo(socket, "hi");
			socket.close();
			expect((await closed(socket)).code).toBe(1000);
			expect(await events.sequence("ws", { port })).toEqual(["open", "message:2", "closeFrame:1005/send=false", "close:closed/send=false"]);
		});

		it("the app closes (1000, on a command): the peer's answering Close is onCloseFrame, then onClose closed", async () => {
			const { socket, port } = await open("/echo");
			socket.send("close");
			expect((await closed(socket)).code).toBe(1000);
			expect(await events.sequence("ws", { port })).toEqual(["open", "message:5", "closeFrame:1000/send=false", "close:closed/send=false"]);
		});

		it("a streaming route: start, data, end per message, then the close", async () => {
			const { socket, port } = await open("/stream");
			socket.send("hello");
			const back = await nextMessage(socket);
			expect([back.binary, back.data.toString()]).toEqual([true, "hello"]);
			socket.close(1000);
			await closed(socket);
			expect(await events.sequence("stream", { port })).toEqual(["open", "start:5", "data:5", "end", "closeFrame:1000/send=false", "close:closed/send=false"]);
		});

		it("the client resets TCP (RST, no Close): onClose peer-closed, nothing before it", async () => {
			const { connection, port } = await raw("/echo");
			connection.socket.resetAndDestroy();
			expect(await events.sequence("ws", { port })).toEqual(["open", "close:peer-closed/send=false"]);
		});

		it("the client ends TCP (FIN) without a Close: onClose peer-closed", async () => {
			const { connection, port } = await raw("/echo");
			connection.socket.end();
			expect(await events.sequence("ws", { port })).toEqual(["open", "close:peer-closed/send=false"]);
			connection.destroy();
		});

		it("the client answers no ping: the heartbeat drops it, onClose timeout, no onPong", async () => {
			const connection = await mute(url("/echo"));
			const port = connection.socket.localPort!;
			try {
				expect(await events.sequence("ws", { port }, { pongs: true })).toEqual(["open", "close:timeout/send=false"]);
				expect(await closedByServer(connection, 5000)).toBe(true);
			} finally {
				connection.destroy();
			}
		});

		it("the client breaks the protocol (an unmasked frame): onProtocolError 1002, Close 1002 sent, onClose protocol-error", async () => {
			const { connection, port } = await raw("/echo");
			try {
				await connection.write(frame(Op.TEXT, "unmasked", { mask: false }));
				expect(await events.sequence("ws", { port })).toEqual(["open", "protocolError:1002/send=false", "close:protocol-error/send=false"]);
				await connection.waitFor(() => !!connection.serverClose, 5000);
				expect(connection.serverClose?.code).toBe(1002);
				expect(connection.events.filter(e => e.kind === "message")).toEqual([]);
			} finally {
				connection.destroy();
			}
		});

		it("a message over the route's maxMessage (256): onProtocolError 1009, onClose protocol-error", async () => {
			const { connection, port } = await raw("/echo");
			try {
				await connection.write(frame(Op.BINARY, Buffer.alloc(257)));
				expect(await events.sequence("ws", { port })).toEqual(["open", "protocolError:1009/send=false", "close:protocol-error/send=false"]);
				await connection.waitFor(() => !!connection.serverClose, 5000);
				expect(connection.serverClose?.code).toBe(1009);
			} finally {
				connection.destroy();
			}
		});

		it("a client beyond maxClients (2) is answered 503: no handler event for it", async () => {
			const clients = [await open("/echo"), await open("/echo")];
			const beyond = await RawConnection.connect(new URL(url("/echo")), 5000);
			const beyondPort = beyond.socket.localPort!;
			try {
				await beyond.write(Buffer.from(upgradeRequest(new URL(url("/echo")), newKey())));
				expect((await beyond.readHead(5000))?.status).toBe(503);
				expect(await closedByServer(beyond, 5000)).toBe(true);
			} finally {
				beyond.destroy();
			}
			for (const { socket } of clients) socket.close(1000);
			for (const { port } of clients) expect(await events.sequence("ws", { port })).toEqual(["open", "closeFrame:1000/send=false", "close:closed/send=false"]);
			expect(events.of("ws", { port: beyondPort })).toEqual([]);
		});

		it("a handshake not completed within handshakeTimeout: the socket is closed, no handler event", async () => {
			const connection = await RawConnection.connect(new URL(url("/echo")), 5000);
			const port = connection.socket.localPort!;
			try {
				expect(await closedByServer(connection, 10_000)).toBe(true);
			} finally {
				connection.destroy();
			}
			await events.read();
			expect(events.all.filter(e => e.peer.endsWith(`:${port}`))).toEqual([]);
		});

		it("the server stops (close()): Close 1001 to its client, whose answer is onCloseFrame 1001, then onClose closed", async () => {
			const { socket, port } = await open("/echo", "wsStop");
			await echo(socket, "hi");
			const ended = closed(socket);
			expect(await getJson(host, services.ws, "/stop")).toEqual({ stopped: true });
			expect((await ended).code).toBe(1001);
			expect(await events.sequence("ws-stop", { port })).toEqual(["open", "message:2", "closeFrame:1001/send=false", "close:closed/send=false"]);
		});
	});

	describe("TCP server: a connection's handler", () => {
		async function served(): Promise<{ socket: net.Socket; port: number }> {
			const socket = await connect({ host, port: services.tcp });
			socket.on("error", () => {});
			socket.write("hello");
			expect((await readBytes(socket, 5)).toString()).toBe("hello");
			return { socket, port: socket.localPort! };
		}

		it("the peer ends (FIN): onPeerEnd, then onClose peer-closed; a write inside onClose takes nothing", async () => {
			const { socket, port } = await served();
			socket.end();
			expect(await events.sequence("tcp", { port })).toEqual(["open:open", "peerEnd", "close:peer-closed/send=0"]);
			socket.destroy();
		});

		it("the peer resets (RST): onPeerEnd, then onClose peer-closed", async () => {
			const { socket, port } = await served();
			socket.resetAndDestroy();
			expect(await events.sequence("tcp", { port })).toEqual(["open:open", "peerEnd", "close:peer-closed/send=0"]);
		});

		it("nothing moves for idleTimeout: onClose idle, and the peer sees the end", async () => {
			const { socket, port } = await served();
			const end = new Promise<void>(resolve => socket.once("close", () => resolve()));
			expect(await events.sequence("tcp", { port })).toEqual(["open:open", "close:idle/send=0"]);
			await end;
		});

		it("the app closes (on a command): onClose local", async () => {
			const { socket, port } = await served();
			const end = new Promise<void>(resolve => socket.once("close", () => resolve()));
			socket.write("quit");
			expect(await events.sequence("tcp", { port })).toEqual(["open:open", "close:local/send=0"]);
			await end;
		});
	});

	it("UDP server: a datagram is handed to onDatagram once, with its sender", async () => {
		const socket = dgram.createSocket("udp4");
		try {
			await new Promise<void>(resolve => socket.bind(0, host.startsWith("127.") ? "127.0.0.1" : "0.0.0.0", () => resolve()));
			const back = new Promise<Buffer>(resolve => socket.once("message", data => resolve(data)));
			socket.send("ping", services.udp, host);
			expect((await back).toString()).toBe("ping");
			const port = socket.address().port;
			await events.until(() => events.of("udp", { port }).length > 0, "the datagram's event");
			expect(events.of("udp", { port }).map(e => `${e.event}:${e.detail}`)).toEqual(["datagram:4"]);
		} finally {
			socket.close();
		}
	});

	describe("WebSocket client: what its owner is told", () => {
		/** A `ws` server on the harness's side; `onConnection` plays the server's part. */
		async function peer(onConnection: (socket: WebSocket, request: { socket: net.Socket }) => void): Promise<{ port: number; close(): Promise<void> }> {
			const server = new WebSocketServer({ host: peerHost, port: 0 });
			await new Promise<void>(resolve => server.once("listening", () => resolve()));
			server.on("connection", (socket, request) => {
				socket.on("error", () => {});
				onConnection(socket, request);
			});
			return { port: (server.address() as net.AddressInfo).port, close: () => new Promise(resolve => server.close(() => resolve())) };
		}

		const connectClient = async (port: number) =>
			(await getJson<{ id: number }>(host, services.ws, `/ws-client?uri=${encodeURIComponent(`ws://${peerHost}:${port}/`)}`)).id;

		it("the server closes (1000): onConnected, onData, onClosed 1000", async () => {
			const server = await peer(socket =>
				socket.once("message", data => {
					socket.send(data);
					socket.close(1000, "bye");
				}),
			);
			try {
				const id = await connectClient(server.port);
				expect(await events.sequence("ws-client", { id })).toEqual(["connected", "data:5", "closed:1000"]);
			} finally {
				await server.close();
			}
		});

		it("the server resets TCP: onConnected, then onDisconnected", async () => {
			const server = await peer((socket, request) => socket.once("message", () => request.socket.resetAndDestroy()));
			try {
				const id = await connectClient(server.port);
				const sequence = await events.sequence("ws-client", { id });
				expect(sequence.map(e => e.split(":")[0])).toEqual(["connected", "disconnected"]);
			} finally {
				await server.close();
			}
		});

		it("the connection is refused: onError, then onDisconnected", async () => {
			const id = await connectClient(await freeTcpPort());
			const sequence = await events.sequence("ws-client", { id });
			expect(sequence.map(e => e.split(":")[0])).toEqual(["error", "disconnected"]);
		});
	});

	describe("TCP client: a connection's handler", () => {
		/** A TCP server on the harness's side: it sends "hi", reads the echo, then does `end` to the connection. */
		async function peer(end: (socket: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
			const server = net.createServer(socket => {
				socket.on("error", () => {});
				socket.write("hi");
				readBytes(socket, 2).then(
					() => end(socket),
					() => socket.destroy(),
				);
			});
			await new Promise<void>(resolve => server.listen(0, peerHost, () => resolve()));
			return { port: (server.address() as net.AddressInfo).port, close: () => new Promise(resolve => server.close(() => resolve())) };
		}

		const connectClient = async (port: number) => (await getJson<{ id: number }>(host, services.ws, `/tcp-client?host=${peerHost}&port=${port}`)).id;

		it("the server ends (FIN): made connecting, up, onPeerEnd, onClose peer-closed", async () => {
			const server = await peer(socket => socket.end());
			try {
				const id = await connectClient(server.port);
				expect(await events.sequence("tcp-client", { id })).toEqual(["open:connecting", "up", "peerEnd", "close:peer-closed/send=0"]);
			} finally {
				await server.close();
			}
		});

		it("the server resets (RST): onPeerEnd, onClose peer-closed", async () => {
			const server = await peer(socket => socket.resetAndDestroy());
			try {
				const id = await connectClient(server.port);
				expect(await events.sequence("tcp-client", { id })).toEqual(["open:connecting", "up", "peerEnd", "close:peer-closed/send=0"]);
			} finally {
				await server.close();
			}
		});

		it("the connection is refused: onClose connect-failed, never up", async () => {
			const id = await connectClient(await freeTcpPort());
			expect(await events.sequence("tcp-client", { id })).toEqual(["open:connecting", "close:connect-failed/send=0"]);
		});
	});

	it("afterwards: every connection ended once, its end its last event; nothing open; nothing dropped", async () => {
		const snapshot = await events.read();
		expect(events.dropped).toBe(0);
		expect(Object.entries(snapshot.open).filter(([, count]) => count !== 0)).toEqual([]);
		expect([snapshot.wsClients, snapshot.wsStopClients, snapshot.tcpServed, snapshot.tcpWaiting]).toEqual([0, 0, 0, 0]);
		expect(snapshot.routes, "connections the routes still keep").toEqual([0, 0, 0]);
		const connections = new Map<string, string[]>();
		for (const entry of events.all.filter(e => e.service !== "udp")) {
			const key = `${entry.service} ${entry.id}`;
			connections.set(key, [...(connections.get(key) ?? []), isEnd(entry) ? "end" : "event"]);
		}
		const broken = [...connections].filter(([, kinds]) => kinds.indexOf("end") !== kinds.length - 1 || kinds.filter(k => k === "end").length !== 1);
		expect(broken).toEqual([]);
		expect(connections.size).toBeGreaterThan(20);
	});
});
