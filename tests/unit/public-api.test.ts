// What a handler's connection offers is what an application may call: the
// library's plumbing is not on the public types. Checked by the type checker
// (`npm run typecheck` reads this file), with assertions that fail both ways:
// - a connection's internal member must be on the class the library uses
//   (WebSocketEndpoint, TcpEndpoint) and not on the interface handlers get
//   (WebSocketConnection, TcpConnection): renamed or gone, it fails the
//   first; made public, the second;
// - a server's or client's hook is a TypeScript `private` member: indexing
//   the class with its name fails once it is renamed or gone (private
//   members can be indexed in a type), and it must not be among the
//   class's public keys.

import type { TcpClient } from "tcp/client";
import { CloseCause } from "tcp/close-cause";
import type { TcpConnection, TcpEndpoint } from "tcp/connection";
import type { TcpServer } from "tcp/server";
import { describe, expect, it } from "vitest";
import type { WebSocketClient } from "websocket/client";
import type { WebSocketConnection, WebSocketEndpoint } from "websocket/connection";
import { MessageType, Opcode } from "websocket/constants";
import type { WebSocketServer } from "websocket/server";
import type { ProvisioningPortal } from "wifi/provisioning";

/** Compiles only for `true`. */
type Assert<T extends true> = T;
/** Whether every name in K is a public member of Class and none is on Public. */
type InternalOnly<Class, Public, K extends string> = [K] extends [keyof Class] ? ([Extract<K, keyof Public>] extends [never] ? true : false) : false;
/** Whether no name in K is a public member of T. */
type NotPublic<T, K extends string> = [Extract<K, keyof T>] extends [never] ? true : false;

export type WebSocketInternals = Assert<
	InternalOnly<
		WebSocketEndpoint,
		WebSocketConnection,
		| "received" // the handshake's input
		| "refuse" // the server's refusal
		| "deadline" // the connection's own timer
		| "sendRaw" // raw bytes past the framing
		| "respond" // a plain HTTP answer
		| "check" // the owner's dead-peer check
		| "destroy" // closing without the handshake
		| "abandon" // the heartbeat's drop
		| "marked" // the owner's mark
		| "onReadable" // the TCP connection's events
		| "connected" // TcpConnectionOwner
		| "closed" // TcpConnectionOwner
	>
>;

export type TcpInternals = Assert<
	InternalOnly<
		TcpEndpoint,
		TcpConnection,
		| "probe" // the owner's probe
		| "quiet" // the owner's check
		| "check" // the owner's sweep
		| "onReadable" // the platform's callbacks
		| "handler" // the delegates
		| "owner" // the delegates
	>
>;

/** Each a private hook the library calls: renamed or gone, the index fails. */
export type Hooks = [
	TcpServer["accept"],
	TcpServer["closed"],
	TcpServer["hooks"],
	TcpClient["connected"],
	TcpClient["closed"],
	TcpClient["hooks"],
	WebSocketServer["accept"],
	WebSocketServer["received"],
	WebSocketServer["closed"],
	WebSocketServer["hooks"],
	WebSocketClient["opened"],
	WebSocketClient["closed"],
	WebSocketClient["healthy"],
	WebSocketClient["message"],
	WebSocketClient["error"],
	WebSocketClient["drained"],
	WebSocketClient["events"],
	ProvisioningPortal["accept"],
	ProvisioningPortal["closed"],
	ProvisioningPortal["hooks"],
];
export type HooksNotPublic = [
	Assert<NotPublic<TcpServer, "accept" | "closed" | "hooks">>,
	Assert<NotPublic<TcpClient, "connected" | "closed" | "hooks">>,
	Assert<NotPublic<WebSocketServer, "accept" | "received" | "closed" | "hooks">>,
	Assert<NotPublic<WebSocketClient, "opened" | "closed" | "healthy" | "message" | "error" | "drained" | "events">>,
	Assert<NotPublic<ProvisioningPortal, "accept" | "closed" | "hooks">>,
];

/** What an application calls: each name must exist on the public type. */
export function publicCalls(
	ws: WebSocketConnection,
	tcp: TcpConnection,
	tcpServer: TcpServer,
	tcpClient: TcpClient,
	wsServer: WebSocketServer,
	wsClient: WebSocketClient,
): unknown[] {
	return [
		ws.close,
		ws.fail,
		ws.sendText,
		ws.sendPiece,
		ws.pause,
		ws.resume,
		tcp.read,
		tcp.write,
		tcp.close,
		tcp.peer,
		tcpServer.start,
		tcpServer.close,
		tcpClient.isConnected,
		wsServer.route,
		wsClient.sendText,
	];
}

describe("public API", () => {
	it("message types are named constants, the opcodes they are on the wire", () => {
		expect(MessageType).toEqual({ TEXT: Opcode.TEXT, BINARY: Opcode.BINARY });
	});

	it("end causes are a closed set of typed values", () => {
		expect(Object.isFrozen(CloseCause)).toBe(true);
		expect(new Set(Object.values(CloseCause)).size).toBe(Object.keys(CloseCause).length);
	});
});
