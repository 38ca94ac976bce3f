/*
 * A user's app on the kit (npm run -s device -- --app <dir>): a folder with
 * a Moddable manifest.json that includes the kit's library manifests through
 * $(XSNETKIT) and lists its own modules, in TypeScript or JavaScript.
 *
 * On the simulator it is built by mcconfig as it would be by hand (XSNETKIT
 * and the kit's tsc supplied by sdkEnvironment). On the Node-hosted device
 * its own modules are type-checked as mcconfig checks them (app-typecheck.ts),
 * compiled by the kit's tsc into a git-ignored folder and resolved by the
 * loader hook (node-host/hooks.ts) from the map this file writes; the kit's
 * modules are the kit's build/node.
 *
 * The harness knows an app is up by one log line, as it knows the kit's own
 * app: `app: services up {json}` (modules/log with the tag "app"), whose
 * JSON names each service's port.
 */

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../lib/project.js";
import { type AppFiles, typeCheckApp } from "./app-typecheck.js";

export interface App extends AppFiles {
	/** The folder's name, for build folders and messages. */
	name: string;
}

/** The app in `dir`, or a clear error when it is not one. */
export function findApp(dir: string): App {
	const abs = path.resolve(dir);
	const manifest = path.join(abs, "manifest.json");
	if (!fs.existsSync(manifest)) throw new Error(`--app ${dir}: no manifest.json in ${abs}`);
	return { dir: abs, manifest, name: path.basename(abs) };
}

/** A git-ignored build folder for one app and target: build/app/<name>-<hash of its path>/<target>. */
export function appBuildDir(app: App, target: string): string {
	const hash = createHash("sha256").update(app.dir).digest("hex").slice(0, 8);
	return path.join(projectRoot, "build", "app", `${app.name}-${hash}`, target);
}

interface ModuleManifest {
	modules?: Record<string, string | string[]>;
	platforms?: Record<string, { modules?: Record<string, string | string[]> }>;
}

const sourceExtensions = [".ts", ".js"];

function sourceFile(base: string): string | undefined {
	return sourceExtensions.map(ext => base + ext).find(file => fs.existsSync(file));
}

/**
 * The app's own modules, as its manifest's `modules` (and its `lin` section's)
 * name them: specifier → source file. Paths of the SDK ($(…)) and of the kit are
 * not the app's; "*" keeps the file's name, a trailing "/*" each file of a folder.
 */
export function appModules(app: App): Map<string, string> {
	const manifest = JSON.parse(fs.readFileSync(app.manifest, "utf8")) as ModuleManifest;
	const found = new Map<string, string>();
	for (const modules of [manifest.modules ?? {}, manifest.platforms?.lin?.modules ?? {}]) {
		for (const [key, value] of Object.entries(modules)) {
			for (const entry of [value].flat()) {
				if (!entry.startsWith("./") && !entry.startsWith("../")) continue;
				const target = path.resolve(app.dir, entry);
				if (target.endsWith("*")) {
					const folder = path.dirname(target);
					for (const name of fs.existsSync(folder) ? fs.readdirSync(folder) : []) {
						const ext = path.extname(name);
						if (!sourceExtensions.includes(ext) || name.endsWith(".d.ts")) continue;
						const base = name.slice(0, -ext.length);
						found.set(key.replace("*", base), path.join(folder, name));
					}
				} else {
					const file = sourceFile(target);
					if (file) found.set(key === "*" ? path.basename(target) : key, file);
				}
			}
		}
	}
	if (!found.has("main")) throw new Error(`${app.manifest} names no "main" module of the app's own ("modules": { "*": "./main" })`);
	return found;
}

/**
 * Type-check the app's own modules as the simulator's build does, then
 * compile them for the Node-hosted device with the kit's tsc (JavaScript
 * too: the same output for both) and return specifier → compiled file.
 * Throws with the compiler's messages when the app does not type-check.
 */
export function compileAppForNode(app: App): Map<string, string> {
	const modules = appModules(app);
	const outDir = appBuildDir(app, "node");
	fs.rmSync(outDir, { recursive: true, force: true });
	fs.mkdirSync(outDir, { recursive: true });
	typeCheckApp(app, modules, outDir);
	const tsconfig = path.join(outDir, "tsconfig.json");
	fs.writeFileSync(
		tsconfig,
		JSON.stringify(
			{
				compilerOptions: {
					target: "es2022",
					module: "preserve",
					moduleResolution: "bundler",
					noCheck: true,
					allowJs: true,
					skipLibCheck: true,
					rootDir: app.dir,
					outDir,
					types: [],
				},
				files: [...new Set(modules.values())],
			},
			null,
			"\t",
		),
	);
	const tsc = path.join(projectRoot, "node_modules", ".bin", "tsc");
	const result = spawnSync(tsc, ["-p", tsconfig], { encoding: "utf8" });
	if (result.status !== 0)
		throw new Error(
			`compiling ${app.dir} for the Node-hosted device failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stdout}${result.stderr}`,
		);
	const compiled = new Map<string, string>();
	for (const [specifier, file] of modules) {
		const out = path.join(outDir, path.relative(app.dir, file)).replace(/\.[jt]s$/, ".js");
		if (!fs.existsSync(out)) throw new Error(`tsc left no ${out} for ${file}`);
		compiled.set(specifier, out);
	}
	return compiled;
}
