/*
 * What a TLS server's session (modules/tls-server-socket.ts) reads from and
 * writes to during its handshake, in place of the TCP socket: TCP's reads
 * as they are, its writes queued and written within TCP's budget.
 *
 * Moddable's TLS engine writes each handshake message to its socket as it
 * makes it, with no regard for the write budget. The server's flight (its
 * Certificate alone is the certificates' size, 2 KB for a certificate and
 * its CA) is more than the simulator's TCP takes at once (1536 bytes:
 * "would block"); flush() writes what the budget takes and the rest as it
 * comes back.
 *
 * It also keeps the first record read (the ClientHello) until the server
 * has read it, and, when told, sends the ServerHello with the
 * renegotiation_info extension (modules/tls-renegotiation-info.ts).
 * One per connection, dropped once the handshake is done.
 */

import type { Wire } from "modules/tls-record-socket";
import { withRenegotiationInfo } from "modules/tls-renegotiation-info";

export class HandshakeWire {
	private readonly tcp: Wire;
	/** Bytes made and not written yet, in order. */
	private queue: Uint8Array[] = [];
	/** The bytes read so far, while the ClientHello is read (see hello). */
	private first: Uint8Array | undefined = new Uint8Array(0);
	/** The next ServerHello gets the renegotiation_info extension. */
	renegotiationInfo = false;
	/** The session subtracts what it wrote from this; the budget is TCP's (flush). */
	writable = Infinity;

	constructor(tcp: Wire) {
		this.tcp = tcp;
	}

	get readable(): number {
		return this.tcp.readable;
	}

	set readable(count: number) {
		this.tcp.readable = count;
	}

	/** The session reads a record in pieces into views of its buffer, each filled whole. */
	read(buffer: Uint8Array): unknown {
		const result = this.tcp.read(buffer);
		const first = this.first;
		if (first) {
			const grown = new Uint8Array(first.length + buffer.length);
			grown.set(first);
			grown.set(buffer, first.length);
			this.first = grown;
		}
		return result;
	}

	/** The first record read (once the session has read the ClientHello); no more are kept after. */
	hello(): Uint8Array {
		const first = this.first ?? new Uint8Array(0);
		this.first = undefined;
		return first;
	}

	write(packet: ArrayBuffer | Uint8Array): number {
		let bytes = packet instanceof Uint8Array ? packet : new Uint8Array(packet);
		if (this.renegotiationInfo && bytes[0] === 22 && bytes[5] === 2) {
			// a handshake record holding the ServerHello
			this.renegotiationInfo = false;
			bytes = withRenegotiationInfo(bytes, 5);
		}
		this.queue.push(bytes);
		return this.writable;
	}

	/** Write what TCP's budget takes now; whether nothing is left. Throws when TCP refused (the connection failed). */
	flush(): boolean {
		const tcp = this.tcp,
			queue = this.queue;
		while (queue.length && tcp.writable > 0) {
			const head = queue[0];
			const count = Math.min(head.byteLength, tcp.writable);
			const left = tcp.write(count === head.byteLength ? head : head.subarray(0, count)) as unknown;
			if (typeof left !== "number") throw new Error("the connection failed while the handshake was written");
			tcp.writable = left;
			if (count === head.byteLength) queue.shift();
			else queue[0] = head.subarray(count);
		}
		return !queue.length;
	}
}
