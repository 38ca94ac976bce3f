/*
 * A memory-backed `embedded:io/socket/tcp` for bench xs (a test double: it
 * stands in for the platform socket so that the measured loop has no
 * network, no poll and no other process in it). Bench manifest maps
 * `embedded:io/socket/tcp` here.
 *
 * Semantics kept from ECMA-419 and the lin/esp32 platforms, as far as the
 * echo server and Moddable's WebSocket client use them:
 * - `new TCP({from, target, onReadable, onWritable, onError})` adopts an
 *   accepted endpoint (made by `pair()` or handed out by the memory listener).
 * - format "buffer" (default) or "number"; read() one byte (number), read(n)
 *   a new ArrayBuffer of n bytes (the platform's allocation per read),
 *   read(buffer) fills the caller's buffer and returns its length. As lin
 *   and lwip tcp.c, a count or buffer longer than what is waiting (or
 *   empty) is refused ("invalid").
 * - write(bytes) copies into the peer's receive store (like lwip copying into
 *   its send buffer) and returns the bytes still writable; it throws when
 *   the data does not fit.
 * Deviation: callbacks run when the driver calls deliver()/refill(), not
 * from a poll; nothing is ever lost or reset.
 *
 * Each direction is a fixed store that rewinds whenever it is drained, so
 * the double allocates nothing per message beyond read(n)'s buffer.
 */

const capacity = 0x30000; // 192 KiB: three 64 KiB messages in flight

class Store {
	constructor() {
		this.bytes = new Uint8Array(capacity);
		this.start = 0;
		this.end = 0;
	}
	get available() {
		return this.end - this.start;
	}
	get space() {
		return capacity - this.available;
	}
	put(data) {
		const source = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
		const count = source.byteLength;
		if (this.end + count > capacity) {
			if (this.available + count > capacity) throw new Error("would block");
			this.bytes.copyWithin(0, this.start, this.end);
			this.end -= this.start;
			this.start = 0;
		}
		this.bytes.set(source, this.end);
		this.end += count;
	}
	consumed(count) {
		this.start += count;
		if (this.start === this.end) this.start = this.end = 0;
	}
}

/** One end of a connection: reads from `inbox`, writes to the peer's inbox. */
class Endpoint {
	constructor() {
		this.inbox = new Store();
		this.peer = undefined;
		this.socket = undefined;
	}
}

export default class TCP {
	#end;
	#options;
	format = "buffer";

	constructor(options) {
		const from = options.from;
		if (!from?.endpoint) throw new Error("memory TCP: only sockets adopted from a pair or the memory listener");
		this.#end = from.endpoint;
		this.#end.socket = this;
		this.#options = options;
		if (options.target !== undefined) this.target = options.target;
	}

	/** Two connected raw endpoints (not yet adopted), as `{endpoint}` holders a constructor takes as `from`. */
	static pair() {
		const a = new Endpoint(),
			b = new Endpoint();
		a.peer = b;
		b.peer = a;
		return [{ endpoint: a }, { endpoint: b }];
	}

	get remoteAddress() {
		return "127.0.0.1";
	}
	get remotePort() {
		return 9;
	}

	read(what) {
		const inbox = this.#end.inbox;
		const available = inbox.available;
		if ("number" === this.format) {
			if (!available) return undefined;
			const value = inbox.bytes[inbox.start];
			inbox.consumed(1);
			return value;
		}
		if (what === undefined) what = available;
		if (typeof what === "number") {
			if (what <= 0 || what > available) throw new Error("invalid"); // (lin and lwip tcp.c: no more than is waiting)
			const count = what;
			const out = inbox.bytes.buffer.slice(inbox.start, inbox.start + count);
			inbox.consumed(count);
			return out;
		}
		const target = what instanceof ArrayBuffer ? new Uint8Array(what) : what;
		const count = target.byteLength;
		if (count <= 0 || count > available) throw new Error("invalid"); // (lin and lwip: a buffer no longer than what is waiting)
		target.set(inbox.bytes.subarray(inbox.start, inbox.start + count));
		inbox.consumed(count);
		return count;
	}

	write(data) {
		const peer = this.#end.peer.inbox;
		if (data.byteLength) peer.put(data);
		return peer.space;
	}

	close() {
		this.#end.socket = undefined;
	}

	/** Driver: tell this socket's owner its inbox holds bytes. */
	deliver() {
		const count = this.#end.inbox.available;
		if (count) this.#options.onReadable?.call(this, count);
	}

	/** Driver: tell this socket's owner how much it may write now (as after ACKs). */
	refill() {
		this.#options.onWritable?.call(this, this.#end.peer.inbox.space);
	}

	/** Driver: bytes waiting in this socket's inbox. */
	get waiting() {
		return this.#end.inbox.available;
	}

	/** Driver: drop what this socket's peer wrote to it. */
	discard() {
		const inbox = this.#end.inbox;
		inbox.consumed(inbox.available);
	}
}
