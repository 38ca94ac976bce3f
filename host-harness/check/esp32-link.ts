/*
 * host-harness check --app <dir> --target esp32-link
 *
 * An app's esp32 image, as far as this PC can build it without ESP-IDF
 * (device/esp32.ts, as the kit's esp32-build suite builds the kit's app):
 * mcconfig -p esp32 resolves the manifests, tsc and xsc compile every
 * module, xsl links the JS side. What it reports:
 * - that it compiled and linked, or the tool's own error;
 * - the image's JS side: its modules, their bytecode (the .xsb files xsl
 *   links), the preloaded heap xsl made (instances and keys: objects that
 *   live in flash, not in the XS heap);
 * - which modules are preloaded and which are not (the app's main, and any
 *   module of the app's own that its manifest does not preload, run from
 *   the RAM heap when imported);
 * - xsl's warnings (a preloaded object it must copy to RAM).
 * The release build (no -d), as a board runs it unless debugged.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { type App, appBuildDir, appModules } from "../device/app.js";
import { buildEsp32JsSide } from "../device/esp32.js";
import { CommandFailure } from "../lib/arguments.js";
import { findSdk } from "../lib/sdk.js";
import type { AppCase } from "./app.js";

export interface Esp32Image {
	/** Compiled modules (mcconfig's names: "~.embedded/io/socket/tcp" for embedded:io/socket/tcp). */
	modules: number;
	/** Bytes of bytecode (the .xsb files) in the image. */
	bytecode: number;
	/** The preloaded heap xsl made, as it reports it. */
	preloadedHeap?: { instances: number; keys: number };
	preloaded: string[];
	notPreloaded: string[];
	/** The app's own modules (its manifest's), each with whether it is preloaded. */
	own: { module: string; preloaded: boolean }[];
	warnings: string[];
	/** The linked JS side (C source for the ESP-IDF build). */
	archive: string;
}

export interface LinkCheck {
	cases: AppCase[];
	image?: Esp32Image;
}

/** Build the app's JS image for esp32 and say what it holds. Throws CommandFailure when the SDK is not here. */
export async function linkForEsp32(app: App, config: Record<string, string>, say: (text: string) => void): Promise<LinkCheck> {
	const lookup = findSdk();
	if ("missing" in lookup) throw new CommandFailure(`the esp32 link check needs the Moddable SDK: ${lookup.missing}`);
	const name = `${app.name} compiles and links for esp32 (mcconfig -p esp32, xsc, xsl)`;
	say(`check: building ${app.name}'s JS image for esp32 (release; tens of seconds) …`);
	let build;
	try {
		build = await buildEsp32JsSide(lookup.sdk, config, false, { manifestDir: app.dir, outDir: appBuildDir(app, "esp32") });
	} catch (e) {
		return { cases: [{ name, state: "failed", error: (e as Error).message }] };
	}
	const flat = JSON.parse(fs.readFileSync(path.join(path.dirname(build.archive), "manifest_flat.json"), "utf8")) as { preload?: string[] };
	const preload = new Set(flat.preload ?? []);
	const names = [...build.modules.keys()].sort();
	const heap = /^### (\d+) instances, (\d+) keys/m.exec(build.output);
	const image: Esp32Image = {
		modules: names.length,
		bytecode: names.reduce((sum, module) => sum + fs.statSync(build.modules.get(module)!).size, 0),
		preloadedHeap: heap ? { instances: Number(heap[1]), keys: Number(heap[2]) } : undefined,
		preloaded: names.filter(module => preload.has(module)),
		notPreloaded: names.filter(module => !preload.has(module)),
		own: [...appModules(app).keys()].sort().map(module => ({ module, preloaded: preload.has(module) })),
		warnings: build.output.split("\n").filter(line => line.startsWith("### warning:")),
		archive: build.archive,
	};
	const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
	const cases: AppCase[] = [
		{
			name: `${name}: ${image.modules} modules, ${kb(image.bytecode)} of bytecode${image.preloadedHeap ? `, preloaded heap ${image.preloadedHeap.instances} instances and ${image.preloadedHeap.keys} keys` : ""}`,
			state: "passed",
		},
		{
			name: `${image.preloaded.length} of ${image.modules} modules preloaded (in flash); not preloaded: ${image.notPreloaded.join(", ") || "none"}; the app's own: ${image.own.map(m => `${m.module}${m.preloaded ? " (preloaded)" : ""}`).join(", ")}`,
			state: "passed",
		},
	];
	if (image.warnings.length)
		cases.push({
			name: `xsl warned ${image.warnings.length} time(s) (an object of a preloaded module it must copy to RAM): ${image.warnings.map(line => line.slice("### warning: ".length)).join("; ")}`,
			state: "passed",
		});
	return { cases, image };
}
