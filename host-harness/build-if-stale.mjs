// The compiled harness (build/node), compiled first when it is missing or
// older than a source file: what host-harness/bin.mjs runs and what
// host-harness/testing.mjs exports come from there, with no step to
// remember and nothing asked of the registry.

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The newest modification time of the .ts files under these folders. */
function newestSource(folders) {
	let newest = 0;
	const walk = dir => {
		for (const entry of readdirSync(dir, { withFileTypes: true })) {
			const file = join(dir, entry.name);
			if (entry.isDirectory()) walk(file);
			else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(file).mtimeMs);
		}
	};
	for (const folder of folders) if (existsSync(join(root, folder))) walk(join(root, folder));
	return newest;
}

/** The compiled file of host-harness/<name>.ts, built first when stale; exits 1 (saying so) when the build fails. */
export function compiled(name) {
	const file = join(root, "build", "node", "host-harness", `${name}.js`);
	if (!existsSync(file) || newestSource(["host-harness", "modules", "tcp", "udp", "websocket", "wifi", "sntp", "mdns", "app"]) > statSync(file).mtimeMs) {
		const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
		const built = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { cwd: root, stdio: ["ignore", 2, 2] });
		if (built.status !== 0) {
			process.stderr.write("host-harness: the build failed (npm run build shows why)\n");
			process.exit(built.status ?? 1);
		}
	}
	return file;
}
