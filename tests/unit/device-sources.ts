// The kit's device sources (main.ts and every device folder's modules), for the unit tests that
// hold a rule over all of them.
import * as fs from "node:fs";
import * as path from "node:path";
import { deviceFolders } from "../../host-harness/node-host/module-map.js";

export const projectRoot = path.resolve(import.meta.dirname, "../..");

export const deviceSources: string[] = [
	"main.ts",
	...deviceFolders.flatMap(dir =>
		fs
			.readdirSync(path.join(projectRoot, dir))
			.filter(name => name.endsWith(".ts"))
			.map(name => `${dir}/${name}`),
	),
];
