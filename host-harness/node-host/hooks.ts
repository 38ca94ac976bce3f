/*
 * Module resolution for the Node-hosted device (a node:module `register`
 * hook): Moddable module specifiers resolve to the host providers in this
 * folder, the project's device modules to their compiled files, and device
 * code that imports anything else (a Node API, an npm package) fails to
 * load, as it would fail to build with mcconfig.
 *
 * A user's app (npm run -s device -- --app, device/app.ts) brings its own
 * modules, "main" among them: XSNK_APP_MODULES maps each specifier to its
 * compiled file, ahead of the kit's.
 */

import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { deviceFolders, platformModules } from "./module-map.js";

const providerDir = path.dirname(fileURLToPath(import.meta.url));
const buildRoot = path.resolve(providerDir, "..", ".."); // build/node
const deviceModule = new RegExp(`^(${deviceFolders.join("|")})/[\\w-]+$`);
const appModules = new Map<string, string>(Object.entries(JSON.parse(process.env.XSNK_APP_MODULES ?? "{}") as Record<string, string>));
const deviceRoots = [path.join(buildRoot, "main.js"), ...deviceFolders.map(folder => path.join(buildRoot, folder) + path.sep), ...appModules.values()];

function isDeviceFile(url: string | undefined): boolean {
	if (!url?.startsWith("file:")) return false;
	const file = fileURLToPath(url);
	return deviceRoots.some(root => file === root || file.startsWith(root));
}

interface ResolveContext {
	parentURL?: string;
}

type NextResolve = (specifier: string, context: ResolveContext) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<{ url: string; shortCircuit?: boolean }> {
	const provider = platformModules[specifier];
	if (provider) return { url: pathToFileURL(path.join(providerDir, `${provider}.js`)).href, shortCircuit: true };
	const appModule = appModules.get(specifier);
	if (appModule) return { url: pathToFileURL(appModule).href, shortCircuit: true };
	if (specifier === "main" || deviceModule.test(specifier)) return { url: pathToFileURL(path.join(buildRoot, `${specifier}.js`)).href, shortCircuit: true };
	if (isDeviceFile(context.parentURL))
		throw new Error(`device code may import only Moddable modules and its own: "${specifier}" (imported by ${context.parentURL}) has no provider`);
	return nextResolve(specifier, context);
}
