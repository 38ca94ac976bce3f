// The esp32 build, as far as this machine can take it without ESP-IDF: the
// manifests resolve for -p esp32, every module compiles (tsc, xsc) and the
// JS side of the image links (xsl). Runs where the Moddable SDK is found.

import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildEsp32JsSide } from "../../host-harness/device/esp32.js";
import { findSdk } from "../../host-harness/lib/sdk.js";
import { deviceFolders } from "../../host-harness/node-host/module-map.js";

const lookup = findSdk();
if ("missing" in lookup) console.log(`esp32 build check skipped: ${lookup.missing}`);

describe.runIf("sdk" in lookup)("esp32 image, JS side (mcconfig -d -p esp32, xsc, xsl)", () => {
	it("compiles and links every device module, TLS included, with the app's own network setup in place of the SDK's", async () => {
		const build = await buildEsp32JsSide((lookup as { sdk: Parameters<typeof buildEsp32JsSide>[0] }).sdk, { ssid: "example", password: "example-pass" });
		expect(fs.statSync(build.archive).size).toBeGreaterThan(100_000);
		for (const module of [
			"main",
			"app/app",
			"app/config",
			"modules/log",
			"wifi/station",
			"app/tcp-echo-server",
			"app/tcp-echo-client",
			"app/udp-echo-server",
			"udp/server",
			"websocket/uri",
			"app/ws-broadcast",
			"app/ws-log",
			"app/mac-address",
			"app/sdk-echo-server",
			"websocket/frame-parser",
			"websocket/message-reader",
			"websocket/validation",
			"websocket/utf8",
			"websocket/mask",
			"websocket/frame-writer",
			"websocket/handshake",
			"websocket/connection",
			"websocket/server",
			"app/ws-echo-server",
			"websocket/client",
			"app/ws-client-session",
			"wifi/provisioning",
			"wifi/credentials",
			"wifi/form",
			"wifi/provisioning-secrets",
			"wifi/provisioning-guard",
			"rng",
			// The clock: SNTP on ECMA-419 UDP, and Moddable's time (Time.set sets the board's clock).
			"sntp/client",
			"sntp/packet",
			"modules/clock",
			"time",
			// The name: mDNS/DNS-SD on ECMA-419 UDP (add() joins the group on the board's lwip socket).
			"mdns/message",
			"mdns/responder",
			// TLS (wss://, the TCP client's TLS): our socket and chain check on the SDK's engine.
			"modules/secure-socket",
			"modules/tls-socket",
			"modules/tls-chain",
			"ssl/session",
			"ssl/handshake",
			"ssl/cert",
			"x509",
			"Resource",
			// The TLS server (wss://, wsTls): the server socket, its credentials and handshake wire, on the same engine.
			"modules/tls-record-socket",
			"modules/tls-server-socket",
			"modules/tls-credentials",
			"modules/tls-handshake-wire",
			"modules/tls-renegotiation-info",
			"pkcs8",
			"ssl/stream",
			"embedded:io/socket/tcp",
			"embedded:io/socket/listener",
			"embedded:io/socket/udp",
			"wifi",
			"net",
			"logical",
			"crypt",
			"preference",
		]) {
			// mcconfig stores "embedded:x/y" as ~.embedded/x/y.
			const compiled = build.modules.has(module.replace(/^embedded:/, "~.embedded/"));
			expect(compiled, `${module} compiled for esp32`).toBe(true);
		}
		// websocket/utf8's host function is linked into the image (the C side, utf8.c, is compiled by the ESP-IDF half of the build).
		expect(fs.readFileSync(build.archive, "latin1")).toContain("xs_websocket_utf8_validate");
		expect(fs.readFileSync(build.archive, "latin1")).toContain("xs_websocket_mask_unmask");
		// setup/network must be ours (wifi/sdk-network-setup), so that a wrong password cannot hold main back.
		const setup = build.modules.get("setup/network");
		expect(setup).toBeDefined();
		expect(fs.readFileSync(setup!).includes("sdk-network-setup")).toBe(true);
		expect(build.output).toMatch(/### \d+ instances, \d+ keys/);
		// lwIP's options come from the kit's sdkconfig fragment, the one the lwip tier's lwIP is built with.
		const makefile = fs.readFileSync(path.join(path.dirname(build.archive), "makefile"), "utf8");
		expect(makefile).toMatch(/^SDKCONFIGPATH = .*\/lwip\/sdkconfig$/m);
		// The board's TCP socket is the SDK's with the kit's fixes (lwip/patches/sdk-*, applied by lwip/sdk-sockets.sh), not the stock one.
		expect(makefile).toMatch(/\/build\/lwip\/sdk\/tcp\.c/);
		expect(makefile).not.toMatch(/modules\/io\/socket\/lwip\/tcp\.c/);
		// Every module of the kit is preloaded (code and module-level objects in flash, not in the XS heap),
		// and xsl finds nothing of ours that would have to be copied to RAM (a warning names the module).
		const flat = JSON.parse(fs.readFileSync(path.join(path.dirname(build.archive), "manifest_flat.json"), "utf8")) as {
			preload: string[];
			creation: { stack: number };
		};
		// The TLS server's echo runs deeper than the SDK's default stack of 384 slots (docs/measurements.md).
		expect(flat.creation.stack).toBeGreaterThanOrEqual(512);
		const preload = new Set(flat.preload);
		const ours = [...build.modules.keys()].filter(name => deviceFolders.includes(name.split("/")[0]));
		expect(ours.length).toBeGreaterThan(30);
		expect(
			ours.filter(name => !preload.has(name)),
			"modules of the kit not preloaded",
		).toEqual([]);
		expect(
			build.output.split("\n").filter(line => /^### warning: [\w-]+\//.test(line) && ["main", ...deviceFolders].includes(line.slice(13).split("/")[0])),
		).toEqual([]);
	}, 180_000);
});
