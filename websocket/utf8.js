/*
 * websocket/utf8: the native UTF-8 validation loop (utf8.c), for
 * websocket/validation.ts's Utf8Validator. JavaScript, not TypeScript: the
 * `@` host-function declaration is XS syntax (types: utf8.d.ts). On the
 * Node-hosted device, host-harness/node-host/utf8.ts stands in for it.
 */

/**
 * Validate bytes[start, end) from `state` (0 on a code point boundary):
 * the new state, or -1 at the first byte that proves the input invalid.
 */
export function validate(bytes, start, end, state) @ "xs_websocket_utf8_validate";
