/*
 * The type check of a user's app before it runs on the Node-hosted device,
 * as the simulator's and a board's build make it: mcconfig runs the kit's
 * tsc on each of the app's .ts modules (tsconfig-base.json in its build's
 * modules folder) with Moddable's typings, every module of the manifests as
 * `paths`, target and lib es2025, and the compiler options of the manifests'
 * `typescript.tsconfig`, and refuses the build on an error. The Node-hosted
 * device compiles without checking (tsc noCheck, for speed and for
 * JavaScript apps), so without this an app that does not build for the
 * simulator would boot and serve on node.
 *
 * Here: the same tsc and the same options, with @moddable/typings (the npm
 * twin of the SDK's typings, installed with the kit) and the kit's own
 * declarations (modules/typings); the app's own .ts modules are checked,
 * and the kit's modules they import with them. JavaScript modules resolve
 * but are not checked, as mcconfig checks them only when asked (typeCheck).
 */

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../lib/project.js";
import { deviceFolders } from "../node-host/module-map.js";

/** Every .d.ts under dir. */
function declarations(dir: string): string[] {
	return fs
		.readdirSync(dir, { recursive: true, encoding: "utf8" })
		.filter(name => name.endsWith(".d.ts"))
		.map(name => path.join(dir, name))
		.sort();
}

/** What the type check needs of an app (host-harness/device/app's App is one). */
export interface AppFiles {
	/** Absolute path of the app's folder. */
	dir: string;
	/** Its manifest.json. */
	manifest: string;
}

/** The compiler options the app's own manifest gives mcconfig's tsc (typescript.tsconfig.compilerOptions), but for the SDK's paths. */
function manifestCompilerOptions(app: AppFiles): Record<string, unknown> {
	const manifest = JSON.parse(fs.readFileSync(app.manifest, "utf8")) as { typescript?: { tsconfig?: { compilerOptions?: Record<string, unknown> } } };
	const { types: _types, paths: _paths, ...options } = manifest.typescript?.tsconfig?.compilerOptions ?? {};
	return options;
}

/**
 * Type-check the app's TypeScript modules (specifier → source file, as
 * appModules finds them). Throws an Error with the compiler's messages,
 * their files relative to the app's folder, when it finds an error.
 */
export function typeCheckApp(app: AppFiles, modules: ReadonlyMap<string, string>, outDir: string): void {
	const sources = [...new Set(modules.values())];
	const checked = sources.filter(file => file.endsWith(".ts"));
	if (!checked.length) return;
	const paths: Record<string, string[]> = {};
	for (const folder of deviceFolders.filter(name => name !== "app")) paths[`${folder}/*`] = [path.join(projectRoot, folder, "*")];
	for (const [specifier, file] of modules) paths[specifier] = [file.replace(/\.[jt]s$/, "")];
	const tsconfig = path.join(outDir, "tsconfig.check.json");
	fs.writeFileSync(
		tsconfig,
		JSON.stringify(
			{
				compilerOptions: {
					// mcconfig's (tools/mcmanifest.js, TSConfigFile), then the manifest's
					forceConsistentCasingInFileNames: true,
					module: "preserve",
					resolveJsonModule: true,
					lib: ["es2025"],
					target: "es2025",
					...manifestCompilerOptions(app),
					moduleResolution: "bundler",
					paths,
					types: [],
					skipLibCheck: true,
					allowJs: true,
					checkJs: false,
					noEmit: true,
				},
				files: [
					...declarations(path.join(projectRoot, "node_modules", "@moddable", "typings")),
					...declarations(path.join(projectRoot, "modules", "typings")),
					...checked,
				],
			},
			null,
			"\t",
		),
	);
	const tsc = path.join(projectRoot, "node_modules", ".bin", "tsc");
	const result = spawnSync(tsc, ["-p", tsconfig, "--pretty", "false"], { cwd: app.dir, encoding: "utf8" });
	if (result.status === 0) return;
	const messages = `${result.stdout}${result.stderr}`.trim() || (result.error?.message ?? `exit ${result.status}`);
	throw new Error(`${app.dir} does not type-check (the kit's tsc, as the simulator's build checks it; the build stops here too):\n${messages}`);
}
