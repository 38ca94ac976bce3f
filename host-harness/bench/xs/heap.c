/*
 * Counters of the XS machine for bench xs, read in-process: live slots and
 * chunk bytes (the->currentHeapCount / currentChunksSize, which XS keeps in
 * every build, instrumented or not), forced collections, the collector
 * switched off around an allocation count, and the thread's CPU clock in ns
 * (the measured loops do no I/O: CPU time is their cost, and unlike wall
 * time it does not count the turns other processes take on a shared machine).
 *
 * Why our own module: the SDK's Instrumentation module exposes heap sizes
 * to JS only when the host registers callbacks (the simulator's screen.c
 * does, under mxInstrument, i.e. a -d or -i build); this reads the same
 * fields directly, in the release build the figures are timed with.
 */

#include "xsAll.h"
#include "xsmc.h"
#include <time.h>

void xs_bench_heap_slots(xsMachine *the)
{
	xsmcSetInteger(xsResult, (xsIntegerValue)the->currentHeapCount);
}

void xs_bench_heap_chunks(xsMachine *the)
{
	xsmcSetInteger(xsResult, (xsIntegerValue)the->currentChunksSize);
}

void xs_bench_heap_collections(xsMachine *the)
{
#ifdef mxInstrument
	xsmcSetInteger(xsResult, (xsIntegerValue)the->garbageCollectionCount);
#else
	xsmcSetInteger(xsResult, -1);		// counted only in instrumented builds
#endif
}

void xs_bench_heap_collect(xsMachine *the)
{
	xsCollectGarbage();
}

void xs_bench_heap_enable(xsMachine *the)
{
	xsEnableGarbageCollection(xsmcTest(xsArg(0)));
}

void xs_bench_heap_slot_size(xsMachine *the)
{
	xsmcSetInteger(xsResult, (xsIntegerValue)sizeof(txSlot));
}

void xs_bench_heap_now(xsMachine *the)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	xsmcSetNumber(xsResult, (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec);
}
