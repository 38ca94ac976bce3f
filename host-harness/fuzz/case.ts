/*
 * What a fuzz case is, per kind, and how its bytes are written. Cases are
 * plain data made by the generators from a seeded Rng, so a case can be
 * printed, replayed, and judged by the reference oracle before it is sent.
 */

export type CaseKind = "ws" | "handshake" | "tcp" | "udp";
export const caseKinds: readonly CaseKind[] = ["ws", "handshake", "tcp", "udp"];

/** A labelled piece of a byte stream (a frame, a mutated frame, garbage): labels make a mismatch readable. */
export interface Part {
	bytes: Buffer;
	label: string;
}

/**
 * How a stream is written: cut at these offsets, each later piece after
 * `delayMs` (0: the next event-loop turn). A streaming parser must give the
 * same answer however its input is split; the cuts fuzz that.
 */
export interface WritePlan {
	cuts: number[];
	delayMs: number;
	/**
	 * Once the server has ended the exchange (its Close, answered; an HTTP answer, once its body is whole), half-close at
	 * once (true) or wait for the server to close TCP first, as RFC 6455 7.1.1 prefers (false). Both
	 * must end with the server closing its side; hanging up spares the server's linger time.
	 */
	hangUp?: boolean;
}

interface Common {
	index: number;
	/** The case's own seed (from the run seed and the index). */
	seed: number;
}

/** WebSocket traffic after a good handshake. */
export interface WsCase extends Common {
	kind: "ws";
	parts: Part[];
	writes: WritePlan;
}

/** A (mutated) upgrade request; `after`: frames sent in the same write as the head. */
export interface HandshakeCase extends Common {
	kind: "handshake";
	label: string;
	head: Buffer;
	after: Part[];
	writes: WritePlan;
}

/** Bytes through the TCP echo; `finEarly`: half-close right after writing instead of after the echo. */
export interface TcpCase extends Common {
	kind: "tcp";
	payload: Buffer;
	writes: WritePlan;
	finEarly: boolean;
}

/** One datagram through the UDP echo. */
export interface UdpCase extends Common {
	kind: "udp";
	payload: Buffer;
}

export type FuzzCase = WsCase | HandshakeCase | TcpCase | UdpCase;

/** The bytes of parts, one after the other. */
export const concat = (parts: readonly Part[]): Buffer => Buffer.concat(parts.map(p => p.bytes));

/** "9 B 81 85 …": a short hex preview of bytes for reports. */
export function hexPreview(data: Uint8Array, max = 24): string {
	const shown = Buffer.from(data.buffer, data.byteOffset, Math.min(max, data.byteLength))
		.toString("hex")
		.replace(/(..)(?=.)/g, "$1 ");
	return `${data.byteLength} B${data.byteLength ? ` ${shown}${data.byteLength > max ? " …" : ""}` : ""}`;
}

/** What a case is, in one line: its kind, index and the labels of its parts. */
export function describeCase(c: FuzzCase): string {
	switch (c.kind) {
		case "ws":
			return `ws #${c.index}: ${c.parts.map(p => p.label).join(", ") || "nothing"}`;
		case "handshake":
			return `handshake #${c.index}: ${c.label}${c.after.length ? ` + ${c.after.map(p => p.label).join(", ")}` : ""}`;
		case "tcp":
			return `tcp #${c.index}: ${c.payload.length} B in ${c.writes.cuts.length + 1} writes, FIN ${c.finEarly ? "right after writing" : "after the echo"}`;
		case "udp":
			return `udp #${c.index}: datagram of ${c.payload.length} B`;
	}
}
