/*
 * The one place a connection picks its socket: plain ECMA-419 TCP, or TLS
 * when given `tls` — a client's (modules/tls-socket.ts) for an address, a
 * server's (modules/tls-server-socket.ts) for an accepted socket — the same
 * API every way, so websocket/connection.ts and tcp/connection.ts change
 * only where they construct it. And the CA a config key names (wsClientCa,
 * tcpClientCa), loaded once at boot.
 *
 * With TLS, onError receives the cause as its argument (an Error, or
 * undefined when the peer simply closed, as on TCP); a plain TCP socket
 * passes nothing.
 */

import Resource from "Resource";
import TCP from "embedded:io/socket/tcp";
import Base64 from "base64";
import type { TlsServerCredentials } from "modules/tls-credentials";
import TlsServerSocket from "modules/tls-server-socket";
import TlsSocket from "modules/tls-socket";

export interface TlsOptions {
	/** SNI and the name the server's certificate must carry (RFC 6066 3, RFC 6125). */
	serverName: string;
	/** The CA that must have issued the server's chain (DER): loadCa(). */
	ca: ArrayBuffer;
}

/**
 * An accepted socket to adopt, or an address to connect to, over TLS when
 * tls is set (a server's credentials, a client's CA). The callbacks run with
 * the socket as `this`, and the socket carries `target` (ECMA-419): what
 * they reach their owner through.
 */
export type SocketOptions<Target = unknown> = (
	| {
			from: TCP;
			/** Serve TLS on the accepted socket with these credentials. */
			tls?: TlsServerCredentials;
	  }
	| {
			address: string;
			port: number;
			/** Connect over TLS: SNI and certificate name, and the CA that must vouch for the server. */
			tls?: TlsOptions;
	  }
) & {
	nodelay?: boolean;
	target?: Target;
	onReadable?: (this: TCP & { target: Target }, bytes: number) => void;
	onWritable?: (this: TCP & { target: Target }, bytes: number) => void;
	onError?: (this: TCP & { target: Target }, error?: Error) => void;
};

/**
 * What a connection calls on its socket: Moddable's ECMA-419 TCP socket and
 * the kit's TLS socket (modules/tls-socket) are both one, each by its own
 * types. read() may find nothing (undefined), which Moddable's TCP typings
 * leave out; write() returns the budget left, or nothing once the socket
 * failed (ECMA-419 9.3.3, as both implement it).
 */
export interface PlatformSocket {
	/** read(count): a new buffer of the bytes, or undefined when none; read(buffer): fills it. */
	read(what?: number | ArrayBuffer | Uint8Array): unknown;
	write(data: ArrayBuffer | Uint8Array): unknown;
	close(): void;
}

/** An adopted or connecting socket: TLS when options.tls is set, else TCP. */
export function openSocket<Target>(options: SocketOptions<Target>): PlatformSocket {
	if (!options.tls) return new TCP(options as ConstructorParameters<typeof TCP>[0]);
	const { tls, ...rest } = options as SocketOptions & { tls: TlsOptions | TlsServerCredentials };
	if ("from" in rest) return new TlsServerSocket({ ...rest, secure: tls } as ConstructorParameters<typeof TlsServerSocket>[0]);
	return new TlsSocket({ ...rest, secure: tls } as ConstructorParameters<typeof TlsSocket>[0]);
}

/**
 * The CA certificate (DER) a config value names: "base64:<DER in base64>"
 * inline (what `host-harness serve --tls` prints), or the name of a resource
 * in the app's manifest holding it as DER or PEM (the first certificate of
 * a PEM file). Throws an Error saying what is wrong.
 */
export function loadCa(value: string): ArrayBuffer {
	let der: ArrayBuffer;
	if (value.startsWith("base64:")) der = Base64.decode(value.slice(7).replace(/\s+/g, ""));
	else {
		if (!Resource.exists(value)) throw new Error(`no resource "${value}" in the app: add the CA certificate to the manifest's resources`);
		const bytes = new Resource(value).slice(0) as ArrayBuffer;
		const view = new Uint8Array(bytes);
		if (view[0] === 0x2d) {
			// "-": PEM (RFC 7468)
			const match = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(String.fromArrayBuffer(bytes));
			if (!match) throw new Error(`resource "${value}" is PEM without a CERTIFICATE block`);
			der = Base64.decode(match[1].replace(/\s+/g, ""));
		} else der = bytes;
	}
	if (der.byteLength < 64 || new Uint8Array(der)[0] !== 0x30)
		// a DER certificate is a SEQUENCE
		throw new Error(`"${value.length > 40 ? value.slice(0, 40) + "…" : value}" is not a DER or PEM certificate`);
	return der;
}
