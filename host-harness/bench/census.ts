/*
 * What the device's libraries and app hold, read on a debug build through
 * xsbug: the harness's xsbug server makes the census list at the machine's
 * first line of JavaScript (censusStart, XsbugLogServerOptions.startProgram),
 * each server the app makes enrolls in it (modules/census), and a program
 * evaluated at a break (XsbugLogServer.evaluate) reads every server's
 * public getters and the log's follower. Nothing of it is on a board, and
 * nothing is open to a network: it needs the debugger's connection.
 */

import { compileProgram } from "../xsbug/compile.js";
import type { XsbugLogServer } from "../xsbug/log-server.js";

/** One WebSocket route: its connections (onOpen to onClose), the clients lagging behind its broadcasts, whether its handler follows the log. */
export interface RouteCensus {
	path: string;
	count: number;
	lagging: number;
	/** The log route's handler (app/ws-log): whether it follows the log (undefined for other handlers). */
	following?: boolean;
}

export interface ServerCensus {
	kind: "WebSocketServer" | "TcpServer" | "UdpServer" | string;
	port: number;
	/** WebSocketServer: sockets held, request heads being read, client slots taken, routes. */
	sockets?: number;
	handshakes?: number;
	clients?: number;
	routes?: RouteCensus[];
	/** TcpServer: connections served and waiting. */
	served?: number;
	waiting?: number;
}

export interface Census {
	servers: ServerCensus[];
	/** modules/log: whether a follower gets every line (followLog). */
	logFollowed: boolean;
}

/** The start program: the census list, before the app builds anything. */
export const censusStartSource = "globalThis.xsNetkitCensus = []; 0;\n";

/**
 * The reading program: a JSON string. Plain ES2015+ for XS; the names it
 * uses are few, so the keys it makes the first time (a machine's keys stay)
 * are few: read once before a baseline.
 */
export const censusReadSource = `(function () {
	const list = globalThis.xsNetkitCensus;
	if (!list)
		return "no census list: the start program did not run";
	const servers = list.map(server => {
		// Told apart by what each offers (a preloaded class keeps no name).
		const kind = "handshakes" in server ? "WebSocketServer" : "served" in server ? "TcpServer" : "received" in server ? "UdpServer" : "server";
		const entry = { kind, port: server.port };
		if (kind === "WebSocketServer") {
			entry.sockets = server.sockets;
			entry.handshakes = server.handshakes;
			entry.clients = server.clients;
			entry.routes = server.routes.map(route => {
				const handler = route.open.handler;
				const one = { path: route.path, count: route.count, lagging: route.lagging };
				if (handler && "following" in handler)
					one.following = handler.following !== undefined;
				return one;
			});
		}
		else if (kind === "TcpServer") {
			entry.served = server.served;
			entry.waiting = server.waiting;
		}
		return entry;
	});
	return JSON.stringify({ servers, logFollowed: globalThis.xsNetkitLogFollower !== undefined });
})();
`;

let compiled: { start: Uint8Array; read: Uint8Array } | undefined;

/** The two programs, compiled once per process (xsc). */
export function censusPrograms(): { start: Uint8Array; read: Uint8Array } {
	compiled ??= { start: compileProgram(censusStartSource), read: compileProgram(censusReadSource) };
	return compiled;
}

/** Read the census of a machine whose xsbug server ran censusPrograms().start at its start. */
export async function readCensus(server: XsbugLogServer, machine?: string): Promise<Census> {
	const result = await server.evaluate(censusPrograms().read, machine, 20_000);
	if (!result.ok) throw new Error(`the census program threw: ${result.exception}`);
	if (!result.value.startsWith("{")) throw new Error(`the census program answered: ${result.value}`);
	return JSON.parse(result.value) as Census;
}

/** What the census holds beyond an idle app's nothing: one line per set, map or follower not empty. */
export function heldBeyondIdle(census: Census): string[] {
	const held: string[] = [];
	for (const s of census.servers) {
		const name = `${s.kind} :${s.port}`;
		for (const key of ["sockets", "handshakes", "clients", "served", "waiting"] as const) {
			const value = s[key];
			if (value !== undefined && value !== 0) held.push(`${name} ${key} ${value}`);
		}
		for (const route of s.routes ?? []) {
			if (route.count) held.push(`${name} route ${route.path} count ${route.count}`);
			if (route.lagging) held.push(`${name} route ${route.path} lagging ${route.lagging}`);
			if (route.following) held.push(`${name} route ${route.path} still following the log`);
		}
	}
	if (census.logFollowed) held.push("modules/log still has a follower (followLog)");
	return held;
}

/** One line: "ws :8081 sockets 0 handshakes 0 clients 0, /ws 0, /log 0 …; tcp :8080 served 0 waiting 0; log not followed". */
export function formatCensus(census: Census): string {
	const parts = census.servers.map(s => {
		if (s.kind === "WebSocketServer")
			return `WebSocketServer :${s.port} sockets ${s.sockets} handshakes ${s.handshakes} clients ${s.clients}, routes ${(s.routes ?? []).map(r => `${r.path} ${r.count}${r.lagging ? ` (${r.lagging} lagging)` : ""}${r.following ? " following" : ""}`).join(", ")}`;
		if (s.kind === "TcpServer") return `TcpServer :${s.port} served ${s.served} waiting ${s.waiting}`;
		return `${s.kind} :${s.port}`;
	});
	parts.push(census.logFollowed ? "log followed" : "log not followed");
	return parts.join("; ");
}
