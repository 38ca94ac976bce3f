/*
 * Types for the parts of Moddable's TLS engine ($(MODULES)/crypt, included
 * through $(MODDABLE)/modules/crypt/tls_419.json) that modules/tls-socket.ts
 * and modules/tls-chain.ts use; neither @moddable/typings nor the SDK's
 * typings declare them. Seen by the project's tsc and by mcconfig's
 * (modules/manifest.json maps "ssl/session" and "x509" to these files too).
 *
 * Semantics, from session_419.js, ssl_cert.js and x509.js (SDK 8.2.3):
 * - SSLSession's handshake(s), read(s), write(s, data) take the TCP socket
 *   and use its `readable` and `writable` as counters they update.
 * - handshake() returns true once done, or once an alert was sent or
 *   received (then `alert` is set): true does not mean success.
 * - read() returns the next record's application data, undefined when none
 *   is complete yet, null once the peer sent an alert (close_notify too).
 * - The session's certificateManager.verify(certs, options) decides whether
 *   the server's chain (DER, leaf first) is trusted; false (or a throw)
 *   fails the handshake with "certificate: auth err".
 * - Server role (no initiateHandshake()): handshakeProcess is -1 while the
 *   session waits for the client's next record, 1 once it read a
 *   ClientHello (handshake() then writes the server's flight); chosenCipher
 *   is the suite picked from the ClientHello (ssl/ciphersuites), its
 *   keyExchangeAlgorithm one of ssl/constants (RSA 0, DHE_RSA 2, ECDHE_RSA 6).
 *   The certificate sent is certificateManager.getCerts(), the key
 *   getKey() with no argument.
 */
declare module "ssl/session" {
	interface CertificateManager {
		verify(certs: Uint8Array[], options: object): boolean;
		/** Whether the certificate x509 (X509.decode) carries a valid signature by the key spki (X509.decodeSPKI). */
		_verify(spki: object, x509: object): boolean;
		getCerts(): ArrayBuffer[];
		getKey(certificate?: unknown): object | undefined;
	}
	export default class SSLSession {
		constructor(options: { serverName?: string; protocolVersion?: number; cache?: boolean; [key: string]: unknown });
		certificateManager: CertificateManager;
		alert?: { level: number; description: number };
		handshakeProcess: number;
		/** The handshake messages so far, before the hashes exist (the server has none before the ClientHello). */
		handshakeMessages?: { getChunk(): Uint8Array };
		/** The handshake's running hashes by name (SHA256 in TLS 1.2), from the ClientHello on. */
		handshakeDigests?: Record<string, { write(data: ArrayBuffer | Uint8Array): void; close(keep?: boolean): ArrayBuffer }>;
		chosenCipher?: { keyExchangeAlgorithm: number; value: number[] };
		/** The record being read: its first byte is the record's content type (20..23 in TLS). */
		packetBuffer?: (Uint8Array & { offset: number }) | null;
		initiateHandshake(): void;
		handshake(socket: object): boolean;
		read(socket: object): Uint8Array | null | undefined;
		write(socket: object, data: ArrayBuffer | Uint8Array): number;
		close(socket: object): void;
	}
}

/*
 * ssl/stream ($(MODULES)/crypt/ssl/ssl_stream.js): the engine's byte stream.
 * modules/tls-server-socket.ts gives a server's session an empty one to
 * start the handshake's hash from.
 */
declare module "ssl/stream" {
	export default class SSLStream {
		constructor(buffer?: ArrayBuffer | Uint8Array, initial?: number);
		getChunk(): Uint8Array;
	}
}
