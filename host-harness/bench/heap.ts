/*
 * The XS heap as the memory benches read it: a reading after a forced
 * collection (HeapProbe, through xsbug), the difference of two, the slot
 * size of a build (32 bytes on the 64-bit simulator, 16 on a board), and a
 * build's heap creation settings (its makefile, or the ESP32 defaults).
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { builtFile } from "../device/built-file.js";
import { projectRoot } from "../lib/project.js";
import type { XsbugLogServer, XsbugMachine } from "../xsbug/log-server.js";

/** sizeof(txSlot) on a 32-bit board (ESP32). */
export const boardSlotSize = 16;

/** XS heap creation values, as mcconfig writes them (CREATION = -c chunk,+chunk,slots,+slots,stack,…,static,…). */
export interface Creation {
	chunkInitial: number;
	chunkIncremental: number;
	slotsInitial: number;
	slotsIncremental: number;
	stackSlots: number;
	/** 0: the heaps grow from the system heap as needed; else one fixed block of this many bytes. */
	static: number;
	/** Where these figures come from. */
	source: string;
}

/**
 * The default esp32 creation of this project (`mcconfig -p esp32`): the SDK's
 * examples/manifest_base.json gives esp32 no chunk or heap creation, so
 * tools/mcconfig.js filterCreation supplies its defaults: a 32768-byte chunk
 * heap growing by 1024, 2048 slots growing by 64, 384 stack slots, static 0.
 * Checked against a generated esp32 makefile:
 * CREATION = -c 32768,1024,2048,64,384,32,32,53,3,1024,17,0,main,0
 */
export const esp32DefaultCreation: Creation = {
	chunkInitial: 32768,
	chunkIncremental: 1024,
	slotsInitial: 2048,
	slotsIncremental: 64,
	stackSlots: 384,
	static: 0,
	source: "SDK defaults (tools/mcconfig.js filterCreation; manifest_base.json sets none for esp32)",
};

/** The creation line of an mcconfig-generated makefile under dir, if there is one. */
export function creationFromBuild(dir: string, manifestDir = projectRoot): Creation | undefined {
	const makefile = builtFile(dir, "makefile", manifestDir);
	if (!makefile) return undefined;
	const match = /^CREATION = -c ([^\n]+)$/m.exec(fs.readFileSync(makefile, "utf8"));
	if (!match) return undefined;
	const v = match[1].split(",").map(Number);
	return {
		chunkInitial: v[0],
		chunkIncremental: v[1],
		slotsInitial: v[2],
		slotsIncremental: v[3],
		stackSlots: v[4],
		static: v[11],
		source: path.relative(process.cwd(), makefile) || makefile,
	};
}

/* ------------------------------------------------------------- readings */

export interface HeapReading {
	/** Live chunk bytes ("Chunk used" after the collection). */
	chunk: number;
	/** Live slots ("Slot used" / sizeof(txSlot)). */
	slots: number;
	/** The machine's keys ("Keys used"). */
	keys: number;
	/** Collections it took: 2 when the first two agreed. */
	collections: number;
	/** Whether two consecutive collections agreed (else: the smallest of three, field by field). */
	agreed: boolean;
}

/** sizeof(txSlot) from the machine's login: "XS 17.7.0 64-bit LE 16-bit ID" → 32. */
export function slotSizeOf(version: string): number {
	const bits = /(\d+)-bit\b/.exec(version);
	if (!bits) throw new Error(`cannot tell the machine's word size from its login "${version}"`);
	return bits[1] === "64" ? 32 : 16;
}

/** Heap readings of one machine, each after a forced full collection. */
export class HeapProbe {
	readonly slotSize: number;

	constructor(
		readonly server: XsbugLogServer,
		readonly machine: XsbugMachine,
	) {
		this.slotSize = slotSizeOf(machine.version);
	}

	/** One collection's figures. */
	async collect(): Promise<Omit<HeapReading, "collections" | "agreed">> {
		const { values } = await this.server.collectGarbage(this.machine.tag, 20_000);
		const chunk = values["Chunk used"];
		const slotBytes = values["Slot used"];
		if (chunk === undefined || slotBytes === undefined)
			throw new Error(`the sample has no "Chunk used" or "Slot used" (instruments: ${Object.keys(values).join(", ")})`);
		if (slotBytes % this.slotSize) throw new Error(`"Slot used" ${slotBytes} is not a whole number of ${this.slotSize}-byte slots`);
		return { chunk, slots: slotBytes / this.slotSize, keys: values["Keys used"] ?? 0 };
	}

	/** Collect until two readings in a row agree (chunk and slots), or take the smallest of three. */
	async read(): Promise<HeapReading> {
		const taken: Omit<HeapReading, "collections" | "agreed">[] = [];
		for (let i = 0; i < 3; i++) {
			const r = await this.collect();
			const previous = taken.at(-1);
			taken.push(r);
			if (previous && previous.chunk === r.chunk && previous.slots === r.slots) return { ...r, collections: taken.length, agreed: true };
		}
		return {
			chunk: Math.min(...taken.map(r => r.chunk)),
			slots: Math.min(...taken.map(r => r.slots)),
			keys: Math.min(...taken.map(r => r.keys)),
			collections: taken.length,
			agreed: false,
		};
	}
}

export interface HeapDelta {
	slots: number;
	chunk: number;
	keys: number;
}

/** (after - before) / count, per field. */
export function delta(after: HeapReading, before: HeapReading, count = 1): HeapDelta {
	return { slots: (after.slots - before.slots) / count, chunk: (after.chunk - before.chunk) / count, keys: (after.keys - before.keys) / count };
}

/* --------------------------------------------------------------- device */
