// The Node host's module routing: the same Moddable specifiers resolve the
// same way for the type checker (tsconfig.json paths), vitest (aliases) and
// the Node-hosted device (the loader hook), and device code cannot reach a
// Node API through it.

import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { resolve } from "../../host-harness/node-host/hooks.js";
import { deviceFolders, platformModules } from "../../host-harness/node-host/module-map.js";

const root = path.resolve(__dirname, "../..");
// The hook finds the device build two folders above itself: build/node when
// compiled, the repository itself when vitest runs it from source.
const built = (file: string) => pathToFileURL(path.join(root, file)).href;

describe("node host module routing", () => {
	it("tsconfig.json maps every platform module to its provider, and the provider exists", () => {
		const text = fs.readFileSync(path.join(root, "tsconfig.json"), "utf8").replace(/^\s*\/\/.*$/gm, "");
		const paths = JSON.parse(text).compilerOptions.paths as Record<string, string[]>;
		for (const [specifier, file] of Object.entries(platformModules)) {
			expect(paths[specifier], specifier).toEqual([`./host-harness/node-host/${file}.ts`]);
			expect(fs.existsSync(path.join(root, "host-harness/node-host", `${file}.ts`)), file).toBe(true);
		}
		for (const folder of deviceFolders) expect(paths[`${folder}/*`]).toEqual([`./${folder}/*`]);
	});

	it("the loader hook routes Moddable modules to providers and device modules to their build", async () => {
		const next = async (specifier: string) => ({ url: `next:${specifier}` });
		const fromDevice = { parentURL: built("app/tcp-echo-server.js") };
		expect((await resolve("embedded:io/socket/tcp", fromDevice, next)).url).toMatch(/node-host\/socket-tcp\.js$/);
		expect((await resolve("tcp/connection", fromDevice, next)).url).toMatch(/\/tcp\/connection\.js$/);
		expect((await resolve("timer", fromDevice, next)).url).toMatch(/node-host\/timer\.js$/);
		// Our native module (websocket/utf8.c) goes to its host twin, not to the websocket/ folder.
		expect((await resolve("websocket/utf8", fromDevice, next)).url).toMatch(/node-host\/utf8\.js$/);
		expect((await resolve("websocket/mask", fromDevice, next)).url).toMatch(/node-host\/mask\.js$/);
		expect((await resolve("websocket/validation", fromDevice, next)).url).toMatch(/\/websocket\/validation\.js$/);
	});

	it("refuses a Node API imported by device code, as mcconfig would fail to build it", async () => {
		const next = async (specifier: string) => ({ url: `next:${specifier}` });
		const fromDevice = { parentURL: built("websocket/server.js") };
		await expect(resolve("node:net", fromDevice, next)).rejects.toThrow(/device code may import only Moddable modules and its own: "node:net"/);
		await expect(resolve("ws", fromDevice, next)).rejects.toThrow(/has no provider/);
		const fromHarness = { parentURL: built("host-harness/start.js") };
		expect((await resolve("node:net", fromHarness, next)).url).toBe("next:node:net");
	});
});
