/*
 * `modules/tls-socket` (the device's TLS client socket) for the Node-hosted
 * device, over node:tls: the TCP host provider (socket-tcp.ts, all its
 * ECMA-419 semantics and deviations) with a TLS connection underneath.
 *
 * Mirrors modules/tls-socket.ts on Moddable's TLS engine:
 * - new TlsSocket({address, port, nodelay, secure: {serverName, ca}, target,
 *   onReadable, onWritable, onError}); the first onWritable comes once the
 *   handshake is done; read/write/close as on TCP, on the plaintext.
 * - The server's certificate must chain to `ca` (DER) alone (Node's own CA
 *   store is not used), be valid now, and carry serverName in a
 *   subjectAltName; verification cannot be turned off.
 * - TLS 1.2 only, as the SDK engine (protocolVersion 0x303).
 * - onError(error): a failed handshake passes an Error with the cause in
 *   the device module's words ("TLS handshake with a:p failed: the
 *   server's certificate expired on …", "… is for x, not y (name
 *   mismatch)", "… not issued by the configured CA (unknown CA)", "the
 *   server closed the connection during the TLS handshake", "connection
 *   refused or unreachable"); once established, a peer that closes or
 *   resets gives onError() with no cause, as TCP.
 *
 * Deviations:
 * - node:tls judges the certificate (chain, dates, then the name) once its
 *   handshake is complete, so a refused server sees the handshake succeed,
 *   then a close; the device refuses at the server's Certificate message,
 *   before its own key exchange, and the server sees the handshake fail.
 * - An expired certificate's message has no date (Node keeps no
 *   certificate from a refused handshake).
 * - The write budget is TCP's, not 96 bytes under it (the device leaves
 *   room for a record's header, nonce and tag; Node's TLS buffers records).
 * - SNI: Node sends none for an IP literal (RFC 6066 3 forbids it); the
 *   device engine sends the literal. Either way the certificate must name it.
 * - Node's TLS checks more (key usage, basic constraints of the CA, path
 *   length) and accepts more cipher suites (ECDSA certificates too); the
 *   device's engine needs an RSA server certificate. Causes Node reports
 *   that the device never sees pass through as Node words them.
 * - Dates: node:tls judges them by the PC's clock; the device's clock (the
 *   process's Date, time.ts: it may have booted at 1970) is then applied
 *   too, with the device's words, so a device whose clock was never set
 *   fails as a board does.
 * - No close_notify ordering guarantees: Node sends it on close() when the
 *   session is up, as the device module does, best effort.
 */

import { X509Certificate } from "node:crypto";
import * as net from "node:net";
import * as tls from "node:tls";
import { clockSetAfter } from "../../modules/clock.js";
import TCP, { secureConnection } from "./socket-tcp.js";

interface TlsSocketOptions {
	address: string;
	port: number;
	nodelay?: boolean;
	secure: { serverName: string; ca: ArrayBuffer };
	target?: unknown;
	onReadable?: (this: TlsSocket, bytes: number) => void;
	onWritable?: (this: TlsSocket, bytes: number) => void;
	onError?: (this: TlsSocket, error?: Error) => void;
}

function day(date: string): string {
	return new Date(date).toISOString().slice(0, 10);
}

/** Node's verdict in the device module's words (modules/tls-chain.ts, modules/tls-socket.ts). */
function describe(error: Error & { code?: string; cert?: tls.PeerCertificate }, peer: tls.TLSSocket, serverName: string, connected: boolean): string {
	const certificate = peer.getPeerX509Certificate?.();
	switch (error.code) {
		case "CERT_HAS_EXPIRED":
			// Node keeps no certificate from a refused handshake: no date here.
			return `the server's certificate has expired${certificate ? ` (valid until ${day(certificate.validTo)})` : ""}`;
		case "CERT_NOT_YET_VALID":
			return `the server's certificate is not valid before ${certificate ? day(certificate.validFrom) : "a later date"}`;
		case "ERR_TLS_CERT_ALTNAME_INVALID": {
			const names = (error.cert?.subjectaltname ?? certificate?.subjectAltName ?? "")
				.split(/,\s*/)
				.filter(Boolean)
				.map(name => name.replace(/^(DNS|IP Address):/, ""));
			return `the server's certificate is for ${names.length ? names.join(", ") : "no host name (no subjectAltName)"}, not ${serverName} (name mismatch)`;
		}
		case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
		case "UNABLE_TO_GET_ISSUER_CERT":
		case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
		case "SELF_SIGNED_CERT_IN_CHAIN":
		case "DEPTH_ZERO_SELF_SIGNED_CERT":
		case "CERT_SIGNATURE_FAILURE":
		case "INVALID_CA":
			return "the server's certificate is not issued by the configured CA (unknown CA)";
		case "ECONNREFUSED":
		case "EHOSTUNREACH":
		case "ENETUNREACH":
			return "connection refused or unreachable";
		case "ERR_SSL_WRONG_VERSION_NUMBER":
		case "ERR_SSL_PACKET_LENGTH_TOO_LONG":
			return "the server does not speak TLS (its answer is not a TLS record)";
		case "ECONNRESET":
			return connected ? error.message : "the server closed the connection during the TLS handshake";
		default:
			if (/socket disconnected before secure TLS connection/i.test(error.message)) return "the server closed the connection during the TLS handshake";
			return error.message;
	}
}

/** A certificate's dates judged by the device's clock (Date here: time.ts), in modules/tls-chain.ts's words. */
function byDeviceClock(certificate: tls.PeerCertificate): Error | undefined {
	const now = Date.now();
	if (now < Date.parse(certificate.valid_from)) {
		const unset = now < clockSetAfter ? ` and the device's clock says ${day(new Date(now).toISOString())}: set the clock (SNTP) before connecting` : "";
		return new Error(`the server's certificate is not valid before ${day(certificate.valid_from)}${unset}`);
	}
	if (now > Date.parse(certificate.valid_to)) return new Error(`the server's certificate has expired (valid until ${day(certificate.valid_to)})`);
	return undefined;
}

function pem(der: ArrayBuffer): string {
	// Parse it first: a malformed CA is the caller's error, said at once, as the device's loadCa() does.
	return new X509Certificate(Buffer.from(der)).toString();
}

export default class TlsSocket extends TCP {
	constructor(options: TlsSocketOptions) {
		const { serverName, ca } = options.secure;
		const caPem = pem(ca);
		const peer = `${options.address}:${options.port}`;
		let connection: tls.TLSSocket;
		super({
			address: options.address,
			port: options.port,
			nodelay: options.nodelay,
			target: options.target,
			onReadable: options.onReadable as (this: TCP, bytes: number) => void,
			onWritable: options.onWritable as (this: TCP, bytes: number) => void,
			onError: options.onError as (this: TCP, error?: Error) => void,
			[secureConnection]: {
				ready: "secureConnect",
				connect() {
					connection = tls.connect({
						host: options.address,
						port: options.port,
						servername: net.isIP(serverName) ? undefined : serverName,
						ca: caPem,
						minVersion: "TLSv1.2",
						maxVersion: "TLSv1.2",
						rejectUnauthorized: true,
						checkServerIdentity: (_host: string, certificate: tls.PeerCertificate) =>
							byDeviceClock(certificate) ?? tls.checkServerIdentity(serverName, certificate),
						// TLS ends with close_notify; a FIN mid-handshake must fail it, not wait.
						allowHalfOpen: false,
					} as tls.ConnectionOptions);
					return connection;
				},
				cause(error, connected) {
					if (connected) return undefined; // as TCP: the peer closed or reset
					const cause = error ? describe(error, connection, serverName, connected) : "the server closed the connection during the TLS handshake";
					return new Error(`TLS handshake with ${peer} failed: ${cause}`);
				},
			},
		});
	}
}
