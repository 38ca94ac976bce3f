/*
 * bench memory's table: each phase's live slots and chunk bytes, per
 * connection where it is a per-connection figure, in the simulator's units
 * and a board's, with the budget they leave in a board's initial heaps.
 */

import { delta } from "./heap.js";
import type { MemoryResult } from "./memory.js";
import { KiB } from "./stats.js";

const grouped = (value: number) => {
	const rounded = Math.round(value * 10) / 10;
	const [whole, fraction] = String(Math.abs(rounded)).split(".");
	return `${rounded < 0 ? "-" : ""}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, " ")}${fraction ? `.${fraction}` : ""}`;
};
const signed = (value: number) => (value > 0 ? `+${grouped(value)}` : grouped(value));
const fitText = (n: number) => (Number.isFinite(n) ? String(n) : "no limit");

export function renderMemoryTable(result: MemoryResult): string {
	const r = result.readings;
	const row = (label: string, d: { slots: number; chunk: number }, sign = false) => {
		const f = sign ? signed : grouped;
		return [label, f(d.slots), f(d.slots * result.slotSize), f(d.slots * result.boardSlotSize), f(d.chunk)];
	};
	const rows = [
		["reading (after a forced full GC)", "live slots", `slot B sim`, `slot B esp32`, "chunk B"],
		row("idle app", r.idle),
		row(`per idle WS connection (of ${result.perWs.of})`, result.perWs),
		row(`per idle TCP connection (of ${result.perTcp.of})`, result.perTcp),
		row(`per in-flight ${result.perInFlight.size / KiB} KiB WS message (of ${result.perInFlight.of})`, result.perInFlight),
		...(result.perBlocked ? [row(`per WS connection, echo blocked (of ${result.perBlocked.of})`, result.perBlocked)] : []),
		row("after WS clients closed - idle", delta(r.afterWs, r.idle), true),
		row("after TCP clients closed - idle", delta(r.afterTcp, r.idle), true),
		...(r.afterBlocked ? [row("after blocked WS clients dropped - idle", delta(r.afterBlocked, r.idle), true)] : []),
		...result.faultsVsIdle.map((d, i) => row(`after faults, round ${i + 1} - idle`, d, true)),
	];
	const widths = rows[0].map((_, c) => Math.max(...rows.map(x => x[c].length)));
	const line = (x: string[]) =>
		x
			.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
			.join("  ")
			.trimEnd();
	const b = result.budget;
	const c = b.creation;
	const out = [
		`XS heaps, Moddable simulator debug build (${result.machine}: ${result.slotSize}-byte slots; esp32: ${result.boardSlotSize}-byte slots)`,
		line(rows[0]),
		widths.map(w => "-".repeat(w)).join("  "),
		...rows.slice(1).map(line),
		`fault round: ${result.faultCases.join("; ")}`,
		`esp32 budget, default creation (chunk ${c.chunkInitial} B +${c.chunkIncremental}, ${c.slotsInitial} slots +${c.slotsIncremental}, static ${c.static}): ` +
			`idle app ${r.idle.slots} slots (${grouped(r.idle.slots * result.boardSlotSize)} B) + ${grouped(r.idle.chunk)} chunk B = ${grouped(b.idleBoardBytes)} B; ` +
			`in the initial heaps beside it fit ${fitText(b.ws.fit)} idle WS clients (chunk ${fitText(b.ws.byChunk)}, slots ${fitText(b.ws.bySlots)}) ` +
			`or ${fitText(b.tcp.fit)} idle TCP clients (chunk ${fitText(b.tcp.byChunk)}, slots ${fitText(b.tcp.bySlots)})` +
			(r.idle.slots > c.slotsInitial ? `; the idle app alone is past the initial ${c.slotsInitial} slots, so the slot heap has grown already` : ""),
		`esp32 XS heap per idle client: WS ${grouped(b.boardBytesPerWs)} B, TCP ${grouped(b.boardBytesPerTcp)} B (slots x ${result.boardSlotSize} + chunk bytes; chunk bytes are the simulator's, at most that on the board); ` +
			`with static 0 the heaps grow from the ESP32's own heap (${c.slotsIncremental} slots = ${c.slotsIncremental * result.boardSlotSize} B, ${c.chunkIncremental} B chunks at a time) until it runs out`,
		`esp32 XS heap at the default limits (${b.atDefaults.wsClients} WS + ${b.atDefaults.tcpClients} TCP clients, all idle): ${grouped(b.atDefaults.boardBytes)} B`,
	];
	if (result.simCreation)
		out.push(
			`simulator creation: chunk ${result.simCreation.chunkInitial} +${result.simCreation.chunkIncremental}, ${result.simCreation.slotsInitial} slots +${result.simCreation.slotsIncremental}, static ${result.simCreation.static} (${result.simCreation.source})`,
		);
	if (result.perBlocked) {
		const mib = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
		out.push(
			`note: blocked: each client sent ${result.perInFlight.size / KiB} KiB messages without reading until the device stopped reading (${result.perBlocked.sentBytes.map(mib).join(", ")} sent); the row is against the same clients open and idle`,
		);
	}
	for (const note of result.notes) out.push(`note: ${note}`);
	const disagreed = Object.entries(r)
		.flatMap(([name, v]) => (Array.isArray(v) ? v.map((x, i) => [`${name}[${i}]`, x] as const) : [[name, v] as const]))
		.filter(([, v]) => !v.agreed);
	if (disagreed.length) out.push(`note: no two collections agreed for ${disagreed.map(([name]) => name).join(", ")}: the smallest of three is shown`);
	return `${out.join("\n")}\n`;
}
