/*
 * Why a connection closed, as a typed value: what code decides on (a
 * client's backoff, a log's wording). The same causes serve tcp/ and
 * websocket/. Beside the cause, every close carries a reason: a few words
 * for the log ("idle for 60000 ms", "peer gone (write failed)"), never
 * compared.
 */

export const CloseCause = Object.freeze({
	/** Closed by the application or its owner: close(), a server or client stopping. */
	LOCAL: "local",
	/** The peer ended (FIN) or reset the connection. */
	PEER_CLOSED: "peer-closed",
	/** The peer is gone: a write failed, or a probe found the connection gone. */
	PEER_GONE: "peer-gone",
	/** An outgoing connection never came up: refused, unreachable, timed out, TLS refused. */
	CONNECT_FAILED: "connect-failed",
	/** Nothing moved for the idle timeout. */
	IDLE: "idle",
	/** Closed to make room for a newcomer (lruPurge). */
	PURGED: "purged",
	/** A deadline passed: the opening handshake, the peer's Close, a Pong. */
	TIMEOUT: "timeout",
	/** The peer broke the protocol (WebSocket: the connection was failed, RFC 6455 7.1.7). */
	PROTOCOL_ERROR: "protocol-error",
	/** The opening handshake was refused (an HTTP error answered) or failed. */
	REFUSED: "refused",
	/** The WebSocket closing handshake completed: both Close frames crossed (RFC 6455 7.1.4). */
	CLOSED: "closed",
	/** Code of ours threw while serving the connection: it alone is closed. */
	ERROR: "error",
});

export type CloseCause = (typeof CloseCause)[keyof typeof CloseCause];
