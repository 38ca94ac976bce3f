/*
 * bench/heap: the XS machine's counters for bench xs (see heap.c).
 * JavaScript, not TypeScript: this folder is an XS app, not host code, and
 * the host's tsconfig (which covers host-harness's .ts files) must not see it.
 */

/** Live slots. */
export function slots() @ "xs_bench_heap_slots";
/** Live chunk bytes (with their headers). */
export function chunks() @ "xs_bench_heap_chunks";
/** Collections so far. */
export function collections() @ "xs_bench_heap_collections";
/** A full collection now. */
export function collect() @ "xs_bench_heap_collect";
/** Switch the collector on or off. */
export function enableCollector(on) @ "xs_bench_heap_enable";
/** sizeof(txSlot) on this build (16 on ESP32, 32 on 64-bit Linux). */
export function slotSize() @ "xs_bench_heap_slot_size";
/** The calling thread's CPU time, ns (heap.c). */
export function now() @ "xs_bench_heap_now";
