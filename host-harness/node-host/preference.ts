/*
 * `preference` for the Node-hosted device, after Moddable's Preference:
 * set(domain, key, value), get(domain, key), delete(domain, key),
 * keys(domain); values are strings, booleans, numbers or ArrayBuffers and
 * survive a reboot. Here they live in the JSON file named by
 * XSNK_HOST_PREFS (so a test can reboot a device and keep them), else in
 * memory for the life of the process.
 *
 * Deviation: no size limits (esp32's NVS limits key length to 15 bytes and
 * values to a few KB; the device code keeps within them).
 */

import * as fs from "node:fs";

type Value = string | boolean | number | ArrayBuffer;
type Stored = string | boolean | number | { buffer: number[] };

const file = process.env.XSNK_HOST_PREFS;
let cache: Record<string, Record<string, Stored>> = {};
if (file && fs.existsSync(file)) cache = JSON.parse(fs.readFileSync(file, "utf8"));

function save(): void {
	if (file) fs.writeFileSync(file, JSON.stringify(cache));
}

export default class Preference {
	static set(domain: string, key: string, value: Value): void {
		(cache[domain] ??= {})[key] = value instanceof ArrayBuffer ? { buffer: [...new Uint8Array(value)] } : value;
		save();
	}

	static get(domain: string, key: string): Value | undefined {
		const value = cache[domain]?.[key];
		if (value && typeof value === "object") return Uint8Array.from(value.buffer).buffer;
		return value;
	}

	static delete(domain: string, key: string): void {
		if (cache[domain]?.[key] === undefined) return;
		delete cache[domain][key];
		if (!Object.keys(cache[domain]).length) delete cache[domain];
		save();
	}

	static keys(domain: string): string[] {
		return Object.keys(cache[domain] ?? {});
	}
}
