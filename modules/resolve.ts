/*
 * A host name to the dotted IPv4 address a socket takes, once for every
 * client in the kit (the TCP client, the WebSocket client): the
 * simulator's TCP socket takes a dotted IPv4 address only, so names are
 * resolved first with Moddable's Net.resolve (DNS on esp32 and the
 * simulator). A dotted address is answered at once, without a lookup.
 */

import Net from "net";

/** Four groups of 1 to 3 digits joined by dots (parsed by hand: no module-level RegExp in a preloaded module, see modules/http). */
export function isDottedQuad(host: string): boolean {
	let groups = 1,
		digits = 0;
	for (let i = 0; i < host.length; i++) {
		const c = host.charCodeAt(i);
		if (c >= 0x30 && c <= 0x39) {
			if (++digits > 3) return false;
		} else if (c === 0x2e && digits > 0 && groups < 4) {
			groups++;
			digits = 0;
		} else return false;
	}
	return groups === 4 && digits > 0;
}

/** Calls back with the address (synchronously for a dotted one), or undefined when the name does not resolve. */
export function resolveHost(host: string, callback: (address: string | undefined) => void): void {
	if (isDottedQuad(host)) {
		callback(host);
		return;
	}
	Net.resolve(host, (_name: string, address?: string) => callback(address));
}
