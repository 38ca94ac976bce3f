/*
 * The churn's WebSocket cases: each route ended each way a client or the
 * server ends it (Close 1000, Close without a code, reset, FIN without a
 * Close, 1002, 1009, heartbeat loss, a Close left unanswered), the relay
 * and slow consumers of the broadcast, the echo's commands, the handshake
 * timeout, refusal at capacity (503) and beyond the spare sockets.
 */

import { randomBytes } from "node:crypto";
import { newKey, upgradeRequest } from "../conformance/client.js";
import { frame, Op } from "../conformance/frames.js";
import { type ChurnCase, type ChurnTarget, sleep, WAIT } from "./churn-case.js";
import {
	closeWith1000,
	exercise,
	openQuiet,
	type Route,
	rawMessage,
	rawOpen,
	serverClosedTcp,
	serviceOf,
	silentWs,
	statusOf,
	Watched,
	type WsClient,
	wsSockets,
	wsUrl,
} from "./churn-clients.js";

export function closeFromClient(route: Route): ChurnCase {
	return {
		service: serviceOf[route],
		end: "Close 1000 from the client",
		server: "ws",
		connections: 1,
		weight: 6,
		async run(target) {
			const client = await openQuiet(wsUrl(target, target.paths[route]));
			await exercise(route, client);
			await closeWith1000(client);
			return [client.port];
		},
	};
}

export function closeWithoutCode(route: Route): ChurnCase {
	return {
		service: serviceOf[route],
		end: "Close without a code",
		server: "ws",
		connections: 1,
		weight: 3,
		async run(target) {
			const c = await rawOpen(target, target.paths[route]);
			await c.write(rawMessage());
			c.sendClose();
			await serverClosedTcp(c, "after a Close without a code");
			if (!c.serverClose) throw new Error("the device closed TCP without answering the Close");
			if (c.serverClose.code !== undefined && c.serverClose.code !== 1000) throw new Error(`a Close without a code answered with ${c.serverClose.code}`);
			return [c.port];
		},
	};
}

export function resetByClient(route: Route): ChurnCase {
	return {
		service: serviceOf[route],
		end: route === "echo" ? "reset (RST) mid-frame" : "reset (RST)",
		server: "ws",
		connections: 1,
		weight: 3,
		async run(target) {
			const c = await rawOpen(target, target.paths[route]);
			const port = c.port;
			if (route === "echo") {
				// Part of a 16 KiB frame, part of its echo seen, then the reset.
				const whole = frame(Op.BINARY, randomBytes(16 * 1024));
				let received = 0;
				c.socket.on("data", (chunk: Buffer) => {
					received += chunk.length;
				});
				c.socket.write(whole.subarray(0, 8 + 2048));
				await c.waitFor(() => received > 0, WAIT);
			} else await c.write(rawMessage());
			c.socket.resetAndDestroy();
			return [port];
		},
	};
}

export function finWithoutClose(route: Route): ChurnCase {
	return {
		service: serviceOf[route],
		end: "FIN without a Close",
		server: "ws",
		connections: 1,
		weight: 3,
		async run(target) {
			const c = await rawOpen(target, target.paths[route]);
			await c.write(rawMessage());
			c.socket.end();
			await serverClosedTcp(c, "after the client's FIN");
			return [c.port];
		},
	};
}

export function unmaskedFrame(route: Route): ChurnCase {
	return {
		service: serviceOf[route],
		end: "unmasked frame (1002)",
		server: "ws",
		connections: 1,
		weight: 3,
		async run(target) {
			const c = await rawOpen(target, target.paths[route]);
			await c.write(frame(Op.TEXT, "unmasked", { mask: false }));
			await serverClosedTcp(c, "after an unmasked frame");
			if (c.serverClose?.code !== 1002) throw new Error(`an unmasked frame ended with ${c.serverClose ? `Close ${c.serverClose.code}` : "no Close"}, not 1002`);
			return [c.port];
		},
	};
}

export function tooBig(route: Route, size: number): ChurnCase {
	return {
		service: serviceOf[route],
		end: "message too big (1009)",
		server: "ws",
		connections: 1,
		weight: 3,
		async run(target) {
			const c = await rawOpen(target, target.paths[route]);
			await c.write(frame(Op.BINARY, randomBytes(size)));
			await serverClosedTcp(c, `after a ${size}-byte message`);
			if (c.serverClose?.code !== 1009)
				throw new Error(`a ${size}-byte message ended with ${c.serverClose ? `Close ${c.serverClose.code}` : "no Close"}, not 1009`);
			return [c.port];
		},
	};
}

export function heartbeatLoss(route: Route): ChurnCase {
	return {
		service: serviceOf[route],
		end: "heartbeat loss (never pongs)",
		server: "ws",
		connections: 1,
		weight: 0.4,
		async run(target) {
			const client = await silentWs(target, target.paths[route]);
			// Dropped at the second beat after the first unanswered ping: at most two heartbeats and a sweep.
			await client.until(() => client.closed, "the device dropping a client that never pongs", 4 * target.heartbeat + WAIT);
			return [client.port];
		},
	};
}

export function closeUnanswered(route: Route): ChurnCase {
	return {
		service: serviceOf[route],
		end: "server-side Close never answered (closeTimeout)",
		server: "ws",
		connections: 1,
		weight: 0.4,
		async run(target) {
			const client = await silentWs(target, target.paths[route]);
			client.socket.write(frame(Op.TEXT, "unmasked", { mask: false }));
			// The device sends Close 1002 and waits closeTimeout for one back that never comes.
			await client.until(() => client.closed, "the device giving up on an unanswered Close", 2 * target.closeTimeout + WAIT);
			const close = Buffer.from([0x88]);
			if (!client.received.includes(close)) throw new Error("the device closed TCP without a Close frame first");
			return [client.port];
		},
	};
}

/** The broadcast's own end: two clients, one message relayed from one to the other, both leave. */
export function relayed(): ChurnCase {
	return {
		service: "broadcast route",
		end: "a message relayed, both Close 1000",
		server: "ws",
		connections: 2,
		weight: 4,
		async run(target) {
			const url = wsUrl(target, target.paths.broadcast);
			const a = await openQuiet(url);
			const b = await openQuiet(url).catch(e => {
				a.ws.terminate();
				throw e;
			});
			const message = randomBytes(48);
			a.ws.send(message);
			// Other clients of the route may be broadcasting too: this one among what b gets.
			for (;;) {
				if ((await b.next()).equals(message)) break;
			}
			await Promise.all([closeWith1000(a), closeWith1000(b)]);
			return [a.port, b.port];
		},
	};
}

/**
 * Clients that stop reading while the broadcast route relays a flood: the
 * broadcast's reader lags (remembered in the route's lags) until it is
 * dropped with 1008 "too slow"; the log route's follower, which gets a line
 * per message relayed, lags too once its buffers are full (its lines
 * skipped, never dropped), until it resets. Alone on the server: the flood
 * would reach every other broadcast client.
 */
export function slowConsumers(): ChurnCase {
	return {
		service: "broadcast route",
		end: "stopped reading: dropped 1008 too slow; a log follower stopped reading too, then reset",
		server: "ws",
		exclusive: true,
		connections: 3,
		weight: 0.3,
		async run(target) {
			const slow = await silentWs(target, target.paths.broadcast);
			const follower = await silentWs(target, target.paths.log);
			slow.socket.pause();
			follower.socket.pause();
			const sender = await openQuiet(wsUrl(target, target.paths.broadcast));
			const payload = randomBytes(1000);
			let dropped = false;
			const drop = target.deviceLogged(new RegExp(`Route ${target.paths.broadcast}: [\\d.]+:${slow.port} took no message for \\d+ ms`), 60_000).finally(() => {
				dropped = true;
			});
			try {
				while (!dropped) {
					if (sender.ws.bufferedAmount < 8192) sender.ws.send(payload);
					await sleep(5);
				}
				await drop;
			} finally {
				slow.socket.destroy();
				follower.socket.resetAndDestroy();
				await closeWith1000(sender).catch(() => sender.ws.terminate());
			}
			return [slow.port, follower.port, sender.port];
		},
	};
}

/** The echo's commands: "Trigger async" (data from a timer, after the Close may have come) and "Ping". */
export function commandsThenClose(): ChurnCase {
	return {
		service: "echo route",
		end: "Trigger async and Ping, then Close 1000",
		server: "ws",
		connections: 1,
		weight: 2,
		async run(target) {
			const client = await openQuiet(wsUrl(target, target.paths.echo));
			const pinged = new Promise<void>(resolve => client.ws.once("ping", () => resolve()));
			client.ws.send("Ping");
			await pinged;
			client.ws.send("Trigger async");
			await closeWith1000(client);
			return [client.port];
		},
	};
}

/** A socket that says nothing: the handshake timeout closes it. */
export function handshakeTimeout(): ChurnCase {
	return {
		service: "echo route",
		end: "handshake timeout",
		server: "ws",
		connections: 1,
		weight: 0.5,
		async run(target) {
			const client = await Watched.connect({ host: target.host, port: target.wsPort });
			client.socket.write(`GET ${target.paths.echo} HTTP/1.1\r\nHost: device\r\n`); // a head that never ends
			await client.until(() => client.closed, "the handshake timeout", 2 * target.handshakeTimeout + WAIT);
			return [client.port];
		},
	};
}

/** maxClients clients on the routes, then one more: 503. */
export function refusedAtCapacity(): ChurnCase {
	return {
		service: "echo route",
		end: "refused at capacity (503)",
		server: "ws",
		exclusive: true,
		connections: 5,
		weight: 0.5,
		async run(target) {
			const held = await holdClients(target);
			try {
				const extra = await Watched.connect({ host: target.host, port: target.wsPort });
				extra.socket.write(upgradeRequest(new URL(wsUrl(target, target.paths.echo)), newKey()));
				await extra.until(() => extra.closed, "the answer to a client beyond maxClients");
				if (statusOf(extra.received) !== 503) throw new Error(`a client beyond maxClients got ${statusOf(extra.received) || "no answer"}, not 503`);
				return [...held.map(c => c.port), extra.port];
			} finally {
				await Promise.all(held.map(c => closeWith1000(c).catch(() => c.ws.terminate())));
			}
		},
	};
}

/** maxClients clients and both spare sockets taken: one more is closed unanswered; the spares are then answered 503. */
export function beyondSpareSockets(): ChurnCase {
	return {
		service: "echo route",
		end: "beyond the spare sockets (closed unanswered), spares answered 503",
		server: "ws",
		exclusive: true,
		connections: 7,
		weight: 0.5,
		async run(target) {
			const held = await holdClients(target);
			const spares: Watched[] = [];
			try {
				const endpoint = { host: target.host, port: target.wsPort };
				for (let i = 0; i < 2; i++) spares.push(await Watched.connect(endpoint));
				// Both spares accepted (the server logs no accept: its census says) before the next one arrives.
				for (let deadline = Date.now() + WAIT; (await wsSockets(target)) < held.length + spares.length; ) {
					if (Date.now() > deadline) throw new Error("the spare sockets were not accepted");
					await sleep(50);
				}
				const beyond = await Watched.connect(endpoint);
				await target.deviceLetGo(beyond.port);
				await beyond.until(() => beyond.closed, "a connection beyond the spare sockets being closed");
				if (beyond.received.length) throw new Error(`a connection beyond the spare sockets was answered (${beyond.received.length} bytes)`);
				for (const spare of spares) spare.socket.write(upgradeRequest(new URL(wsUrl(target, target.paths.echo)), newKey()));
				for (const spare of spares) {
					await spare.until(() => spare.closed, "the answer to a spare socket");
					if (statusOf(spare.received) !== 503) throw new Error(`a spare socket got ${statusOf(spare.received) || "no answer"}, not 503`);
				}
				return [...held.map(c => c.port), ...spares.map(s => s.port), beyond.port];
			} finally {
				for (const spare of spares) spare.socket.destroy();
				await Promise.all(held.map(c => closeWith1000(c).catch(() => c.ws.terminate())));
			}
		},
	};
}

/** maxClients `ws` clients across the routes, each through its route's exchange. */
async function holdClients(target: ChurnTarget): Promise<WsClient[]> {
	const routes: Route[] = ["echo", "broadcast", "log", "echo"];
	const held: WsClient[] = [];
	try {
		for (let i = 0; i < target.wsMaxClients; i++) {
			const route = routes[i % routes.length];
			const client = await openQuiet(wsUrl(target, target.paths[route]));
			held.push(client);
			if (route !== "broadcast") await exercise(route, client);
		}
	} catch (e) {
		// Closed, and logged closed, before the run gives its sockets back.
		await Promise.all(held.map(c => closeWith1000(c).catch(() => c.ws.terminate())));
		throw e;
	}
	return held;
}

/* ----------------------------------------------------------- the page */
