/*
 * Measurements on the lwip target (the simulator over lwIP configured as the
 * esp32 build, host-harness/device/lwip.ts), for docs/platform-lwip.md. Each
 * starts its own device in a network namespace of its own, drives it from
 * the link's host end as a board is driven, and prints what it saw beside
 * lwIP's own statistics (a SIGUSR2 to the device prints them).
 *
 *   node build/node/host-harness/lwip/measure.js pcbs       connections maxClients+1 … 12, held open
 *   node build/node/host-harness/lwip/measure.js flood      maxClients+50 at once, then a fresh client
 *   node build/node/host-harness/lwip/measure.js timewait   1,000 short connections in a row, TCP and WebSocket
 *   node build/node/host-harness/lwip/measure.js burst      50 abrupt ends, then 8 at once beyond capacity, then a fresh client (15 rounds)
 *   node build/node/host-harness/lwip/measure.js clients    the device's own clients while its servers are full
 *   node build/node/host-harness/lwip/measure.js halfclose  bytes echoed after the peer's FIN, 0 B to 1 MiB
 *   node build/node/host-harness/lwip/measure.js memory     lwIP's pools and heap per idle connection
 */

import type * as net from "node:net";
import WebSocket from "ws";
import { type LanDevice, startLanDevice } from "../device/lan.js";
import { lwipStats } from "../device/lwip.js";
import { halfClose, reset, tryConnect, vanish } from "../faults/tcp.js";
import { createLink } from "../lib/netns.js";
import { freshTcpClientServed } from "../oracle/health.js";
import { echoOnce, randomPayload } from "../oracle/tcp-echo.js";
import { TcpPeer } from "../peers/tcp-peer.js";
import { WsPeer } from "../peers/ws-peer.js";

type Stats = Record<string, Record<string, number>>;

function sleep(ms: number): Promise<void> {
	return new Promise(resolve => setTimeout(resolve, ms));
}

/** The pools that hold connections, as "used/max (err)". */
function pools(stats: Stats): string {
	const pool = (name: string) => {
		const p = stats[`MEM ${name}`];
		return p ? `${name} ${p.used}/${p.avail} max ${p.max}${p.err ? ` err ${p.err}` : ""}` : "";
	};
	const heap = stats["MEM HEAP"];
	const states = Object.entries(stats["TCP STATES"] ?? {})
		.filter(([, count]) => count)
		.map(([state, count]) => `${state} ${count}`)
		.join(" ");
	return [
		pool("TCP_PCB"),
		states && `(${states})`,
		pool("TCP_PCB_LISTEN"),
		pool("TCP_SEG"),
		pool("PBUF_POOL"),
		heap ? `heap ${heap.used} B max ${heap.max} B` : "",
	]
		.filter(Boolean)
		.join(", ");
}

/** A TCP client of the echo server: did it connect, was it echoed within `ms`, did the device close it. */
async function probeTcp(device: LanDevice, ms = 1500): Promise<{ socket?: net.Socket; outcome: string }> {
	const socket = await tryConnect(device.endpoints.tcp!, 3000);
	if (!socket) return { outcome: "no connection within 3 s (SYN unanswered or refused)" };
	let closed = "";
	socket.on("error", e => {
		closed ||= `error ${(e as NodeJS.ErrnoException).code}`;
	});
	socket.on("close", () => {
		closed ||= "closed by the device";
	});
	const echoed = await new Promise<boolean>(resolve => {
		const timer = setTimeout(() => resolve(false), ms);
		socket.once("data", () => {
			clearTimeout(timer);
			resolve(true);
		});
		socket.write("probe");
	});
	await sleep(50);
	return { socket, outcome: closed ? `connected, ${closed}` : echoed ? "connected, echoed" : `connected, not echoed within ${ms} ms (waiting)` };
}

async function withDevice<T>(config: Record<string, string>, work: (device: LanDevice) => Promise<T>, link = createLink()): Promise<T> {
	const device = await startLanDevice("lwip", config, { link });
	try {
		return await work(device);
	} finally {
		await device.stop();
	}
}

const measures: Record<string, () => Promise<void>> = {
	async pcbs() {
		await withDevice({}, async device => {
			console.log(`idle: ${pools(await lwipStats(device.running.process))}`);
			const held: net.Socket[] = [];
			for (let n = 1; n <= 12; n++) {
				const { socket, outcome } = await probeTcp(device);
				if (socket) held.push(socket);
				console.log(`TCP client ${n}: ${outcome}; ${pools(await lwipStats(device.running.process))}`);
			}
			for (const socket of held) socket.destroy();
			await sleep(500);
			const fresh = await probeTcp(device);
			fresh.socket?.destroy();
			console.log(`after all ${held.length} closed: a fresh client ${fresh.outcome}; ${pools(await lwipStats(device.running.process))}`);
		});
	},

	async flood() {
		await withDevice({}, async device => {
			const count = 2 + 1 + 50;
			const t0 = Date.now();
			const sockets = await Promise.all(Array.from({ length: count }, () => tryConnect(device.endpoints.tcp!, 5000)));
			const connected = sockets.filter(Boolean) as net.Socket[];
			const ended = new Set<net.Socket>(connected.filter(socket => socket.destroyed || socket.readableEnded));
			for (const socket of connected) {
				socket.on("error", () => ended.add(socket));
				socket.on("close", () => ended.add(socket));
				socket.write("flood");
			}
			await sleep(2000);
			console.log(
				`flood of ${count}: ${connected.length} connected within 5 s (${Date.now() - t0} ms), ${connected.length - ended.size} still open after 2 s, ${ended.size} closed or reset by the device, ${count - connected.length} never connected; ${pools(await lwipStats(device.running.process))}`,
			);
			for (const socket of connected) socket.destroy();
			for (let attempt = 1; attempt <= 10; attempt++) {
				await sleep(500);
				try {
					await echoOnce(device.endpoints.tcp!, randomPayload(3000), 3000);
					console.log(`a fresh client served ${attempt * 500} ms after the flood ended; ${pools(await lwipStats(device.running.process))}`);
					return;
				} catch {
					// not yet
				}
			}
			console.log("no fresh client served within 5 s of the flood's end");
		});
	},

	async timewait() {
		await withDevice({}, async device => {
			let ok = 0,
				failed = 0;
			const t0 = Date.now();
			for (let i = 0; i < 1000; i++) {
				try {
					await echoOnce(device.endpoints.tcp!, randomPayload(64), 3000);
					ok++;
				} catch {
					failed++;
				}
			}
			console.log(
				`1000 TCP echo connections in a row (the harness closes first: TIME_WAIT on the harness): ${ok} served, ${failed} failed, ${Date.now() - t0} ms; ${pools(await lwipStats(device.running.process))}`,
			);
			ok = 0;
			failed = 0;
			const t1 = Date.now();
			const failures: string[] = [];
			for (let i = 0; i < 1000; i++) {
				try {
					const ws = new WebSocket(device.endpoints.ws!);
					await new Promise<void>((resolve, reject) => {
						const timer = setTimeout(() => reject(new Error("no echo within 3 s")), 3000);
						ws.once("open", () => ws.send("x"));
						ws.once("message", () => ws.close(1000));
						ws.once("close", () => {
							clearTimeout(timer);
							resolve();
						});
						ws.once("error", e => {
							clearTimeout(timer);
							reject(e);
						});
					});
					ok++;
				} catch (e) {
					failed++;
					if (failures.length < 3) failures.push((e as Error).message);
				}
			}
			console.log(
				`1000 WebSocket connections in a row (echo, close 1000; the device closes TCP first: TIME_WAIT on the device): ${ok} served, ${failed} failed${failures.length ? ` (${failures.join("; ")})` : ""}, ${Date.now() - t1} ms; ${pools(await lwipStats(device.running.process))}`,
			);
		});
	},

	async burst() {
		await withDevice({}, async device => {
			const tcp = device.endpoints.tcp!;
			const endings = [
				() => reset(tcp, 1000, 0),
				() => vanish(tcp, 20_000, 0),
				() => halfClose(tcp, 700, 5000).then(() => undefined),
				() => echoOnce(tcp, randomPayload(300), 5000).then(() => undefined),
			];
			// Rounds 11 to 15: the 8 say nothing and close after 500 ms, so the device closes the 5 beyond capacity first (TIME_WAIT on the device).
			const silentEight = async () => {
				const sockets = await Promise.all(Array.from({ length: 8 }, () => tryConnect(tcp, 3000)));
				await sleep(500);
				for (const socket of sockets) socket?.destroy();
			};
			for (let round = 1; round <= 15; round++) {
				for (let i = 0; i < 50; i++) await endings[i % 4]();
				if (round <= 10) await Promise.all(Array.from({ length: 8 }, () => vanish(tcp, 20_000, 0)));
				else await silentEight();
				let outcome: string;
				try {
					outcome = `served after ${await freshTcpClientServed(device.endpoints, { withinMs: 10_000 })} ms`;
				} catch (e) {
					outcome = (e as Error).message;
				}
				console.log(
					`round ${round}: 50 abrupt ends, then 8 at once ${round <= 10 ? "that leave their echo unread" : "that say nothing"}: a fresh client ${outcome}; ${pools(await lwipStats(device.running.process))}`,
				);
			}
		});
	},

	async clients() {
		const link = createLink();
		const tcpPeer = await TcpPeer.start(0, link.hostAddress);
		const wsPeer = await WsPeer.start(0, link.hostAddress);
		try {
			// The servers full first (2 TCP + 1 waiting, 4 WebSocket), then the clients start (their first retry after 5 s).
			await withDevice(
				{
					tcpClient: "true",
					tcpClientHost: link.hostAddress,
					tcpClientPort: String(tcpPeer.port),
					tcpClientRetryDelay: "5000",
					tcpClientRetryMaxDelay: "5000",
					wsClient: "true",
					wsClientUri: `ws://${link.hostAddress}:${wsPeer.port}/`,
					wsClientHelloCount: "100000",
					wsClientHelloInterval: "500",
					wsClientRetryDelay: "5000",
					wsClientRetryMaxDelay: "5000",
				},
				async device => {
					await sleep(1500);
					console.log(
						`clients alone: TCP client sessions ${tcpPeer.sessions.length}, WebSocket client sessions ${wsPeer.sessions.length}; ${pools(await lwipStats(device.running.process))}`,
					);
					const held: (net.Socket | WebSocket)[] = [];
					for (let n = 0; n < 3; n++) {
						const { socket } = await probeTcp(device, 500);
						if (socket) held.push(socket);
					}
					for (let n = 0; n < 4; n++) {
						const ws = new WebSocket(device.endpoints.ws!);
						ws.on("error", () => {});
						await new Promise(resolve => {
							ws.once("open", resolve);
							ws.once("error", resolve);
							setTimeout(resolve, 3000);
						});
						held.push(ws);
					}
					console.log(`servers full (3 TCP, 4 WebSocket clients of the device): ${pools(await lwipStats(device.running.process))}`);
					// Make the device's clients reconnect: drop their sessions.
					const tcpBefore = tcpPeer.sessions.length,
						wsBefore = wsPeer.sessions.length;
					for (const session of tcpPeer.sessions) session.close();
					for (const session of wsPeer.sessions) session.socket.terminate();
					await sleep(12_000);
					const tail = device.running.process.log
						.slice(-400)
						.map(l => l.raw)
						.filter(l => /tcp-client|ws-client/.test(l) && /fail|error|no socket|Reconnect|refused/i.test(l))
						.slice(-6);
					console.log(
						`after the device's clients were dropped, with the servers full, for 12 s: TCP client sessions ${tcpPeer.sessions.length - tcpBefore} new, WebSocket client sessions ${wsPeer.sessions.length - wsBefore} new; device alive: ${!device.running.process.exited}; ${pools(await lwipStats(device.running.process))}`,
					);
					for (const line of tail) console.log(`  device: ${line}`);
					for (const socket of held) socket instanceof WebSocket ? socket.terminate() : socket.destroy();
				},
				link,
			);
		} finally {
			await tcpPeer.close();
			await wsPeer.close();
			link.remove();
		}
	},

	async halfclose() {
		await withDevice({}, async device => {
			const sizes = [0, 1, 100, 1000, 1436, 4096, 8192, 10_000, 16_384, 50_000, 65_536, 262_144, 1_048_576];
			for (const size of sizes) {
				const results: string[] = [];
				for (let trial = 0; trial < 3; trial++) {
					const { received, closed } = await halfClose(device.endpoints.tcp!, size, 10_000);
					results.push(`${received.length}${closed ? "" : " (not closed)"}`);
					await sleep(200);
				}
				console.log(`half-close after ${size} B: echoed ${results.join(", ")} B`);
			}
		});
	},

	async memory() {
		await withDevice({ tcpIdleTimeout: "600000" }, async device => {
			const before = await lwipStats(device.running.process);
			console.log(`idle: ${pools(before)}`);
			const sockets: net.Socket[] = [];
			for (let n = 0; n < 2; n++) {
				const { socket } = await probeTcp(device);
				if (socket) sockets.push(socket);
			}
			const tcp = await lwipStats(device.running.process);
			console.log(`2 idle TCP echo clients (each echoed once): ${pools(tcp)}`);
			const ws: WebSocket[] = [];
			for (let n = 0; n < 4; n++) {
				const socket = new WebSocket(device.endpoints.ws!);
				await new Promise(resolve => {
					socket.once("open", resolve);
					socket.once("error", resolve);
				});
				ws.push(socket);
			}
			await sleep(300);
			console.log(`plus 4 idle WebSocket clients: ${pools(await lwipStats(device.running.process))}`);
			// A connection whose echo is backed up: the peer does not read.
			const stalled = await tryConnect(device.endpoints.tcp!);
			void stalled;
			for (const socket of sockets) socket.destroy();
			for (const socket of ws) socket.terminate();
		});
	},
};

const name = process.argv[2] ?? "";
const measure = measures[name];
if (!measure) {
	process.stderr.write(`usage: node build/node/host-harness/lwip/measure.js ${Object.keys(measures).join("|")}\n`);
	process.exit(2);
}
await measure();
process.exit(0);
