/*
 * bench/utf8: a native UTF-8 validator, measured by bench xs as a proposal
 * (see utf8.c). JavaScript: this folder is an XS app, not host code.
 */

/** Validate buffer[start, end) from state; the new state (0: on a code point boundary), or -1 when invalid. */
export function validate(buffer, start, end, state) @ "xs_bench_utf8_validate";
