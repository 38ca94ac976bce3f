/*
 * Types of websocket/utf8 (utf8.js + utf8.c on XS; host-harness/node-host/utf8.ts
 * on the Node-hosted device). See utf8.c for the state's encoding.
 */

/** What validate() reads: an ArrayBuffer, a byte-sized typed array or a DataView (its view only). */
export type Utf8Bytes = ArrayBuffer | Uint8Array | Int8Array | Uint8ClampedArray | DataView;

/**
 * Validate bytes[start, end) (indices into the view, 0 <= start <= end <=
 * its length, else RangeError) from `state`: the state after them (0 on a
 * code point boundary), or -1 at the first byte that proves the input
 * invalid (UTF-8 per RFC 3629). A state of -1 stays -1. A detached buffer
 * is a TypeError. Allocates nothing.
 */
export function validate(bytes: Utf8Bytes, start: number, end: number, state: number): number;
