/*
 * `embedded:io/socket/tcp` (ECMA-419) for the Node-hosted device, over
 * node:net, following the simulator's implementation
 * ($MODDABLE/modules/io/socket/lin/tcp.c) and ECMA-419 semantics:
 *
 * - new TCP({address, port, onReadable, onWritable, onError, nodelay, format, target})
 *   connects; new TCP({from}) adopts a socket returned by Listener.read(),
 *   with anything it already received.
 * - onReadable(bytes): bytes is everything buffered and unread, not the
 *   increment. read() takes all of it, read(n) n bytes (0 < n <= buffered,
 *   else throws), read(buffer) fills the buffer; nothing buffered: undefined.
 *   When the buffer holds `bufferSize` bytes the provider stops reading from
 *   the kernel, so an app that does not read pushes back on its peer.
 * - onWritable(bytes): the write budget. write(data) larger than the budget
 *   throws "would block"; each write spends budget and returns what is left;
 *   the budget is refilled (and onWritable called) once what was written has
 *   left for the kernel. A write on a failed socket returns undefined, as
 *   both SDK implementations (lin, lwip) do.
 * - Faults, as both SDK implementations report them: a reset, a failed
 *   connect or a failed write set the error state; onError is called once
 *   everything buffered was read (lwip delivers it then; see below for the
 *   simulator). After onError no more onReadable/onWritable. A write on a
 *   failed socket returns undefined.
 * - The end of the peer's stream (FIN): everything buffered is still read,
 *   and onError comes once the last buffered byte was read, with the budget
 *   refilled just before it when the kernel still takes more (as the
 *   simulator's last poll refills it when select() finds the socket
 *   writable), so the app can write back what it still holds. The socket
 *   stays writable after it (a half-closed peer still reads): writes, budget
 *   and onWritable go on until close() or a real error, which is reported
 *   through onError too, as on esp32 with the kit's patched lwip tcp.c
 *   (lwip/patches/sdk-6-tcp-fin-ends-input.patch). A TLS socket's FIN is
 *   the end of it, as before.
 * - close() is immediate: no callback after it; methods then throw.
 * - format "buffer" (ArrayBuffer) or "number" (one byte per read/write).
 *
 * Deviations from the simulator and lwip (esp32), each where those two
 * differ from each other or lose what this keeps:
 * - Event driven instead of polled every 20 ms: callbacks come in the next
 *   host turn, so round trips take microseconds, not >= 20 ms.
 * - bufferSize (read buffer and write budget) defaults to 16 KiB instead of
 *   1536 bytes (XSNK_HOST_SOCKET_BUFFER sets it); a single Node read may
 *   overfill the read buffer by up to one kernel read (64 KiB).
 * - `address` may be a host name as well as dotted IPv4 (the simulator
 *   accepts dotted IPv4 only; the host provider resolves like esp32's lwip).
 * - After the peer's FIN the simulator lets writes reach the kernel too,
 *   but refills no budget once it saw the FIN and calls nothing after its
 *   onError; this host goes on as esp32 does (above). The SDK's own lwip
 *   tcp.c, unpatched, refuses every write with "not ready" from the FIN on.
 * - onError is always reported, once the buffered bytes are read (as lwip
 *   does for an error while its control block lives; a reset it reports at
 *   once with the kit's lwip/patches/sdk-7, the bytes still readable: this
 *   host keeps the order that loses nothing). The simulator ($MODDABLE/modules/io/socket/lin/tcp.c) reports it
 *   only if nothing was buffered when the error was found, never for an
 *   error found by write(), and stops polling a socket in the error state,
 *   so the app hears nothing more at all; the device code finds such
 *   connections with its own probes (tcp/connection.ts,
 *   websocket/connection.ts), which the simulator tier exercises.
 *
 * Long because it is one platform object: every ECMA-419 callback and
 * fault of a socket, and its adoption from a listener or a TLS wrap, share
 * the same buffered state; the TLS handshake itself is socket-tls*.ts.
 */

import * as net from "node:net";
import { viewBytes } from "./buffers.js";
import { invoke, later } from "./callbacks.js";
import { hostNetwork } from "./net.js";

/** Open TCP sockets of the device, for the control channel's stats. */
export const liveSockets = new Set<TCP>();

export const bufferSize = Math.max(1, Number(process.env.XSNK_HOST_SOCKET_BUFFER ?? 16384) | 0);

type Format = "buffer" | "number";
type Data = ArrayBufferLike | ArrayBufferView;

interface TCPOptions {
	address?: string;
	host?: string;
	port?: number;
	from?: TCP;
	nodelay?: boolean;
	format?: Format;
	target?: unknown;
	onReadable?: (this: TCP, bytes: number) => void;
	onWritable?: (this: TCP, bytes: number) => void;
	onError?: (this: TCP, error?: Error) => void;
	[secureConnection]?: SecureConnection;
}

/** Internal: lets the listener hand an accepted, paused socket to TCP.read(). */
export const adopt = Symbol("adopt");

/**
 * Internal, for socket-tls.ts and socket-tls-server.ts: a connection made
 * by `connect` instead of net.connect (a client), or an adopted socket
 * (`from`) that `wrap` turns into another (a server: what the shell already
 * received is handed to it first); connected once it emits `ready`;
 * `cause` turns a failure into the Error passed to onError (plain TCP
 * passes none, as the platforms).
 */
export const secureConnection = Symbol("secureConnection");
export interface SecureConnection {
	connect?(): net.Socket;
	wrap?(socket: net.Socket, received: Buffer[], ended: boolean): net.Socket;
	ready: string;
	/** Called at the failure: the socket's error event, or (undefined) a close without one. */
	cause(error: Error | undefined, connected: boolean): Error | undefined;
}

export default class TCP {
	target: unknown;
	#socket: net.Socket | undefined;
	#chunks: Buffer[] = [];
	#readable = 0;
	#writable = 0;
	#inFlight = 0;
	#error = false;
	/** The peer's FIN arrived and is not reported yet: reads and writes go on; onError once the reads are done. */
	#ended = false;
	/** The budget refilled at the end of a FIN'd stream is reported with its onError. */
	#lastBudget = false;
	#errorReported = false;
	#closed = false;
	/** Accepted by the listener, not adopted by the app yet: a FIN leaves it usable. */
	#shell = false;
	#format: Format = "buffer";
	#onReadable: TCPOptions["onReadable"];
	#onWritable: TCPOptions["onWritable"];
	#onError: TCPOptions["onError"];
	#pending = 0; // bit 1: readable, bit 2: writable, bit 4: error, bit 8: the peer's end; reported in one later turn
	#secure: SecureConnection | undefined;
	#connected = false;
	#cause: Error | undefined;
	/** The accepted socket under a wrapped one (TLS served on it): where the peer's address is read. */
	#raw: net.Socket | undefined;

	constructor(options?: TCPOptions) {
		if (!options) {
			this.#shell = true;
			return; // an empty shell, filled by Listener.read()
		}
		this.#onReadable = options.onReadable;
		this.#onWritable = options.onWritable;
		this.#onError = options.onError;
		this.target = options.target;
		if (options.format !== undefined) this.format = options.format;
		if (options.from) {
			this.#secure = options[secureConnection];
			if (this.#secure?.wrap) this.#wrap(options.from, this.#secure);
			else this.#take(options.from);
		} else {
			const address = options.address ?? options.host;
			const port = options.port;
			if (typeof address !== "string" || !address) throw new Error("invalid address");
			if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError("invalid port");
			if (!hostNetwork.usable) {
				// No link: the connection cannot be made; the failure comes as onError.
				this.#socket = new net.Socket();
				this.#failed();
				return;
			}
			this.#secure = options[secureConnection];
			const socket = this.#secure?.connect ? this.#secure.connect() : net.connect({ host: address, port, allowHalfOpen: true });
			socket.once(this.#secure ? this.#secure.ready : "connect", () => {
				this.#connected = true;
				this.#refill();
			});
			this.#attach(socket);
		}
		if (options.nodelay !== undefined) this.#socket?.setNoDelay(Boolean(options.nodelay));
	}

	/**
	 * Listener side: give this shell the accepted socket. Until the app adopts
	 * it with TCP({from}) it buffers what arrives (up to bufferSize, then TCP
	 * pushes back) and notes a FIN or reset, so a write to it fails once its
	 * peer is gone, as on the platforms (whose kernel or lwip keeps receiving).
	 */
	[adopt](socket: net.Socket): void {
		this.#attach(socket);
		socket.resume();
	}

	#take(from: TCP): void {
		const socket = from.#socket;
		if (!socket || from.#closed) throw new Error("invalid from");
		from.#socket = undefined;
		from.#closed = true;
		from.#forget();
		this.#chunks = from.#chunks;
		this.#readable = from.#readable;
		this.#error = from.#error;
		this.#ended = from.#ended;
		this.#attach(socket);
		if (this.#readable) this.#trigger(1);
		if (this.#error && !this.#readable) this.#trigger(4);
		this.#endIfDone();
		// An accepted socket is connected: its first write budget comes in the next turn.
		this.#refill();
		socket.resume();
	}

	/** Adopt `from` wrapped (a TLS server on it): the wrapper reads what the shell holds first, and is connected once it is `ready`. */
	#wrap(from: TCP, secure: SecureConnection): void {
		const raw = from.#socket;
		if (!raw || from.#closed) throw new Error("invalid from");
		from.#socket = undefined;
		from.#closed = true;
		from.#forget();
		this.#raw = raw;
		const socket = secure.wrap!(raw, from.#chunks, from.#ended || from.#error);
		socket.once(secure.ready, () => {
			this.#connected = true;
			this.#refill();
		});
		this.#attach(socket);
	}

	#attach(socket: net.Socket): void {
		this.#socket = socket;
		liveSockets.add(this);
		hostNetwork.downListeners.add(this.#linkDown);
		for (const event of ["data", "end", "error", "close"]) socket.removeAllListeners(event);
		socket.on("data", (chunk: Buffer) => this.#received(chunk));
		socket.on("end", () => this.#peerEnded());
		socket.on("error", (error: Error) => {
			// Said now, while the TLS socket still holds the peer's certificate.
			if (this.#secure && !this.#cause) this.#cause = this.#secure.cause(error, this.#connected);
			this.#failed();
		});
		socket.on("close", () => this.#failed());
	}

	#received(chunk: Buffer): void {
		if (this.#closed) return;
		this.#chunks.push(chunk);
		this.#readable += chunk.length;
		if (this.#readable >= bufferSize) this.#socket?.pause();
		this.#trigger(1);
	}

	/** The simulated link went down: the connection is lost, as its peer can no longer be reached. */
	#linkDown = (): void => {
		this.#socket?.destroy();
		this.#failed();
	};

	#forget(): void {
		liveSockets.delete(this);
		hostNetwork.downListeners.delete(this.#linkDown);
	}

	#failed(): void {
		if (this.#closed || this.#error) return;
		this.#error = true;
		this.#ended = false;
		if (!this.#readable) this.#trigger(4);
	}

	#peerEnded(): void {
		if (this.#closed || this.#error) return;
		this.#ended = true;
		this.#endIfDone();
	}

	/**
	 * After a FIN: once everything buffered was read, onError, with the budget
	 * refilled just before it if the kernel still takes more (a peer that
	 * reads its echo); a peer that does not read does not hold it back.
	 * Plain TCP stays writable (the end of input only); TLS ends.
	 */
	#endIfDone(): void {
		if (!this.#ended || this.#readable || this.#shell) return;
		if (!this.#secure || this.#connected)
			// a TLS handshake cut short has no budget to give
			this.#refill(true);
		this.#ended = false;
		if (!this.#secure) {
			this.#trigger(8);
			return;
		}
		this.#error = true;
		this.#lastBudget = true;
		this.#trigger(4);
	}

	/** A full budget once what was written has left for the kernel (`atEnd`: once the kernel takes more, as the simulator's last poll does). */
	#refill(atEnd = false): void {
		if (this.#closed || this.#error || this.#writable === bufferSize) return;
		if (this.#inFlight && !(atEnd && this.#socket && !this.#socket.writableNeedDrain)) return;
		this.#writable = bufferSize;
		this.#trigger(2);
	}

	#trigger(what: number): void {
		if (!this.#pending) later(() => this.#report());
		this.#pending |= what;
	}

	#report(): void {
		const what = this.#pending;
		this.#pending = 0;
		if (this.#closed) return;
		if (what & 2 && this.#writable && (!this.#error || this.#lastBudget)) invoke(this, this.#onWritable, this.#writable);
		if (what & 1 && this.#readable && !this.#closed) invoke(this, this.#onReadable, this.#readable);
		if (what & 8 && !this.#closed && !this.#error) invoke(this, this.#onError); // the end of input
		if (what & 4 && !this.#closed && !this.#errorReported) {
			this.#errorReported = true;
			if (this.#secure) invoke(this, this.#onError, this.#cause ?? this.#secure.cause(undefined, this.#connected));
			else invoke(this, this.#onError);
		}
	}

	#live(): net.Socket {
		if (this.#closed || !this.#socket) throw new TypeError("closed socket");
		return this.#socket;
	}

	read(request?: number | ArrayBufferLike | ArrayBufferView): number | ArrayBuffer | undefined {
		this.#live();
		if (!this.#readable) return undefined;
		let out: Uint8Array;
		let result: number | ArrayBuffer;
		if (this.#format === "number") {
			out = new Uint8Array(1);
			result = 0;
		} else if (request === undefined) {
			out = new Uint8Array(this.#readable);
			result = out.buffer as ArrayBuffer;
		} else if (typeof request === "number") {
			if (!(request > 0 && request <= this.#readable)) throw new Error("invalid");
			out = new Uint8Array(request);
			result = out.buffer as ArrayBuffer;
		} else {
			out = viewBytes(request);
			if (!(out.length > 0 && out.length <= this.#readable)) throw new Error("invalid");
			result = out.length;
		}
		this.#copyOut(out);
		if (this.#format === "number") result = out[0];
		if (this.#readable < bufferSize && !this.#error) this.#socket?.resume();
		if (this.#error && !this.#readable) this.#trigger(4);
		this.#endIfDone();
		return result;
	}

	#copyOut(out: Uint8Array): void {
		let at = 0;
		while (at < out.length) {
			const head = this.#chunks[0];
			const take = Math.min(head.length, out.length - at);
			out.set(head.subarray(0, take), at);
			at += take;
			if (take === head.length) this.#chunks.shift();
			else this.#chunks[0] = head.subarray(take);
		}
		this.#readable -= out.length;
	}

	write(data: number | Data): number | undefined {
		const socket = this.#live();
		let bytes: Buffer;
		if (this.#format === "number") {
			if (typeof data !== "number") throw new TypeError("number expected");
			bytes = Buffer.from([data & 0xff]);
		} else {
			if (typeof data === "number") throw new TypeError("buffer expected");
			const view = viewBytes(data);
			bytes = Buffer.from(view); // a copy: the app may reuse its buffer
		}
		if (bytes.length > this.#writable) throw new Error("would block");
		this.#writable -= bytes.length;
		if (socket.destroyed || !socket.writable) {
			// As on esp32 and the simulator: a failed socket's write returns nothing.
			this.#failed();
			return undefined;
		}
		this.#inFlight++;
		socket.write(bytes, () => {
			this.#inFlight--;
			this.#refill();
			this.#endIfDone();
		});
		return this.#writable;
	}

	close(): void {
		const socket = this.#live();
		this.#closed = true;
		this.#socket = undefined;
		this.#chunks = [];
		this.#readable = 0;
		this.#forget();
		if (socket.writableLength) socket.end(() => socket.destroy());
		else socket.destroy();
	}

	get remoteAddress(): string | undefined {
		const address = (this.#raw ?? this.#live()).remoteAddress;
		return address?.startsWith("::ffff:") ? address.slice(7) : address;
	}

	get remotePort(): number | undefined {
		return (this.#raw ?? this.#live()).remotePort;
	}

	get format(): Format {
		return this.#format;
	}

	set format(value: Format) {
		if (value !== "buffer" && value !== "number") throw new RangeError("unimplemented");
		this.#format = value;
	}
}
