// A user's app on our libraries (tests/fixtures/user-app): its manifest
// includes our library manifests only, never our app, and it builds its own
// service, an upper-casing TCP server on tcp/server. Built for lin with
// mcconfig into build/user-app (git-ignored) and run on the simulator, and
// on lwip (the simulator over lwIP in a namespace of its own, reached at its
// address: host-harness/device/lan.ts), judged through real sockets; and
// JS-linked for esp32 (xsc, xsl), as far as this machine can go without
// ESP-IDF, through the harness's `check --app --target esp32-link`.

import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findApp } from "../../host-harness/device/app.js";
import { DeviceProcess } from "../../host-harness/device/device-process.js";
import { buildEsp32JsSide } from "../../host-harness/device/esp32.js";
import { startLanDevice } from "../../host-harness/device/lan.js";
import { type AppBuild, buildForSimulator, spawnSimulator, startXvfb } from "../../host-harness/device/sim.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { findSdk, type Sdk, sdkEnvironment, which } from "../../host-harness/lib/sdk.js";
import { sendAndCollect } from "../../host-harness/oracle/tcp-echo.js";
import { nextMessage, openWs } from "../../host-harness/oracle/ws-echo.js";
import { spawn } from "./child-processes.js";
import { tiers } from "./device-under-test.js";

const lookup = findSdk();
const appTiers = tiers.map(t => t.name).filter(name => name === "sim" || name === "lwip");
if ("missing" in lookup) console.log(`user-app fixture skipped: ${lookup.missing}`);
else {
	if (!appTiers.includes("sim")) console.log("user-app fixture on the simulator skipped: the sim tier is not running (TARGETS, Xvfb)");
	if (!appTiers.includes("lwip")) console.log("user-app fixture on lwip skipped: the lwip tier is not running (TARGETS, root, lwip/install.sh)");
}

const fixture = path.join(projectRoot, "tests", "fixtures", "user-app");
const build = (target: string): AppBuild => ({ manifestDir: fixture, outDir: path.join(projectRoot, "build", "user-app", target) });

/** Each service's kind and port (docs/own-app.md, the services up line). */
interface Services {
	upper: { tcp: number };
	shout: { ws: number; path: string };
}

/** The fixture booted: where it is reached, where its log sees the harness's clients from, its log, and its stop. */
interface Booted {
	host: string;
	peer: string;
	device: DeviceProcess;
	up: Services;
	stop(): Promise<void>;
}

/** On the simulator: built by mcconfig by hand, into a folder of the test's own, and run by mcsim. */
async function bootOnSim(): Promise<Booted> {
	const sdk = (lookup as { sdk: Sdk }).sdk;
	const library = await buildForSimulator(sdk, { upperPort: "0", shoutPort: "0" }, false, build("sim"));
	const xvfb = await startXvfb();
	const device = new DeviceProcess(spawnSimulator(sdk, library, xvfb.display), "user-app simulator", 60_000);
	device.onStopped(() => xvfb.stop());
	device.onStopped(() => fs.rmSync(library, { force: true }));
	const up = (await device.ready) as unknown as Services;
	return { host: "127.0.0.1", peer: "127.0.0.1", device, up, stop: () => device.stop() };
}

/** On lwip: its manifest with the lwIP sockets', in a namespace of its own (its own ports, as a board's). */
async function bootOnLwip(): Promise<Booted> {
	const lan = await startLanDevice("lwip", {}, { app: findApp(fixture) });
	const up = lan.endpoints.services as unknown as Services;
	return { host: lan.link.deviceAddress, peer: lan.link.hostAddress, device: lan.running.process, up, stop: () => lan.stop() };
}

describe.runIf("sdk" in lookup).each(appTiers)("a user's app on the libraries, on %s", tier => {
	let booted: Booted | undefined;
	let port = 0;
	let shoutPort = 0;
	let host = "127.0.0.1";
	let peer = "";
	const exchange = async (text: string) => (await sendAndCollect({ host, port }, text)).toString("latin1");

	beforeAll(async () => {
		booted = tier === "lwip" ? await bootOnLwip() : await bootOnSim();
		expect(booted.up.shout.path).toBe("/shout");
		({ host } = booted);
		peer = booted.peer.replaceAll(".", "\\.");
		port = booted.up.upper.tcp;
		shoutPort = booted.up.shout.ws;
	}, 240_000);

	afterAll(async () => {
		await booted?.stop();
	});

	it("serves its own service: upper-cases what each connection sends, through the library's server", async () => {
		expect(port).toBeGreaterThan(0);
		const [one, two] = await Promise.all([exchange("hello, kit 1"), exchange("Mixed Case & digits 42")]);
		expect(one).toBe("HELLO, KIT 1");
		expect(two).toBe("MIXED CASE & DIGITS 42");
		await booted!.device.waitForLog(new RegExp(`upper-case: Socket accepted ip address: ${peer}:\\d+`));
		await booted!.device.waitForLog(new RegExp(`upper-case: Connection closed: ${peer}:\\d+ \\(peer closed or reset\\)`));
	});

	it("streams more than its 256-byte buffer back whole (backpressure through the budget)", async () => {
		const text = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(200);
		expect(await exchange(text)).toBe(text.toUpperCase());
	}, 30_000);

	it("serves its own WebSocket route on the library's server: text upper-cased, binary as is, 1009 beyond its 1 KiB, 404 elsewhere", async () => {
		const socket = await openWs(`ws://${host}:${shoutPort}/shout`);
		try {
			socket.send("hello, kit");
			expect((await nextMessage(socket)).data.toString()).toBe("HELLO, KIT");
			socket.send(Buffer.from("abc"));
			const binary = await nextMessage(socket);
			expect([binary.binary, binary.data.toString()]).toEqual([true, "abc"]);
			const closed = new Promise<number>(resolve => socket.once("close", code => resolve(code)));
			socket.send("x".repeat(1025));
			expect(await closed).toBe(1009);
		} finally {
			socket.terminate();
		}
		await expect(openWs(`ws://${host}:${shoutPort}/elsewhere`)).rejects.toThrow(/404/);
	}, 30_000);

	it("changes its setting by POST and reads it back by GET, on the WebSocket port (fetch)", async () => {
		const base = `http://${host}:${shoutPort}/level`;
		expect(await (await fetch(base)).json()).toEqual({ level: 3 });
		const posted = await fetch(base, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ level: 7 }) });
		expect([posted.status, await posted.json()]).toEqual([200, { level: 7 }]);
		expect(await (await fetch(base)).json()).toEqual({ level: 7 });
		expect((await fetch(base, { method: "POST", body: JSON.stringify({ level: 11 }) })).status).toBe(422);
		expect((await fetch(base, { method: "POST", body: JSON.stringify({ level: "x".repeat(100) }) })).status).toBe(413);
		expect((await fetch(base, { method: "DELETE" })).status).toBe(405);
	}, 30_000);

	it("holds none of our app: no echo service, no configuration schema of ours", () => {
		expect(booted!.device.log.some(l => /tcp-server|udp-server|ws-server|ws-client/.test(l.raw))).toBe(false);
	});
});

describe.runIf("sdk" in lookup)("a user's app on the libraries, esp32 JS side: check --app --target esp32-link (mcconfig -p esp32, xsc, xsl)", () => {
	it("compiles and links with our library modules and without our app's, and says what the image holds", async () => {
		// Not spawnSync: vitest talks to this process while the build runs.
		const child = spawn(process.execPath, [path.join(projectRoot, "host-harness", "bin.mjs"), "check", "--app", fixture, "--target", "esp32-link", "--json"], {
			stdio: ["ignore", "pipe", "pipe"],
		});
		const run = { stdout: "", stderr: "", status: null as number | null };
		child.stdout.on("data", (d: Buffer) => {
			run.stdout += d;
		});
		child.stderr.on("data", (d: Buffer) => {
			run.stderr += d;
		});
		run.status = await new Promise<number | null>(resolve => child.once("close", resolve));
		expect(run.status, run.stderr).toBe(0);
		const report = JSON.parse(run.stdout) as {
			target: string;
			failed: number;
			image: {
				modules: number;
				bytecode: number;
				preloadedHeap: { instances: number };
				preloaded: string[];
				notPreloaded: string[];
				own: { module: string; preloaded: boolean }[];
			};
		};
		expect([report.target, report.failed]).toEqual(["esp32-link", 0]);
		const { image } = report;
		const modules = new Set([...image.preloaded, ...image.notPreloaded]);
		expect(modules.size).toBe(image.modules);
		for (const module of [
			"main",
			"user-app/upper-case",
			"user-app/shout",
			"websocket/server",
			"websocket/connection",
			"tcp/server",
			"tcp/connection",
			"modules/listener",
			"modules/backoff",
			"modules/log",
			"wifi/station",
			"wifi/network",
		])
			expect(modules.has(module), `${module} compiled for esp32`).toBe(true);
		for (const module of ["app/app", "app/config", "app/tcp-echo-server", "app/ws-client-session", "app/sdk-echo-server"])
			expect(modules.has(module), `${module} left out`).toBe(false);
		// The kit's modules preloaded (in flash); the app's own are not, as its manifest preloads none.
		expect(image.preloaded).toEqual(expect.arrayContaining(["websocket/server", "tcp/server", "wifi/network", "modules/log"]));
		expect(image.own).toEqual([
			{ module: "main", preloaded: false },
			{ module: "user-app/shout", preloaded: false },
			{ module: "user-app/upper-case", preloaded: false },
		]);
		expect(image.bytecode).toBeGreaterThan(50_000);
		expect(image.preloadedHeap.instances).toBeGreaterThan(100);
	}, 240_000);
});

describe.runIf("sdk" in lookup)("a JavaScript app on the libraries, esp32 JS side, with no TypeScript on PATH", () => {
	it("compiles the kit's .ts with the compiler the kit's manifest names, and links", async () => {
		const sdk = (lookup as { sdk: Sdk }).sdk;
		// Only the SDK's tools and the system's: no tsc of any kind on PATH, and XSNETKIT unset (the manifest's default).
		const env = { ...sdkEnvironment(sdk, projectRoot), PATH: [sdk.bin, "/usr/bin", "/bin"].join(path.delimiter), XSNETKIT: undefined };
		expect(which("tsc", env)).toBeUndefined();
		const app = path.join(projectRoot, "tests", "fixtures", "user-app-js");
		const result = await buildEsp32JsSide(
			sdk,
			{ ssid: "example", password: "example-pass" },
			true,
			{ manifestDir: app, outDir: path.join(projectRoot, "build", "user-app-js", "esp32") },
			env,
		);
		expect(fs.statSync(result.archive).size).toBeGreaterThan(10_000);
		for (const module of [
			"main",
			"lines-app/reverse-lines",
			"lines-app/count",
			"websocket/server",
			"tcp/server",
			"tcp/line-reader",
			"modules/log",
			"wifi/station",
		])
			expect(result.modules.has(module), `${module} compiled for esp32`).toBe(true);
		expect(result.modules.has("app/app"), "the kit's own app left out").toBe(false);
	}, 240_000);
});
