/*
 * A host name to the dotted IPv4 address a socket takes, once for every
 * client in the kit (the TCP client, the WebSocket client): the
 * simulator's TCP socket takes a dotted IPv4 address only, so names are
 * resolved first with Moddable's Net.resolve (DNS on esp32 and the
 * simulator). A dotted address is answered at once, without a lookup.
 */

import Net from "net";

/** Moddable's Net.resolve; spelled out because the host tsconfig also knows Node's "net". */
interface NetResolve {
	resolve(name: string, callback: (name: string, address?: string) => void): void;
}

const dottedQuad = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export function isDottedQuad(host: string): boolean {
	return dottedQuad.test(host);
}

/** Calls back with the address (synchronously for a dotted one), or undefined when the name does not resolve. */
export function resolveHost(host: string, callback: (address: string | undefined) => void): void {
	if (dottedQuad.test(host)) {
		callback(host);
		return;
	}
	(Net as unknown as NetResolve).resolve(host, (_name: string, address?: string) => callback(address));
}
