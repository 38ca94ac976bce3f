/*
 * What mcconfig built, found in its output folder. A build folder holds one
 * app folder per manifest folder name (mcconfig names them after it), so a
 * build folder copied from another checkout, or a checkout renamed, leaves
 * another app's files beside this one's: the one named after this app is
 * taken, else the newest.
 */

import * as fs from "node:fs";
import * as path from "node:path";

/** The file `name` under `dir` that mcconfig made for the app in `manifestDir`. */
export function builtFile(dir: string, name: string, manifestDir: string): string | undefined {
	if (!fs.existsSync(dir)) return undefined;
	const files = fs
		.readdirSync(dir, { withFileTypes: true, recursive: true })
		.filter(entry => entry.isFile() && entry.name === name)
		.map(entry => path.join(entry.parentPath, entry.name));
	const named = files.filter(file => path.basename(path.dirname(file)) === path.basename(manifestDir));
	const candidates = named.length ? named : files;
	return candidates.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
}
