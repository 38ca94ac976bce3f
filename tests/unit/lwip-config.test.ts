// The lwip tier and an esp32 build read lwIP's control-block counts from one
// sdkconfig fragment (lwip/sdkconfig/sdkconfig.defaults); the app's config
// check reads the same counts from mc/config: both manifests must say what
// the fragment says. And the check itself.

import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { controlBlockWarnings, readConfig } from "app/config-schema";
import { describe, expect, it } from "vitest";
import { parseWebSocketUri } from "websocket/uri";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const fragment = Object.fromEntries(
	fs
		.readFileSync(path.join(root, "lwip/sdkconfig/sdkconfig.defaults"), "utf8")
		.split("\n")
		.filter(line => /^CONFIG_\w+=/.test(line))
		.map(line => line.split("=") as [string, string]),
);

describe("lwIP control blocks", () => {
	it("the esp32 and lwip manifests give the app the fragment's counts", () => {
		const esp32 = JSON.parse(fs.readFileSync(path.join(root, "lwip/esp32-manifest.json"), "utf8")).platforms.esp32.config;
		const lwip = JSON.parse(fs.readFileSync(path.join(root, "lwip/sockets-manifest.json"), "utf8")).platforms.lin.config;
		for (const config of [esp32, lwip]) {
			expect(config.lwipMaxActiveTcp).toBe(Number(fragment.CONFIG_LWIP_MAX_ACTIVE_TCP));
			expect(config.lwipMaxListeningTcp).toBe(Number(fragment.CONFIG_LWIP_MAX_LISTENING_TCP));
		}
	});

	it("warns when the configured counts need more active control blocks than the build has", () => {
		const { config } = readConfig({}, parseWebSocketUri);
		// Defaults: 2 served + 1 waiting + 1 to refuse, 4 WebSocket + 1 to answer 503.
		expect(controlBlockWarnings(config, { lwipMaxActiveTcp: 9, lwipMaxListeningTcp: 4 })).toEqual([]);
		expect(controlBlockWarnings(config, { lwipMaxActiveTcp: 8, lwipMaxListeningTcp: 4 })).toEqual([
			expect.stringMatching(/need 9 active TCP control blocks .* the build has 8/),
		]);
		// wsMaxClients 2 fits 8 with one block to spare (a TIME_WAIT); the device's two clients then do not.
		expect(controlBlockWarnings(readConfig({ wsMaxClients: "2" }, parseWebSocketUri).config, { lwipMaxActiveTcp: 8 })).toEqual([]);
		const withClients = readConfig(
			{ wsMaxClients: "2", tcpClient: "true", tcpClientHost: "192.0.2.1", wsClient: "true", wsClientUri: "ws://192.0.2.1/" },
			parseWebSocketUri,
		).config;
		expect(controlBlockWarnings(withClients, { lwipMaxActiveTcp: 8 })).toEqual([expect.stringMatching(/need 9 active .* 2 clients/)]);
	});

	it("says nothing where the build does not say its counts, and checks the listeners", () => {
		const { config } = readConfig({}, parseWebSocketUri);
		expect(controlBlockWarnings(config, {})).toEqual([]);
		expect(controlBlockWarnings(config, { lwipMaxListeningTcp: 2 })).toEqual([expect.stringMatching(/need 3 listening TCP control blocks/)]);
	});
});
