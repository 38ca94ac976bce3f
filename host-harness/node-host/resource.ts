/*
 * `Resource` for the Node-hosted device: the files of the directory named
 * by XSNK_HOST_RESOURCES stand for the resources a manifest would build
 * into the app (mcconfig's "resources"). Without it, no resource exists.
 *
 * Deviation: a Resource is an ArrayBuffer copy of the file (on the
 * platforms a read-only HostBuffer in flash); slice(), byteLength and
 * writing it to a socket behave alike.
 */

import * as fs from "node:fs";
import * as path from "node:path";

function file(name: string): string | undefined {
	const dir = process.env.XSNK_HOST_RESOURCES;
	if (!dir || name.includes("/") || name.includes("..")) return undefined;
	const full = path.join(dir, name);
	return fs.existsSync(full) ? full : undefined;
}

/** What the constructor returns is an ArrayBuffer: typed as one (the platforms' HostBuffer offers a part of it). */
// biome-ignore lint/correctness/noUnusedVariables: merged with the class below, which it types
interface Resource extends ArrayBuffer {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: see the interface above
class Resource {
	/** An ArrayBuffer holding the file (the platforms' HostBuffer reads alike: byteLength, slice, and as bytes to write). */
	constructor(name: string) {
		const full = file(name);
		if (!full) throw new Error(`Resource "${name}" not found`);
		const bytes = fs.readFileSync(full);
		// biome-ignore lint/correctness/noConstructorReturn: as on the platforms, new Resource() is the file's bytes
		return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
	}

	static exists(name: string): boolean {
		return file(name) !== undefined;
	}
}

export default Resource;
