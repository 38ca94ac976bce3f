/*
 * `Resource` for the Node-hosted device: the files of the directory named
 * by XSNK_HOST_RESOURCES stand for the resources a manifest would build
 * into the app (mcconfig's "resources"). Without it, no resource exists.
 *
 * Deviation: a Resource is an ArrayBuffer copy of the file (on the
 * platforms a read-only HostBuffer in flash); slice() behaves alike.
 */

import * as fs from "node:fs";
import * as path from "node:path";

function file(name: string): string | undefined {
	const dir = process.env.XSNK_HOST_RESOURCES;
	if (!dir || name.includes("/") || name.includes(".."))
		return undefined;
	const full = path.join(dir, name);
	return fs.existsSync(full) ? full : undefined;
}

export default class Resource {
	readonly #bytes: Uint8Array;

	constructor(name: string) {
		const full = file(name);
		if (!full)
			throw new Error(`Resource "${name}" not found`);
		this.#bytes = new Uint8Array(fs.readFileSync(full));
	}

	get byteLength(): number {
		return this.#bytes.byteLength;
	}

	slice(begin: number, end?: number): ArrayBuffer {
		return this.#bytes.slice(begin, end).buffer;
	}

	static exists(name: string): boolean {
		return file(name) !== undefined;
	}
}
