/*
 * websocket/mask: a payload's masking (RFC 6455 5.3: each byte XORed with
 * the 4-byte masking key, the key's byte i % 4 on payload byte i), in C a
 * machine word at a time. Moddable's Logical.xor goes a byte at a time with
 * a test per byte: about 1 ns a byte on the bench machine's XS, most of the
 * time a 64 KiB message took to receive.
 *
 * unmask(bytes, start, end, key) -> the key rotated past bytes[start, end).
 *
 * key is the masking key as a 32-bit number rotated to bytes[start]: its top
 * byte applies to bytes[start], the next to bytes[start + 1], and so on
 * (websocket/frame-parser holds it so: no buffer for it, no offset to keep);
 * the result is the key for the byte after end, to pass to the next call.
 * Masking and unmasking are the same operation.
 *
 * Safe for any arguments, as websocket/utf8.c: bytes is anything
 * xsmcGetBufferWritable takes (ArrayBuffer, a byte-sized typed array or
 * DataView, honouring its byteOffset and length); start and end whole
 * numbers with 0 <= start <= end <= the view's length (RangeError otherwise,
 * never a write outside the view); key a number (its low 32 bits). Nothing
 * runs JS or allocates between taking the buffer's address and the end of
 * the loop. Aligned word stores only (the ESP32 faults on unaligned ones).
 */

#include "xsmc.h"
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
typedef uintptr_t __attribute__((__may_alias__)) aliasedWord;
#define xorWord(p, w) (*(aliasedWord *)(void *)(p) ^= (w))
#else
static inline void xorWord(uint8_t *p, uintptr_t w)
{
	uintptr_t v;
	memcpy(&v, p, sizeof(v));
	v ^= w;
	memcpy(p, &v, sizeof(v));
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
		if (!((value >= 0) && (value <= limit)) || ((double)(int32_t)value != value))
			xsRangeError("%s out of range", name);
		return (int32_t)value;
	}
	xsTypeError("%s: not a number", name);
	return 0;
}

void xs_websocket_mask_unmask(xsMachine *the)
{
	if (xsmcArgc < 4)
		xsTypeError("unmask(bytes, start, end, key)");
	uint32_t key;
	int type = xsmcTypeOf(xsArg(3));
	if (xsIntegerType == type)
		key = (uint32_t)xsmcToInteger(xsArg(3));
	else if (xsNumberType == type) {
		double value = xsmcToNumber(xsArg(3));
		if (!((value >= -2147483648.0) && (value <= 4294967295.0)) || ((double)(int64_t)value != value))
			xsRangeError("invalid key");
		key = (uint32_t)(int64_t)value;
	}
	else
		xsTypeError("key: not a number");
	// argumentIndex takes numbers only (no valueOf to run) and allocates
	// nothing unless it throws: the address stays good through the loop.
	void *data;
	xsUnsignedValue length;
	xsmcGetBufferWritable(xsArg(0), &data, &length);
	if (length > 0x7FFFFFFF)
		xsRangeError("buffer too long");
	int32_t end = argumentIndex(the, &xsArg(2), (int32_t)length, "end");
	int32_t start = argumentIndex(the, &xsArg(1), end, "start");
	uint8_t *p = (uint8_t *)data + start, *limit = (uint8_t *)data + end;
	// A byte at a time up to a word boundary, the key turning a byte each.
	while ((p < limit) && ((uintptr_t)p & (sizeof(uintptr_t) - 1))) {
		*p++ ^= (uint8_t)(key >> 24);
		key = (key << 8) | (key >> 24);
	}
	if ((size_t)(limit - p) >= sizeof(uintptr_t)) {
		// The key's bytes in memory order, repeated over a word (a word is a
		// whole number of keys: the key is where it was after each).
		uint8_t bytes[sizeof(uintptr_t)];
		for (size_t i = 0; i < sizeof(uintptr_t); i++)
			bytes[i] = (uint8_t)(key >> (24 - ((i & 3) << 3)));
		uintptr_t w;
		memcpy(&w, bytes, sizeof(w));
		do {
			xorWord(p, w);
			p += sizeof(uintptr_t);
		} while ((size_t)(limit - p) >= sizeof(uintptr_t));
	}
	while (p < limit) {
		*p++ ^= (uint8_t)(key >> 24);
		key = (key << 8) | (key >> 24);
	}
	xsmcSetInteger(xsResult, (int32_t)key);
}
