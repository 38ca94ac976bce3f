/*
 * A memory-backed `embedded:io/socket/listener` for bench xs (a test
 * double, like memory-tcp.js): the driver hands it the server ends of
 * memory socket pairs with connect(), and it reports them to its owner's
 * onReadable like a platform listener; read() returns one `from` holder.
 */

const listeners = [];

export default class Listener {
	#pending = [];
	#options;

	constructor(options) {
		this.#options = options;
		this.port = options.port || 8080;
		if (options.target !== undefined) this.target = options.target; // ECMA-419: callbacks reach their owner as this.target
		listeners.push(this);
	}

	read() {
		return this.#pending.shift();
	}

	close() {
		const at = listeners.indexOf(this);
		if (at >= 0) listeners.splice(at, 1);
	}

	/** Driver: the most recent listener (the echo server's). */
	static get last() {
		return listeners[listeners.length - 1];
	}

	/** Driver: a client connects; `from` is the server end of a memory pair. */
	connect(from) {
		this.#pending.push(from);
		this.#options.onReadable?.call(this, this.#pending.length);
	}
}
