/*
 * Types of websocket/mask (mask.js + mask.c on XS; host-harness/node-host/mask.ts
 * on the Node-hosted device). See mask.c.
 */

/** What unmask() writes: an ArrayBuffer, a byte-sized typed array or a DataView (its view only). */
export type MaskBytes = ArrayBuffer | Uint8Array | Int8Array | Uint8ClampedArray | DataView;

/**
 * XOR bytes[start, end) (indices into the view, 0 <= start <= end <= its
 * length, else RangeError) with the 4-byte masking key (RFC 6455 5.3) given
 * as a 32-bit number rotated to bytes[start] (its top byte applies to
 * bytes[start]); returns the key rotated to the byte after end (a signed
 * 32-bit number). Allocates nothing.
 */
export function unmask(bytes: MaskBytes, start: number, end: number, key: number): number;
