#!/usr/bin/env node
// The host-harness program (package.json "bin"; `npm run -s harness -- …`
// and `node host-harness/bin.mjs …` come here without asking the registry).
// It runs the compiled CLI, compiling the project first when the build is
// missing or older than a source file.
import { existsSync, readdirSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "build", "node", "host-harness", "cli.js");

/** The newest modification time of the .ts files under these folders. */
function newestSource(folders) {
	let newest = 0;
	const walk = dir => {
		for (const entry of readdirSync(dir, { withFileTypes: true })) {
			const file = join(dir, entry.name);
			if (entry.isDirectory())
				walk(file);
			else if (entry.name.endsWith(".ts"))
				newest = Math.max(newest, statSync(file).mtimeMs);
		}
	};
	for (const folder of folders)
		if (existsSync(join(root, folder)))
			walk(join(root, folder));
	return newest;
}

if (!existsSync(cli) || newestSource(["host-harness", "modules", "tcp", "udp", "websocket", "wifi", "app"]) > statSync(cli).mtimeMs) {
	const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
	const built = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { cwd: root, stdio: ["ignore", 2, 2] });
	if (built.status !== 0) {
		process.stderr.write("host-harness: the build failed (npm run build shows why)\n");
		process.exit(built.status ?? 1);
	}
}
const { runAsProgram } = await import(pathToFileURL(cli).href);
runAsProgram(process.argv.slice(2));
