/*
 * bench/utf8: what a native UTF-8 validator would cost (a proposal measured
 * by bench xs, not device code). Same rules and same incremental state as
 * websocket/validation.ts (RFC 3629, Unicode Table 3-7, fail at the first
 * byte that proves a sequence invalid), in C.
 *
 * validate(buffer, start, end, state) -> state, or -1 when invalid.
 * state = need | lower << 8 | upper << 16 (0 between code points).
 */

#include "xsmc.h"

void xs_bench_utf8_validate(xsMachine *the)
{
	uint8_t *bytes;
	xsUnsignedValue length;
	xsmcGetBufferReadable(xsArg(0), (void **)&bytes, &length);
	int32_t start = xsmcToInteger(xsArg(1)), end = xsmcToInteger(xsArg(2));
	int32_t state = xsmcToInteger(xsArg(3));
	if ((start < 0) || (end < start) || ((xsUnsignedValue)end > length))
		xsRangeError("invalid range");
	int need = state & 0xFF, lower = need ? (state >> 8) & 0xFF : 0x80, upper = need ? (state >> 16) & 0xFF : 0xBF;
	const uint8_t *p = bytes + start, *limit = bytes + end;
	while (p < limit) {
		uint8_t b = *p++;
		if (need) {
			if ((b < lower) || (b > upper))
				goto bad;
			need--;
			lower = 0x80;
			upper = 0xBF;
		}
		else if (b < 0x80)
			continue;
		else if (b < 0xC2)
			goto bad;
		else if (b < 0xE0)
			need = 1;
		else if (b < 0xF0) {
			need = 2;
			if (b == 0xE0)
				lower = 0xA0;
			else if (b == 0xED)
				upper = 0x9F;
		}
		else if (b < 0xF5) {
			need = 3;
			if (b == 0xF0)
				lower = 0x90;
			else if (b == 0xF4)
				upper = 0x8F;
		}
		else
			goto bad;
	}
	xsmcSetInteger(xsResult, need ? (need | (lower << 8) | (upper << 16)) : 0);
	return;
bad:
	xsmcSetInteger(xsResult, -1);
}
