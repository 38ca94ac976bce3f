/*
 * Module resolution for the Node-hosted device (a node:module `register`
 * hook): Moddable module specifiers resolve to the host providers in this
 * folder, the project's device modules to their compiled files, and device
 * code that imports anything else (a Node API, an npm package) fails to
 * load, as it would fail to build with mcconfig.
 */

import { fileURLToPath, pathToFileURL } from "node:url";
import * as path from "node:path";
import { platformModules, deviceFolders } from "./module-map.js";

const providerDir = path.dirname(fileURLToPath(import.meta.url));
const buildRoot = path.resolve(providerDir, "..", "..");		// build/node
const deviceModule = new RegExp(`^(${deviceFolders.join("|")})/[\\w-]+$`);
const deviceRoots = [path.join(buildRoot, "main.js"), ...deviceFolders.map(folder => path.join(buildRoot, folder) + path.sep)];

function isDeviceFile(url: string | undefined): boolean {
	if (!url?.startsWith("file:"))
		return false;
	const file = fileURLToPath(url);
	return deviceRoots.some(root => file === root || file.startsWith(root));
}

interface ResolveContext {
	parentURL?: string;
}

type NextResolve = (specifier: string, context: ResolveContext) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<{ url: string; shortCircuit?: boolean }> {
	const provider = platformModules[specifier];
	if (provider)
		return { url: pathToFileURL(path.join(providerDir, `${provider}.js`)).href, shortCircuit: true };
	if (specifier === "main" || deviceModule.test(specifier))
		return { url: pathToFileURL(path.join(buildRoot, `${specifier}.js`)).href, shortCircuit: true };
	if (isDeviceFile(context.parentURL))
		throw new Error(`device code may import only Moddable modules and its own: "${specifier}" (imported by ${context.parentURL}) has no provider`);
	return nextResolve(specifier, context);
}
