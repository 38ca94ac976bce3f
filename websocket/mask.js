/*
 * websocket/mask: the native masking loop (mask.c), for
 * websocket/frame-parser.ts. JavaScript, not TypeScript: the `@`
 * host-function declaration is XS syntax (types: mask.d.ts). On the
 * Node-hosted device, host-harness/node-host/mask.ts stands in for it.
 */

/**
 * XOR bytes[start, end) with the masking key rotated to bytes[start] (its
 * top byte first): the key rotated past them.
 */
export function unmask(bytes, start, end, key) @ "xs_websocket_mask_unmask";
