/*
 * A TLS client socket with the ECMA-419 TCP socket's API, on Moddable's own
 * TLS engine (ssl/session, $(MODDABLE)/modules/crypt/tls_419.json): what
 * modules/secure-socket.ts builds for wss:// and the TCP echo client's TLS.
 * The record layer, the callbacks and every way a connection fails are
 * modules/tls-record-socket.ts (shared with the server socket); here, the
 * client's session and handshake.
 *
 * - Certificates are checked by modules/tls-chain.ts, not by the SDK's
 *   check, which accepts a leaf signed by any key when the CA's own
 *   certificate follows it (see there). Verification cannot be turned off:
 *   the options have no `verify`.
 * - SNI is the configured server name (RFC 6066 3); TLS 1.2 only (the SDK
 *   engine's protocolVersion 0x303), cipher suites ECDHE_RSA, DHE_RSA, RSA
 *   (tls_common.json): the server needs an RSA certificate.
 */

import TCP from "embedded:io/socket/tcp";
import type { TlsOptions } from "modules/secure-socket";
import { checkServerChain } from "modules/tls-chain";
import { type TlsCallbacks, TlsRecordSocket, type Wire, wireError, wireReadable, wireWritable } from "modules/tls-record-socket";
import Session from "ssl/session";

export interface TlsSocketOptions extends TlsCallbacks<TlsSocket> {
	address: string;
	port: number;
	nodelay?: boolean;
	secure: TlsOptions;
}

export default class TlsSocket extends TlsRecordSocket {
	constructor(options: TlsSocketOptions) {
		super(options as TlsCallbacks<TlsRecordSocket>, `${options.address}:${options.port}`);
		const { serverName, ca } = options.secure;
		const session = new Session({ serverName, protocolVersion: 0x303 });
		const manager = session.certificateManager;
		// An own property: the preloaded class's prototype is frozen, so plain assignment
		// of "verify" would throw (the override mistake), defineProperty does not.
		Object.defineProperty(manager, "verify", {
			value(certs: Uint8Array[]) {
				checkServerChain(certs, ca, serverName, manager);
				return true;
			},
		});
		session.initiateHandshake();
		this.session = session;
		this.tcp = new TCP({
			address: options.address,
			port: options.port,
			nodelay: options.nodelay,
			target: this,
			onReadable: wireReadable,
			onWritable: wireWritable,
			onError: wireError,
		} as ConstructorParameters<typeof TCP>[0]) as Wire;
		this.tcp.readable = this.tcp.writable = 0;
	}

	protected peerRole(): string {
		return "server";
	}

	protected endedDuringHandshake(): string {
		return "the server closed the connection during the TLS handshake";
	}

	/** The SDK socket's #messageHandler() before ready: one handshake step, then the records waiting. */
	protected handshake(read: boolean): void {
		const session = this.session!,
			tcp = this.tcp!;
		if (session.handshake(tcp)) this.established();
		else if (read) {
			this.checkRecord("server");
			session.read(tcp); // handshake records only: the server speaks after us
			this.checkRecord("server");
			if (!this.ready && !this.failed && session.handshake(tcp)) this.established();
		}
	}
}
