/*
 * Where the project is, and the device configuration as mcconfig computes it
 * for a host target: the `config` blocks of the project's manifests (top
 * level and the `lin` platform section, the simulator being the host
 * platform), overridden by key=value strings.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, found from this file whether it runs from source or from build/node. */
export const projectRoot = (() => {
	let dir = path.dirname(fileURLToPath(import.meta.url));
	while (!fs.existsSync(path.join(dir, "manifest.json")) || !fs.existsSync(path.join(dir, "package.json"))) {
		const parent = path.dirname(dir);
		if (parent === dir) throw new Error("cannot find the project root (manifest.json beside package.json)");
		dir = parent;
	}
	return dir;
})();

export type DeviceConfig = Record<string, string | number | boolean>;

interface Manifest {
	include?: string | string[];
	config?: DeviceConfig;
	platforms?: Record<string, { config?: DeviceConfig; include?: string | string[] }>;
}

function readManifest(file: string, platform: string, into: DeviceConfig, seen: Set<string>): void {
	if (seen.has(file)) return;
	seen.add(file);
	const manifest = JSON.parse(fs.readFileSync(file, "utf8")) as Manifest;
	const section = manifest.platforms?.[platform];
	const includes = [manifest.include ?? [], section?.include ?? []].flat();
	for (const include of includes) {
		// The kit's own manifests, relative or through $(XSNETKIT); the SDK's carry no config of ours.
		if (include.startsWith(".")) readManifest(path.resolve(path.dirname(file), include), platform, into, seen);
		else if (include.startsWith("$(XSNETKIT)/")) readManifest(path.join(projectRoot, include.slice("$(XSNETKIT)/".length)), platform, into, seen);
	}
	Object.assign(into, manifest.config ?? {}, section?.config ?? {});
}

/**
 * The `mc/config` a host target sees: manifest config for `platform`, then the
 * overrides (strings, as mcconfig passes them). `manifest`: another app's
 * (npm run device -- --app), by default the kit's own app.
 */
export function manifestConfig(platform = "lin", overrides: Record<string, string> = {}, manifest = path.join(projectRoot, "manifest.json")): DeviceConfig {
	const config: DeviceConfig = {};
	readManifest(manifest, platform, config, new Set());
	return { ...config, ...overrides };
}

/** Parse "key=value" arguments (mcconfig's form) into an object. */
export function parseConfigArgs(args: readonly string[]): Record<string, string> {
	const out: Record<string, string> = {};
	for (const arg of args) {
		const eq = arg.indexOf("=");
		if (eq <= 0) throw new Error(`config "${arg}" is not key=value`);
		out[arg.slice(0, eq)] = arg.slice(eq + 1);
	}
	return out;
}
