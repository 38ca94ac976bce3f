/*
 * The upload service (httpUpload): /upload on the WebSocket server's port,
 * an example of the HTTP routes that take a body, and what the device
 * suites and the fuzzer drive them with.
 *
 * - POST takes its body in pieces as they are read (an HttpBodyHandler:
 *   websocket/http-routes) up to MAX_PIECES_BODY bytes, far more than the
 *   heap, and answers its length and CRC-32: memory per request is one read
 *   and the request, whatever the body's length. A request that ends before
 *   its body is whole is logged ("upload ended after …"), and nothing is
 *   answered.
 * - PUT takes its body whole (up to the route's default, 1024 bytes) and
 *   answers the same.
 * - DELETE answers {"deleted": true}.
 *
 * The CRC-32 (ISO-HDLC, as zlib's crc32) is computed as the bytes come, a
 * table of 256 words made at the first body: nothing is held until used.
 */

import type { Log } from "modules/log";
import type { CloseCause } from "tcp/close-cause";
import { type HttpBodyHandler, type HttpBodyRequest, type HttpRequest, type HttpResponse, json } from "websocket/http-routes";

/** Largest body POST takes in pieces. */
export const MAX_PIECES_BODY = 1048576;

export class HttpUpload implements HttpBodyHandler {
	private readonly log: Log;
	/** The CRC-32 table, made at the first body. */
	private table: Uint32Array | undefined;

	constructor(log: Log) {
		this.log = log;
	}

	onBodyStart(request: HttpBodyRequest): void {
		request.context = 0xffffffff; // the running CRC, as a number: no object per request
	}

	onBodyData(request: HttpBodyRequest, piece: Uint8Array): void {
		request.context = this.crc(request.context as number, piece);
	}

	onBodyEnd(request: HttpBodyRequest): HttpResponse {
		return json({ bytes: request.received, crc32: ((request.context as number) ^ 0xffffffff) >>> 0 });
	}

	onAbort(request: HttpBodyRequest, cause: CloseCause, reason: string): void {
		this.log.warn(`upload ended after ${request.received} of ${request.length} bytes: ${cause} (${reason})`);
	}

	/** PUT: the same answer for a body read whole. */
	whole(request: HttpRequest): HttpResponse {
		const body = new Uint8Array(request.body);
		return json({ bytes: body.byteLength, crc32: (this.crc(0xffffffff, body) ^ 0xffffffff) >>> 0 });
	}

	/** The CRC-32 register after `bytes` (reflected, polynomial 0xEDB88320). */
	private crc(crc: number, bytes: Uint8Array): number {
		const table = (this.table ??= crcTable());
		for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
		return crc >>> 0;
	}
}

function crcTable(): Uint32Array {
	const table = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		table[n] = c;
	}
	return table;
}
