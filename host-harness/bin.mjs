#!/usr/bin/env node
// `npx host-harness …` from the repo (npm bin): runs the compiled CLI,
// compiling the project first if it has not been built yet.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "build", "node", "host-harness", "cli.js");
if (!existsSync(cli)) {
	const built = spawnSync("npm", ["run", "-s", "build"], { cwd: root, stdio: "inherit" });
	if (built.status !== 0)
		process.exit(built.status ?? 1);
}
const { main } = await import(pathToFileURL(cli).href);
process.exit(await main(process.argv.slice(2)));
