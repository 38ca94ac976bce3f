/*
 * websocket/utf8: the byte loop of UTF-8 validation (RFC 6455 5.6 and 8.1:
 * a text message and a close reason MUST be valid UTF-8; RFC 3629 and
 * Unicode Table 3-7 say which byte sequences are well formed), in C.
 * websocket/validation.ts (Utf8Validator) holds the rules' description and
 * the incremental state; this is its loop.
 *
 * validate(bytes, start, end, state) -> the state after bytes[start, end),
 * or -1 at the first byte that proves the input invalid.
 *
 * state = need | lower << 8 | upper << 16: the continuation bytes still
 * expected for the current code point and the range the next one must lie
 * in; 0 on a code point boundary; -1 once invalid (any negative state
 * is returned as -1 without reading a byte). Passing
 * the state in and out keeps no state here (no globals: preload-safe, any
 * number of connections) and lets a sequence split across reads fail on its
 * first impossible byte.
 *
 * Safe for any arguments: bytes is anything xsmcGetBufferReadable takes
 * (ArrayBuffer, a byte-sized typed array or DataView, honouring its
 * byteOffset and length; a detached buffer is a TypeError); start and end
 * must be whole numbers with 0 <= start <= end <= the view's length
 * (RangeError otherwise, never a read outside the view); a state that is
 * none of the above is a RangeError. Between taking the buffer's address
 * and the end of the loop nothing runs JS or allocates, so the collector
 * cannot move the buffer under the loop. No allocation at all. ASCII is
 * skipped a machine word at a time (aligned loads only).
 */

#include "xsmc.h"
#include <stdint.h>
#include <string.h>

/** The high bit of every byte of a machine word: a word of ASCII has none. */
static const uintptr_t asciiMask = ((uintptr_t)-1 / 0xFF) * 0x80;

/** The machine word at p, which is aligned: one load (a type that may alias bytes; elsewhere memcpy). */
#if defined(__GNUC__)
typedef uintptr_t __attribute__((__may_alias__)) aliasedWord;
#define word(p) (*(const aliasedWord *)(const void *)(p))
#else
static inline uintptr_t word(const uint8_t *p)
{
	uintptr_t w;
	memcpy(&w, p, sizeof(w));
	return w;
}
#endif

/** A whole number in [0, limit] from an argument that is a number; else a TypeError or RangeError. */
static int32_t argumentIndex(xsMachine *the, xsSlot *slot, int32_t limit, const char *name)
{
	int type = xsmcTypeOf(*slot);
	if (xsIntegerType == type) {
		int32_t value = xsmcToInteger(*slot);
		if ((value < 0) || (value > limit))
			xsRangeError("%s out of range", name);
		return value;
	}
	if (xsNumberType == type) {
		double value = xsmcToNumber(*slot);
		// NaN fails both comparisons; a fraction fails the cast-back test.
		if (!((value >= 0) && (value <= limit)) || ((double)(int32_t)value != value))
			xsRangeError("%s out of range", name);
		return (int32_t)value;
	}
	xsTypeError("%s: not a number", name);
	return 0;
}

void xs_websocket_utf8_validate(xsMachine *the)
{
	if (xsmcArgc < 4)
		xsTypeError("validate(bytes, start, end, state)");

	int32_t state = 0;
	int type = xsmcTypeOf(xsArg(3));
	if (xsIntegerType == type)
		state = xsmcToInteger(xsArg(3));
	else if (xsNumberType == type) {
		double value = xsmcToNumber(xsArg(3));
		if (!((value >= -2147483648.0) && (value <= 2147483647.0)) || ((double)(int32_t)value != value))
			xsRangeError("invalid state");
		state = (int32_t)value;
	}
	else
		xsTypeError("state: not a number");
	if (state < 0) {		// invalid stays invalid (any negative state)
		xsmcSetInteger(xsResult, -1);
		return;
	}
	int need = state & 0xFF, lower = 0x80, upper = 0xBF;
	if (need) {
		lower = (state >> 8) & 0xFF;
		upper = (state >> 16) & 0xFF;
		if ((need > 3) || (state >> 24) || (lower < 0x80) || (upper > 0xBF) || (lower > upper))
			xsRangeError("invalid state");
	}
	else if (state)
		xsRangeError("invalid state");

	// argumentIndex takes numbers only (no valueOf to run) and allocates
	// nothing unless it throws: the address stays good through the loop.
	void *data;
	xsUnsignedValue length;
	xsmcGetBufferReadable(xsArg(0), &data, &length);
	if (length > 0x7FFFFFFF)
		xsRangeError("buffer too long");
	int32_t end = argumentIndex(the, &xsArg(2), (int32_t)length, "end");
	int32_t start = argumentIndex(the, &xsArg(1), end, "start");

	const uint8_t *p = (const uint8_t *)data + start, *limit = (const uint8_t *)data + end;
	while (p < limit) {
		uint8_t b = *p++;
		if (need) {
			if ((b < lower) || (b > upper))
				goto bad;
			need--;
			lower = 0x80;
			upper = 0xBF;
		}
		else if (b < 0x80) {
			// Text is mostly ASCII: past the rest of a run a machine word at a
			// time once p is aligned (never an unaligned load: the ESP32 faults
			// on them; until then this loop takes a byte at a time).
			while (!((uintptr_t)p & (sizeof(uintptr_t) - 1)) && ((size_t)(limit - p) >= sizeof(uintptr_t)) && !(word(p) & asciiMask))
				p += sizeof(uintptr_t);
		}
		else if (b < 0xC2)		// a stray continuation byte, or C0/C1 (an overlong 2-byte form)
			goto bad;
		else if (b < 0xE0)
			need = 1;
		else if (b < 0xF0) {
			need = 2;
			if (b == 0xE0)			// E0 80..9F would be overlong
				lower = 0xA0;
			else if (b == 0xED)		// ED A0..BF would be a surrogate, U+D800..DFFF
				upper = 0x9F;
		}
		else if (b < 0xF5) {
			need = 3;
			if (b == 0xF0)			// F0 80..8F would be overlong
				lower = 0x90;
			else if (b == 0xF4)		// F4 90.. would be above U+10FFFF
				upper = 0x8F;
		}
		else					// F5..FF never appear
			goto bad;
	}
	xsmcSetInteger(xsResult, need ? (need | (lower << 8) | (upper << 16)) : 0);
	return;
bad:
	xsmcSetInteger(xsResult, -1);
}
