/*
 * The reference peers the device is measured against, in the same run and
 * with the same workloads: the plainest echo servers Node can run.
 *
 *   tcp  node:net server, each connection piped into itself (back-pressure
 *        and all, Nagle left on as Node leaves it)
 *   udp  node:dgram socket, each datagram sent back to its sender
 *   ws   `ws` WebSocketServer on /ws, each message sent back as it came
 *        (binary stays binary), no compression
 *
 * They listen on 127.0.0.1 with kernel-chosen ports, in a worker thread of
 * this process: in-process, but with an event loop of their own, as the
 * Node-hosted device has a process of its own; on the benchmark's own
 * loop they would compete with the clients that measure them. The worker's
 * code is the plain JavaScript below (a worker cannot load this TypeScript
 * file under vitest); stopping the worker closes every socket it holds.
 */

import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { Endpoint } from "../device/targets.js";

export type Protocol = "tcp" | "udp" | "ws";

export interface ReferenceServers {
	tcp?: Endpoint;
	udp?: Endpoint;
	ws?: string;
	/** One line saying what the reference is, for reports. */
	describe(protocol: Protocol): string;
	close(): Promise<void>;
}

const host = "127.0.0.1";

export const referenceDescriptions: Record<Protocol, string> = {
	tcp: "Node net echo server (socket.pipe(socket)), worker thread, loopback",
	udp: "Node dgram echo socket, worker thread, loopback",
	ws: "ws WebSocketServer echo (no compression), worker thread, loopback",
};

const workerSource = `
const { parentPort, workerData } = require("node:worker_threads");
const net = require("node:net");
const dgram = require("node:dgram");
const host = workerData.host;

function listenTcp() {
	return new Promise((resolve, reject) => {
		const server = net.createServer(socket => {
			socket.on("error", () => socket.destroy());
			socket.pipe(socket);
		});
		server.once("error", reject);
		server.listen(0, host, () => resolve(server.address().port));
	});
}

function bindUdp() {
	return new Promise((resolve, reject) => {
		const socket = dgram.createSocket("udp4");
		socket.on("message", (message, from) => socket.send(message, from.port, from.address));
		socket.once("error", reject);
		socket.bind(0, host, () => {
			socket.on("error", () => {});
			resolve(socket.address().port);
		});
	});
}

function listenWs() {
	const { WebSocketServer } = require(workerData.wsModule);
	return new Promise((resolve, reject) => {
		const server = new WebSocketServer({ host, port: 0, path: "/ws", perMessageDeflate: false, clientTracking: false });
		server.on("connection", ws => {
			ws.on("error", () => ws.terminate());
			ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
		});
		server.once("error", reject);
		server.once("listening", () => resolve(server.address().port));
	});
}

(async () => {
	const ports = {};
	if (workerData.protocols.includes("tcp"))
		ports.tcp = await listenTcp();
	if (workerData.protocols.includes("udp"))
		ports.udp = await bindUdp();
	if (workerData.protocols.includes("ws"))
		ports.ws = await listenWs();
	parentPort.postMessage({ ports });
})().catch(e => parentPort.postMessage({ error: String(e && e.stack || e) }));
`;

/** Start the reference servers for these protocols; close() stops them all. */
export async function startReference(protocols: readonly Protocol[]): Promise<ReferenceServers> {
	const wsModule = createRequire(import.meta.url).resolve("ws");
	const worker = new Worker(workerSource, { eval: true, workerData: { host, protocols: [...protocols], wsModule } });
	let closed = false;
	const close = async () => {
		if (!closed) {
			closed = true;
			await worker.terminate();
		}
	};
	try {
		const ports = await new Promise<Partial<Record<Protocol, number>>>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error("the reference servers did not start within 10 s")), 10_000);
			worker.once("message", (message: { ports?: Partial<Record<Protocol, number>>; error?: string }) => {
				clearTimeout(timer);
				if (message.ports) resolve(message.ports);
				else reject(new Error(`the reference servers failed to start: ${message.error}`));
			});
			worker.once("error", e => {
				clearTimeout(timer);
				reject(e);
			});
			worker.once("exit", code => {
				clearTimeout(timer);
				reject(new Error(`the reference servers' worker exited (${code}) before they were up`));
			});
		});
		worker.unref(); // never the reason the process stays alive
		return {
			tcp: ports.tcp === undefined ? undefined : { host, port: ports.tcp },
			udp: ports.udp === undefined ? undefined : { host, port: ports.udp },
			ws: ports.ws === undefined ? undefined : `ws://${host}:${ports.ws}/ws`,
			describe: protocol => referenceDescriptions[protocol],
			close,
		};
	} catch (e) {
		await close();
		throw e;
	}
}
