/*
 * `modules/tls-server-socket` (the device's TLS server socket) for the
 * Node-hosted device, over node:tls: the TCP host provider (socket-tcp.ts,
 * all its ECMA-419 semantics and deviations) adopting an accepted socket
 * with a TLS server session on it.
 *
 * Mirrors modules/tls-server-socket.ts on Moddable's TLS engine:
 * - new TlsServerSocket({from, nodelay, secure: {certificates, key}, target,
 *   onReadable, onWritable, onError}); the first onWritable comes once the
 *   handshake is done; read/write/close as on TCP, on the plaintext; a
 *   zero-length write before then answers 0 (alive, no budget yet).
 * - TLS 1.2 only, RSA key exchange only (TLS_RSA_WITH_AES_128_CBC_SHA,
 *   _256_CBC_SHA, _128_CBC_SHA256, _256_CBC_SHA256, the server's order), no
 *   session resumption; the certificates given are sent, leaf first.
 * - onError(error): a failed handshake passes an Error in the device
 *   module's words ("TLS handshake with a:p failed: the client does not
 *   speak TLS …", "… the client offers no cipher suite the device serves …",
 *   "… the client closed the connection during the TLS handshake"); once
 *   established, a peer that closes or resets gives onError() with no
 *   cause, as TCP.
 *
 * Deviations:
 * - Node's TLS answers with the extensions OpenSSL writes (extended master
 *   secret, session tickets off, …); the device's ServerHello carries
 *   renegotiation_info only (modules/tls-renegotiation-info.ts).
 * - Node's TLS also accepts a client that offers no secure renegotiation,
 *   and fragmented handshake messages, which the device's engine reads
 *   within one record only.
 * - The record layer is OpenSSL's: records of any size up to 16 KiB, a
 *   write budget that is TCP's, not 96 bytes under it.
 * - A client that sends an alert: Node says the alert's name ("… alert
 *   unknown ca"), the device its number ("… TLS alert 48 …"). A client that
 *   offers TLS 1.3 only: Node's server says "the client does not offer TLS
 *   1.2", the device's engine finds none of its suites ("the client offers
 *   no cipher suite the device serves"). Malformed records:
 *   OpenSSL's reason ("unexpected message"), the device's engine its own.
 *   Causes Node reports that the device never sees pass through as Node
 *   words them.
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import type * as net from "node:net";
import { Duplex } from "node:stream";
import * as tls from "node:tls";
import TCP, { secureConnection } from "./socket-tcp.js";

interface TlsServerSocketOptions {
	from: TCP;
	nodelay?: boolean;
	secure: { certificates: ArrayBuffer[]; key: ArrayBuffer };
	target?: unknown;
	onReadable?: (this: TlsServerSocket, bytes: number) => void;
	onWritable?: (this: TlsServerSocket, bytes: number) => void;
	onError?: (this: TlsServerSocket, error?: Error) => void;
}

/** The suites the device's engine serves, in its order (modules/tls-server-socket.ts). */
const ciphers = "AES128-SHA:AES256-SHA:AES128-SHA256:AES256-SHA256";

/**
 * The accepted socket as a stream that gives what the listener's shell
 * already received first (node:tls would take the socket's handle and
 * never see those bytes), then the rest as it comes.
 */
function replaying(socket: net.Socket, received: Buffer[], ended: boolean): Duplex {
	const stream = new Duplex({
		read() {
			socket.resume();
		},
		write(chunk: Buffer, _encoding, done) {
			socket.write(chunk, done);
		},
		final(done) {
			socket.end(done);
		},
		destroy(error, done) {
			socket.destroy();
			done(error);
		},
	});
	for (const chunk of received) stream.push(chunk);
	for (const event of ["data", "end", "error", "close"]) socket.removeAllListeners(event);
	socket.on("data", (chunk: Buffer) => {
		if (!stream.push(chunk)) socket.pause();
	});
	socket.on("end", () => stream.push(null));
	socket.on("error", () => stream.destroy());
	socket.on("close", () => stream.destroy());
	if (ended) stream.push(null);
	return stream;
}

/** Node's verdict in the device module's words (modules/tls-server-socket.ts, modules/tls-record-socket.ts). */
function describe(error: (Error & { code?: string }) | undefined): string {
	switch (error?.code) {
		case undefined:
		case "ECONNRESET":
			return "the client closed the connection during the TLS handshake";
		case "ERR_SSL_HTTP_REQUEST":
		case "ERR_SSL_WRONG_VERSION_NUMBER":
		case "ERR_SSL_PACKET_LENGTH_TOO_LONG":
		case "ERR_SSL_UNKNOWN_PROTOCOL":
		case "ERR_SSL_RECORD_LENGTH_MISMATCH":
			return "the client does not speak TLS (its request is not a TLS record)";
		case "ERR_SSL_NO_SHARED_CIPHER":
			return "the client offers no cipher suite the device serves (TLS_RSA_WITH_AES_128_CBC_SHA and the other RSA key exchange suites)";
		case "ERR_SSL_UNSUPPORTED_PROTOCOL":
			return "the client does not offer TLS 1.2";
		default:
			if (/socket disconnected before secure TLS connection|socket hang up/i.test(error!.message))
				return "the client closed the connection during the TLS handshake";
			// OpenSSL's reason ("unexpected message"), not its multi-line report.
			return (error as { reason?: string }).reason ?? error!.message.split("\n")[0];
	}
}

export default class TlsServerSocket extends TCP {
	constructor(options: TlsServerSocketOptions) {
		const from = options.from;
		const peer = `${from.remoteAddress}:${from.remotePort}`;
		const { certificates, key } = options.secure;
		// Parsed here, as the device's loadServerCredentials() and handshake would refuse them.
		const cert = certificates.map(der => new X509Certificate(Buffer.from(der)).toString()).join("");
		const privateKey = createPrivateKey({ key: Buffer.from(key), format: "der", type: "pkcs8" }).export({ format: "pem", type: "pkcs8" }) as string;
		super({
			from,
			nodelay: options.nodelay,
			target: options.target,
			onReadable: options.onReadable as (this: TCP, bytes: number) => void,
			onWritable: options.onWritable as (this: TCP, bytes: number) => void,
			onError: options.onError as (this: TCP, error?: Error) => void,
			[secureConnection]: {
				ready: "secure",
				wrap(socket, received, ended) {
					return new tls.TLSSocket(
						replaying(socket, received, ended) as unknown as net.Socket,
						{
							isServer: true,
							key: privateKey,
							cert,
							minVersion: "TLSv1.2",
							maxVersion: "TLSv1.2",
							ciphers,
							honorCipherOrder: true,
							// No session resumption, as the device (cache: false).
							secureOptions: 0x4000, // SSL_OP_NO_TICKET
						} as tls.TLSSocketOptions,
					);
				},
				cause(error, connected) {
					if (connected) return undefined; // as TCP: the peer closed or reset
					return new Error(`TLS handshake with ${peer} failed: ${describe(error)}`);
				},
			},
		});
	}
}
