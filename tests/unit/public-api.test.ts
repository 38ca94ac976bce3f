// What a handler's connection offers is what an application may call: the
// library's plumbing is not on the public types. Checked by the type checker
// (`npm run typecheck` reads this file): each @ts-expect-error below fails
// the check as soon as the member it names becomes public again.
import { describe, expect, it } from "vitest";
import type { TcpConnection } from "tcp/connection";
import type { WebSocketConnection } from "websocket/connection";
import { MessageType, Opcode } from "websocket/constants";
import { CloseCause } from "tcp/close-cause";
import type { TcpServer } from "tcp/server";
import type { TcpClient } from "tcp/client";
import type { WebSocketServer } from "websocket/server";
import type { WebSocketClient } from "websocket/client";

export function webSocketInternals(connection: WebSocketConnection): unknown[] {
	return [
		// @ts-expect-error the handshake's input
		connection.received,
		// @ts-expect-error the server's refusal
		connection.refuse,
		// @ts-expect-error the connection's own timer
		connection.deadline,
		// @ts-expect-error raw bytes past the framing
		connection.sendRaw,
		// @ts-expect-error the write loop
		connection.flush,
		// @ts-expect-error the owner's dead-peer check
		connection.check,
		// @ts-expect-error closing without the handshake
		connection.destroy,
		// @ts-expect-error the owner's mark
		connection.marked,
		// public: the way to end it, and the rest of the application's calls
		connection.close, connection.fail, connection.sendText, connection.sendPiece, connection.pause, connection.resume,
	];
}

export function tcpInternals(connection: TcpConnection): unknown[] {
	return [
		// @ts-expect-error the owner's probe
		connection.probe,
		// @ts-expect-error the owner's check
		connection.quiet,
		// @ts-expect-error the platform's callbacks
		connection.onReadable,
		// @ts-expect-error the delegates
		connection.handler,
		// @ts-expect-error the delegates
		connection.owner,
		// public
		connection.read, connection.write, connection.close, connection.peer,
	];
}

export function serverAndClientInternals(tcpServer: TcpServer, tcpClient: TcpClient, wsServer: WebSocketServer, wsClient: WebSocketClient): unknown[] {
	return [
		// @ts-expect-error the listener's hook
		tcpServer.accept,
		// @ts-expect-error the connections' owner hook
		tcpServer.closed,
		// @ts-expect-error the connections' owner hook
		tcpClient.connected,
		// @ts-expect-error the listener's hook
		wsServer.accept,
		// @ts-expect-error the handshake's input
		wsServer.received,
		// @ts-expect-error an attempt's report
		wsClient.opened,
		// @ts-expect-error an attempt's report
		wsClient.message,
		// public
		tcpServer.start, tcpServer.close, tcpClient.isConnected, wsServer.route, wsClient.sendText,
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
