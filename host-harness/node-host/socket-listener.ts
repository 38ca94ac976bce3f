/*
 * `embedded:io/socket/listener` (ECMA-419) for the Node-hosted device, over
 * node:net, following the simulator's implementation
 * ($MODDABLE/modules/io/socket/lin/tcp.c, Listener):
 *
 * - new Listener({port, onReadable, target}) listens on all interfaces
 *   (port 0: any free port; `port` then tells which). A port that cannot be
 *   bound throws from the constructor ("bind socket failed").
 * - onReadable(count): count connections are waiting; read() returns the
 *   oldest as a TCP socket to adopt with new TCP({from}), or undefined.
 *   Waiting connections are accepted by the kernel but not read from, so
 *   nothing they send is lost.
 * - close() stops listening and closes connections not yet read.
 *
 * Like the simulator, it ignores `address` and listens on every interface
 * (in Node: the dual-stack any address, so IPv6 peers are accepted too).
 *
 * Deviation from the simulator: event driven instead of polled every 20 ms.
 */

import * as net from "node:net";
import { invoke, later } from "./callbacks.js";
import { hostNetwork } from "./net.js";
import TCP, { adopt } from "./socket-tcp.js";

/** Open listeners of the device, for the control channel's stats. */
export const liveListeners = new Set<Listener>();

interface ListenerOptions {
	port?: number;
	address?: string;
	format?: "socket/tcp";
	target?: unknown;
	onReadable?: (this: Listener, count: number) => void;
}

export default class Listener {
	target: unknown;
	#server: net.Server | undefined;
	#waiting: net.Socket[] = [];
	#onReadable: ListenerOptions["onReadable"];
	#reportPending = false;

	constructor(options: ListenerOptions) {
		const port = options.port ?? 0;
		if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError("invalid port");
		if (options.format !== undefined && options.format !== "socket/tcp") throw new RangeError("unimplemented");
		this.target = options.target;
		this.#onReadable = options.onReadable;
		const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, socket => this.#arrived(socket));
		let failure: Error | undefined;
		server.once("error", e => {
			failure = e;
		});
		// With no host, node:net binds synchronously (only the error event is
		// deferred), so a failure can be thrown here as the device does.
		server.listen({ port, exclusive: true });
		if (!server.address()) {
			server.close();
			throw new Error(`bind socket failed${failure ? `: ${failure.message}` : ""}`);
		}
		server.on("error", () => {});
		this.#server = server;
		liveListeners.add(this);
	}

	#arrived(socket: net.Socket): void {
		if (!hostNetwork.usable) {
			socket.destroy(); // no link: nobody could have reached the device
			return;
		}
		socket.on("error", () => {}); // a waiting connection may be reset; TCP({from}) sees it when adopted
		this.#waiting.push(socket);
		if (!this.#reportPending) {
			this.#reportPending = true;
			later(() => {
				this.#reportPending = false;
				if (this.#server && this.#waiting.length) invoke(this, this.#onReadable, this.#waiting.length);
			});
		}
	}

	read(): TCP | undefined {
		if (!this.#server) throw new TypeError("closed listener");
		const socket = this.#waiting.shift();
		if (!socket) return undefined;
		const tcp = new TCP();
		tcp[adopt](socket);
		return tcp;
	}

	close(): void {
		const server = this.#server;
		if (!server) return;
		this.#server = undefined;
		liveListeners.delete(this);
		server.close();
		for (const socket of this.#waiting.splice(0)) socket.destroy();
	}

	get port(): number | undefined {
		const address = this.#server?.address();
		return address && typeof address === "object" ? address.port : undefined;
	}

	get format(): "socket/tcp" {
		return "socket/tcp";
	}

	set format(value: "socket/tcp") {
		if (value !== "socket/tcp") throw new RangeError("unimplemented");
	}
}
