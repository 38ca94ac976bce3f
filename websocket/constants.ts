/*
 * RFC 6455 numbers shared by the WebSocket protocol core: opcodes (5.2),
 * close codes (7.4.1) and the handshake GUID (1.3).
 */

/** Frame opcodes (RFC 6455 5.2). 3-7 and 0xB-0xF are reserved. */
export const Opcode = Object.freeze({
	CONTINUATION: 0x0,
	TEXT: 0x1,
	BINARY: 0x2,
	CLOSE: 0x8,
	PING: 0x9,
	PONG: 0xa,
});

/** A message's type, as handlers receive it and sendMessage() takes it: text (UTF-8) or binary (RFC 6455 5.6). */
export const MessageType = Object.freeze({
	TEXT: Opcode.TEXT,
	BINARY: Opcode.BINARY,
});
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Close codes (RFC 6455 7.4.1) this core emits or builds. */
export const CloseCode = Object.freeze({
	NORMAL: 1000,
	GOING_AWAY: 1001,
	PROTOCOL_ERROR: 1002,
	UNSUPPORTED_DATA: 1003,
	/** Never on the wire: "no status code was present". */
	NO_STATUS: 1005,
	/** Never on the wire: "closed abnormally". */
	ABNORMAL: 1006,
	INVALID_PAYLOAD: 1007,
	POLICY_VIOLATION: 1008,
	MESSAGE_TOO_BIG: 1009,
	MANDATORY_EXTENSION: 1010,
	INTERNAL_ERROR: 1011,
});

/** Appended to Sec-WebSocket-Key before hashing (RFC 6455 1.3, 4.2.2). */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** A control frame's payload is at most 125 bytes (RFC 6455 5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/** Which end of the connection this core serves: it decides masking (RFC 6455 5.1, 5.3). */
export type Role = "server" | "client";
