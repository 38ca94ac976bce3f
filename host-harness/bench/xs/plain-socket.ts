/*
 * bench xs's stand-in for modules/secure-socket (a bench double, like
 * memory-tcp.js): the TCP library picks TCP or TLS through openSocket; the
 * bench measures plain TCP over its memory sockets, so this builds the
 * (memory) TCP socket and refuses TLS, without linking the TLS engine.
 */

import TCP from "embedded:io/socket/tcp";

export interface TlsOptions {
	serverName: string;
	ca: ArrayBuffer;
}

/** As modules/secure-socket's: what a connection calls on its socket. */
export interface PlatformSocket {
	read(what?: number | ArrayBuffer | Uint8Array): unknown;
	write(data: ArrayBuffer | Uint8Array): unknown;
	close(): void;
}

/** As modules/secure-socket's, for every target it takes (a client's TlsOptions, a server's credentials): TLS refused here. */
export function openSocket(options: Record<string, unknown> & { tls?: unknown }): PlatformSocket {
	if (options.tls) throw new Error("bench xs measures plain TCP: no TLS here");
	return new TCP(options as unknown as ConstructorParameters<typeof TCP>[0]);
}

export function loadCa(_value: string): ArrayBuffer {
	throw new Error("bench xs measures plain TCP: no TLS here");
}
