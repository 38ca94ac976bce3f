/*
 * Access keys for WebSocket routes: who may open a route that is not for
 * everyone on the network (a device's log, its broadcast).
 *
 * A client presents the key one of three ways, strongest first:
 * - `Authorization: Bearer <key>` (RFC 6750 2.1): for clients that set
 *   headers (the harness, curl, a phone app). Not logged by the device.
 * - a subprotocol `bearer.<key>` in `Sec-WebSocket-Protocol`: what a browser
 *   can send, since its WebSocket API sets no other header. Chosen by the
 *   server as the handshake's protocol when the route selects no other, as
 *   a browser fails a handshake whose offered protocols got no answer.
 * - `?key=<key>` (or `?token=<key>`) in the URL: the weakest, kept for
 *   clients that can do nothing else; a URL is logged by proxies and kept in
 *   browser history.
 *
 * The key is compared in constant time (sameKey: every byte, no early
 * exit), and a peer that presented a wrong one waits before it may try
 * again, doubling with each wrong try (RetryGate): a fixed table of a few
 * addresses, so strangers cost no memory beyond it however many there are.
 * A key is letters, digits and `-._~` (keyProblem): it fits a subprotocol
 * token and a URL as it is.
 */

import { queryParameter, type RequestHead } from "modules/http";

/** The subprotocol prefix that carries a key: `bearer.<key>`. */
export const keyProtocolPrefix = "bearer.";

/** A key as a client presented it. */
export interface PresentedKey {
	key: string;
	/** The offered subprotocol that carried it, when it came that way (chosen in the answer unless another is). */
	protocol?: string;
}

/** Why `key` cannot be an access key, or undefined when it can. */
export function keyProblem(key: string): string | undefined {
	if (key.length < 8 || key.length > 64) return "an access key is 8 to 64 characters";
	for (let i = 0; i < key.length; i++) {
		const c = key.charCodeAt(i);
		const letterOrDigit = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
		if (!letterOrDigit && c !== 45 && c !== 46 && c !== 95 && c !== 126) return "an access key is letters, digits and - . _ ~ only";
	}
	return undefined;
}

/** The key a request presents: the Authorization header, else a `bearer.` subprotocol, else the query; undefined when none. */
export function presentedKey(head: RequestHead, protocols: readonly string[], query: string): PresentedKey | undefined {
	const authorization = head.headers.get("authorization");
	if (authorization !== undefined) {
		// RFC 6750 2.1: "Bearer" is case-insensitive, one or more spaces, then the token.
		const space = authorization.indexOf(" ");
		if (space > 0 && authorization.slice(0, space).toLowerCase() === "bearer") return { key: authorization.slice(space + 1).trim() };
	}
	for (const protocol of protocols) if (protocol.startsWith(keyProtocolPrefix)) return { key: protocol.slice(keyProtocolPrefix.length), protocol };
	const key = queryParameter(query, "key") ?? queryParameter(query, "token");
	return key === undefined ? undefined : { key };
}

/** Whether `given` is `expected`, in time that depends on their lengths only, not on where they differ. */
export function sameKey(given: string, expected: string): boolean {
	let difference = given.length ^ expected.length;
	for (let i = 0; i < expected.length; i++) difference |= (i < given.length ? given.charCodeAt(i) : 0) ^ expected.charCodeAt(i);
	return difference === 0;
}

/** The first wait after a wrong key (ms); it doubles with each wrong try… */
const firstWait = 1000;
/** …up to this. */
const longestWait = 60_000;

/**
 * Wrong keys by address: each wrong try from an address doubles the time
 * before it may try again. A fixed number of entries: a new address takes
 * the one whose wait ended first, so the table never grows.
 */
export class RetryGate {
	private readonly addresses: string[] = [];
	/** Wrong tries of each address in a row. */
	private readonly tries: number[] = [];
	/** Until when each address waits (Date.now()). */
	private readonly until: number[] = [];
	private readonly size: number;

	constructor(size = 8) {
		this.size = size;
	}

	/** How long `address` must still wait before its key is judged (ms), 0 when it need not. */
	wait(address: string, now: number): number {
		const at = this.addresses.indexOf(address);
		return at < 0 ? 0 : Math.max(0, this.until[at] - now);
	}

	/** `address` presented a wrong key. */
	failed(address: string, now: number): void {
		let at = this.addresses.indexOf(address);
		if (at < 0) {
			if (this.addresses.length < this.size) at = this.addresses.push(address) - 1;
			else {
				at = 0;
				for (let i = 1; i < this.size; i++) if (this.until[i] < this.until[at]) at = i;
				this.addresses[at] = address;
			}
			this.tries[at] = 0;
		}
		this.tries[at]++;
		this.until[at] = now + Math.min(longestWait, firstWait << Math.min(this.tries[at] - 1, 16));
	}

	/** `address` presented the right key: its wrong tries are forgotten. */
	passed(address: string): void {
		const at = this.addresses.indexOf(address);
		if (at >= 0) this.tries[at] = this.until[at] = 0;
	}
}
