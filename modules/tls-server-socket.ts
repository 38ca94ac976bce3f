/*
 * A TLS server socket with the ECMA-419 TCP socket's API, on Moddable's own
 * TLS engine (ssl/session, its server role): it adopts a socket the
 * listener accepted (`from`), runs the server's handshake with the
 * credentials given (modules/tls-credentials.ts), and then reads and writes
 * plaintext as TCP does, so tcp/connection.ts and websocket/connection.ts
 * serve wss:// unchanged (modules/secure-socket.ts builds it). The record
 * layer, the callbacks and every way a connection fails are
 * modules/tls-record-socket.ts, shared with the client: a handshake that
 * fails (a client that is not TLS, offers no suite served here, sends an
 * alert or garbage, leaves) ends that connection with onError(cause), never
 * the app.
 *
 * What the engine serves (SDK 8.2.3, modules/crypt/ssl), and why:
 * - TLS 1.2 only (protocolVersion 0x303): an older ClientHello is refused
 *   with protocol_version (70).
 * - RSA key exchange only: TLS_RSA_WITH_AES_128_CBC_SHA,
 *   _256_CBC_SHA, _128_CBC_SHA256, _256_CBC_SHA256, in that order of
 *   preference. The engine's ServerKeyExchange has no ECDHE_RSA branch
 *   and its ClientKeyExchange reader none either; its DHE branch refers to
 *   a `Crypt` that ssl_handshake.js never imports. So a client that offers
 *   only ECDHE or DHE suites is refused here, by name, before the engine
 *   would fail on it. No forward secrecy: docs/security.md says so.
 * - The certificate is sent with the chain given (Certificate, RFC 5246
 *   7.4.2); the engine's CertificateManager would read the resource
 *   "srvcert.der" for it, and its key through the client-certificate
 *   options: both are replaced, on this session's manager only, by what the
 *   credentials hold. The key is parsed (pkcs8) when the key exchange needs
 *   it, once per handshake: nothing of it stays per connection.
 * - No session resumption (cache: false): each handshake is a full one.
 * - No other extension in the ServerHello (the engine writes none): no
 *   extended master secret (RFC 7627), no ALPN.
 *
 * Where the engine's server role does not run as it is, and what is done:
 * - Reading the ClientHello starts the handshake's hash from the messages
 *   the session wrote before (session.handshakeMessages), which a server
 *   has none of: the read threw "cannot coerce undefined to object". The
 *   session gets an empty stream to start from.
 * - The engine writes each message to the socket as it makes it, with no
 *   regard for the write budget: during the handshake the session writes
 *   to a HandshakeWire (modules/tls-handshake-wire.ts) instead, which
 *   writes within TCP's budget; the socket is ready once all is written.
 * - The ServerHello carries renegotiation_info when the client offered it
 *   (modules/tls-renegotiation-info.ts): OpenSSL 3 clients refuse a server
 *   without it.
 */

import TCP from "embedded:io/socket/tcp";
import type { TlsServerCredentials } from "modules/tls-credentials";
import { HandshakeWire } from "modules/tls-handshake-wire";
import { type TlsCallbacks, TlsRecordSocket, type Wire, wireError, wireReadable, wireWritable } from "modules/tls-record-socket";
import { offersSecureRenegotiation, RenegotiationDigest } from "modules/tls-renegotiation-info";
import PKCS8 from "pkcs8";
import Session from "ssl/session";
import SSLStream from "ssl/stream";

/** ssl/constants: the RSA key exchange, the only one the engine serves. */
const RSA_KEY_EXCHANGE = 0;
/** The session's handshakeProcess once it has read a ClientHello (client_hello, RFC 5246 7.4). */
const CLIENT_HELLO = 1;
/** The session's handshakeProcess when it waits for the peer's next record. */
const WAITING = -1;
/** Handshake steps taken in one callback at most: a client flooding tiny records waits for the next one. */
const STEPS = 64;

export interface TlsServerSocketOptions extends TlsCallbacks<TlsServerSocket> {
	/** An accepted socket, not yet adopted (Listener.read()). */
	from: TCP;
	nodelay?: boolean;
	secure: TlsServerCredentials;
}

/** The session's CertificateManager, with the credentials it serves from. */
interface Manager {
	credentials: TlsServerCredentials;
}

/* The manager's two methods a server uses, replaced: one function each for every connection (no closures). */
function ownCertificates(this: Manager): ArrayBuffer[] {
	return this.credentials.certificates;
}

/** getKey(): the server's own key (the engine asks with no certificate); a peer's key is never asked for (no client certificates). */
function ownKey(this: Manager, certificate?: unknown): object | undefined {
	if (certificate !== undefined) return undefined;
	return PKCS8.parse(new Uint8Array(this.credentials.key));
}

const NO_SUITE = "the client offers no cipher suite the device serves (TLS_RSA_WITH_AES_128_CBC_SHA and the other RSA key exchange suites)";

/** One step reading the client: the engine's words for a ClientHello with no suite it knows ("unsuppoorted cipher", a TLS 1.3-only client) made the same as ours. */
function readClient(session: Session, wire: HandshakeWire): boolean {
	try {
		return session.handshake(wire);
	} catch (e) {
		if (String((e as Error)?.message).includes("cipher")) throw new Error(NO_SUITE);
		throw e;
	}
}

type Digests = NonNullable<Session["handshakeDigests"]>;

/** The server's flight after the ClientHello, its ServerHello with renegotiation_info: on the wire and in the handshake's hash alike. */
function serverFlight(session: Session, wire: HandshakeWire): boolean {
	const digests = session.handshakeDigests ?? {};
	const own: Digests = {};
	for (const name in digests) {
		own[name] = digests[name];
		digests[name] = new RenegotiationDigest(own[name]);
	}
	wire.renegotiationInfo = true;
	try {
		return session.handshake(wire);
	} finally {
		wire.renegotiationInfo = false;
		for (const name in own) digests[name] = own[name];
	}
}

export default class TlsServerSocket extends TlsRecordSocket {
	/** During the handshake: what the session writes through. */
	private wire: HandshakeWire | undefined;
	/** The session completed its handshake (its last flight may still be queued). */
	private finished = false;

	constructor(options: TlsServerSocketOptions) {
		const from = options.from;
		super(options as TlsCallbacks<TlsRecordSocket>, `${from.remoteAddress}:${from.remotePort}`);
		const session = new Session({ protocolVersion: 0x303, cache: false });
		// Own properties: the preloaded class's prototype is frozen (the override mistake), defineProperty is not refused.
		const manager = session.certificateManager;
		Object.defineProperty(manager, "credentials", { value: options.secure });
		Object.defineProperty(manager, "getCerts", { value: ownCertificates });
		Object.defineProperty(manager, "getKey", { value: ownKey });
		// A server has written nothing before the ClientHello: the hash starts from nothing (see above).
		session.handshakeMessages = new SSLStream();
		this.session = session;
		this.connected = true;
		this.tcp = new TCP({
			from,
			nodelay: options.nodelay,
			target: this,
			onReadable: wireReadable,
			onWritable: wireWritable,
			onError: wireError,
		} as ConstructorParameters<typeof TCP>[0]) as Wire;
		this.tcp.readable = this.tcp.writable = 0;
		this.wire = new HandshakeWire(this.tcp);
	}

	protected peerRole(): string {
		return "client";
	}

	protected endedDuringHandshake(): string {
		return "the client closed the connection during the TLS handshake";
	}

	/**
	 * The client speaks first: each step reads one of its records, or answers
	 * its flight (ServerHello … ServerHelloDone after its ClientHello; the
	 * ChangeCipherSpec and Finished after its Finished), until the session
	 * waits for bytes that have not come.
	 */
	protected handshake(): void {
		const session = this.session!,
			wire = this.wire!;
		for (let step = 0; step < STEPS && !this.finished; step++) {
			const process = session.handshakeProcess;
			if (process === WAITING && !(wire.readable > 0)) break;
			if (process === CLIENT_HELLO) {
				if (session.chosenCipher?.keyExchangeAlgorithm !== RSA_KEY_EXCHANGE) throw new Error(NO_SUITE);
				if (offersSecureRenegotiation(wire.hello())) this.finished = serverFlight(session, wire);
				else this.finished = session.handshake(wire);
			} else this.finished = readClient(session, wire);
			this.checkRecord("client");
		}
		if (!wire.flush() && !session.alert) return; // the rest as TCP's budget comes (tcpWritable)
		if (this.finished) {
			this.wire = undefined;
			this.established(); // or the alert, as the handshake's failure
		}
	}
}
