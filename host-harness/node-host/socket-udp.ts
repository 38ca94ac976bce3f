/*
 * `embedded:io/socket/udp` (ECMA-419) for the Node-hosted device, over
 * node:dgram, following the simulator's implementation
 * ($MODDABLE/modules/io/socket/lin/udp.c):
 *
 * - new UDP({port, address, onReadable, target}) binds (port 0: any).
 * - onReadable(packets): packets datagrams are queued; read() returns the
 *   oldest as an ArrayBuffer with `address` and `port` properties of its
 *   sender, or undefined. At most 100 datagrams are queued; beyond that the
 *   oldest are dropped, as on the simulator.
 * - write(buffer, address, port) sends one datagram.
 * - close() stops receiving; no callback after it.
 * - add(group) / remove(group) join and leave a multicast group, and
 *   timeToLive (1..255) sets the IP TTL, as on a board
 *   ($MODDABLE/modules/io/socket/lwip/udp.c: igmp_joingroup on the
 *   station's interface). The simulator's lin/udp.c has neither.
 *
 * Deviations from the simulator:
 * - Event driven instead of one datagram per 20 ms poll.
 * - Multicast (add, remove, timeToLive) as on a board, which the simulator
 *   lacks. Joined on the device's interface (its address, net.ts); sent
 *   datagrams loop back to the device's own socket (Node's default), which
 *   lwIP does not do by default.
 * - Empty datagrams are delivered (the simulator's recvfrom() loop drops
 *   datagrams of 0 bytes) and datagrams up to 65 507 bytes are received
 *   whole (the simulator truncates at 2048 bytes).
 * - node:dgram binds asynchronously: the device's trace output is held back
 *   until the bind is done (xs-globals holdTrace), so that nothing logged
 *   after the constructor, "services up" included, reaches the harness
 *   before the port can receive. A port that cannot be bound aborts the
 *   device (the simulator throws "bind failed" from the constructor).
 */

import * as dgram from "node:dgram";
import { viewBytes } from "./buffers.js";
import { abort, invoke, later } from "./callbacks.js";
import { hostNetwork } from "./net.js";
import { holdTrace } from "./xs-globals.js";

const maxPackets = 100;

/** Open UDP sockets of the device, for the control channel's stats. */
export const liveUdp = new Set<UDP>();

type Datagram = ArrayBuffer & { address: string; port: number };

interface UDPOptions {
	port?: number;
	address?: string;
	format?: "buffer";
	timeToLive?: number;
	target?: unknown;
	onReadable?: (this: UDP, packets: number) => void;
	onError?: (this: UDP) => void;
}

export default class UDP {
	target: unknown;
	#socket: dgram.Socket | undefined;
	#packets: Datagram[] = [];
	#onReadable: UDPOptions["onReadable"];
	#reportPending = false;
	/** Until the asynchronous bind is done: what waits for it (multicast membership needs a bound socket). */
	#whenBound: (() => void)[] | undefined = [];

	constructor(options: UDPOptions) {
		const port = options.port ?? 0;
		if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError("invalid port");
		if (options.format !== undefined && options.format !== "buffer") throw new RangeError("unimplemented");
		const ttl = options.timeToLive;
		if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0 && ttl <= 255)) throw new RangeError("invalid timeToLive");
		this.target = options.target;
		this.#onReadable = options.onReadable;
		const socket = dgram.createSocket({ type: "udp4" });
		socket.on("message", (message, remote) => this.#received(message, remote));
		socket.once("error", e => abort(new Error(`bind failed: ${e.message}`)));
		const release = holdTrace();
		socket.bind(port, options.address ?? "0.0.0.0", () => {
			release();
			socket.removeAllListeners("error");
			socket.on("error", () => {}); // send failures are dropped datagrams, as UDP is
			if (ttl !== undefined) {
				socket.setTTL(ttl);
				socket.setMulticastTTL(ttl);
			}
			if (hostNetwork.address !== "127.0.0.1") socket.setMulticastInterface(hostNetwork.address);
			const waiting = this.#whenBound ?? [];
			this.#whenBound = undefined;
			for (const work of waiting) work();
		});
		this.#socket = socket;
		liveUdp.add(this);
	}

	#received(message: Buffer, remote: dgram.RemoteInfo): void {
		if (!hostNetwork.usable) return; // no link: the datagram never reached the device
		const copy = new Uint8Array(message.length);
		copy.set(message);
		const datagram = copy.buffer as Datagram;
		datagram.address = remote.address;
		datagram.port = remote.port;
		this.#packets.push(datagram);
		if (this.#packets.length > maxPackets) this.#packets.shift();
		if (!this.#reportPending) {
			this.#reportPending = true;
			later(() => {
				this.#reportPending = false;
				if (this.#socket && this.#packets.length) invoke(this, this.#onReadable, this.#packets.length);
			});
		}
	}

	#live(): dgram.Socket {
		if (!this.#socket) throw new TypeError("closed socket");
		return this.#socket;
	}

	read(): Datagram | undefined {
		this.#live();
		return this.#packets.shift();
	}

	write(data: ArrayBufferLike | ArrayBufferView, address: string, port: number): void {
		const socket = this.#live();
		const view = viewBytes(data);
		if (typeof address !== "string" || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error("sendto failed: bad address");
		if (hostNetwork.usable) socket.send(Buffer.from(view), port, address, () => {});
	}

	/** Join a multicast group on the device's interface. */
	add(group: string): void {
		this.#live();
		this.#membership(group, true);
	}

	/** Leave a multicast group. */
	remove(group: string): void {
		this.#live();
		this.#membership(group, false);
	}

	#membership(group: string, join: boolean): void {
		const parts = group.split(".").map(Number);
		if (parts.length !== 4 || parts.some(p => !(p >= 0 && p <= 255))) throw new Error("invalid IP address");
		if (group === "255.255.255.255") throw new Error("broadcast is not multicast");
		const work = () => {
			try {
				if (join) this.#socket?.addMembership(group, hostNetwork.address);
				else this.#socket?.dropMembership(group, hostNetwork.address);
			} catch {
				// lwIP's igmp_joingroup result is not checked either
			}
		};
		if (this.#whenBound) this.#whenBound.push(work);
		else work();
	}

	close(): void {
		const socket = this.#socket;
		if (!socket) return;
		this.#socket = undefined;
		this.#packets = [];
		liveUdp.delete(this);
		socket.close();
	}

	get port(): number | undefined {
		try {
			return this.#socket?.address().port;
		} catch {
			return undefined;
		}
	}

	get format(): "buffer" {
		return "buffer";
	}

	set format(value: "buffer") {
		if (value !== "buffer") throw new RangeError("unimplemented");
	}
}
