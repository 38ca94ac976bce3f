/*
 * The files of a new app (host-harness new): what each holds is said in
 * the files themselves, for the person who opens them. Every path into the
 * kit is relative to the app's folder, so the pair can move together; the
 * manifest and the suite take XSNETKIT first, as mcconfig does.
 *
 *   manifest.json   the kit's library manifests through $(XSNETKIT), with a default
 *   main.ts|main.js one WebSocket route, an HTTP setting (POST changes it, GET reads it),
 *                   WiFi through wifi/network, the `services up` line
 *   tsconfig.json   for an editor and `tsc --noEmit -p .`: the kit's modules and Moddable's typings
 *   package.json    npm test: the app's own suite on node, sim and lwip, through the kit's harness
 *   test/app.test.js  that suite (node:test), on host-harness/testing
 */

import * as path from "node:path";
import { deviceFolders } from "../node-host/module-map.js";

export interface AppTemplate {
	/** The app's name: its folder's, as package.json takes it. */
	name: string;
	/** The kit's folder, relative to the app's (posix separators). */
	kit: string;
	/** main.js instead of main.ts. */
	js: boolean;
}

/** What a package.json name may hold: lower case, digits, - and _ (npm's rule, simplified). */
export function packageName(folder: string): string {
	return (
		folder
			.toLowerCase()
			.replace(/[^a-z0-9_-]+/g, "-")
			.replace(/^[-_]+|-+$/g, "") || "my-app"
	);
}

/** The kit's folder as the app's files name it: relative, posix. */
export function kitPath(appDir: string, kitDir: string): string {
	const relative = path.relative(appDir, kitDir).split(path.sep).join("/");
	return relative || ".";
}

const json = (value: unknown) => `${JSON.stringify(value, null, "\t")}\n`;

function manifest(t: AppTemplate): string {
	return json({
		build: { "XSNETKIT ?=": `./${t.kit}` },
		include: ["$(MODDABLE)/examples/manifest_base.json", "$(XSNETKIT)/websocket/manifest.json", "$(XSNETKIT)/wifi/manifest.json"],
		modules: { "*": "./main" },
		config: { port: 8080, logLevel: "info" },
		platforms: {
			esp32: {},
			lin: {},
			"...": { error: `${t.name} runs on esp32 boards and on the Linux simulator (-p lin)` },
		},
	});
}

const header = (t: AppTemplate) => `/*
 * ${t.name}: an app on xs-netkit. One WebSocketServer on the port the
 * configuration names (\`port\`, 8080) serves:
 *
 *   /greet          WebSocket: each text message answered "<greeting>, <message>"
 *   GET  /settings  the settings as JSON: {"greeting":"Hello"}
 *   POST /settings  {"greeting":"Hi"} changes the greeting (1 to 32 characters, else 422;
 *                   a body over 128 bytes is answered 413)
 *
 * Boot: joinNetwork (wifi/network) joins WiFi (the configured network, else
 * the one saved on the device, else its provisioning page), then runs start
 * at the first address: the server starts and the app logs \`services up {…}\`
 * with the tag "app", the line the kit's harness waits for (docs/own-app.md).
 *
 * main is not preloaded, so it may import \`preference\`, which reads the
 * device when it loads (the kit's wifi/credentials says why that matters).
 */
`;

function mainTs(t: AppTemplate): string {
	return `${header(t)}
import Preference from "preference";
import config from "mc/config";
import { Log } from "modules/log";
import { joinNetwork } from "wifi/network";
import { WebSocketServer } from "websocket/server";
import { MessageType } from "websocket/constants";
import type { WebSocketConnection, WebSocketHandler } from "websocket/connection";
import { HttpError, json, type HttpRequest } from "websocket/http-routes";

const log = new Log("app");
const settings = { greeting: "Hello" };

/** The /greet route: one object serves every connection on it. */
class Greeter implements WebSocketHandler {
	onMessage(connection: WebSocketConnection, type: MessageType, data: ArrayBuffer): void {
		if (type === MessageType.TEXT)
			connection.sendText(\`\${settings.greeting}, \${String.fromArrayBuffer(data)}\`);
	}
}

const server = new WebSocketServer({ port: Number(config.port ?? 8080), maxClients: 4 });
server.route("/greet", new Greeter(), { maxMessage: 1024 });
server.get("/settings", () => json(settings));
server.post("/settings", (request: HttpRequest) => {
	const greeting = (request.json() as { greeting?: unknown }).greeting;		// a body that is not JSON: 400
	if (typeof greeting !== "string" || greeting.length < 1 || greeting.length > 32)
		throw new HttpError(422, "greeting is a text of 1 to 32 characters");
	settings.greeting = greeting;
	return json(settings);
}, { maxBody: 128 });

joinNetwork({
	preferences: Preference,
	start(address: string) {
		server.start();
		log.info(\`services up \${JSON.stringify({ address, web: { ws: server.port, path: "/greet" } })}\`);
	},
});
`;
}

function mainJs(t: AppTemplate): string {
	return `${header(t)}
import Preference from "preference";
import config from "mc/config";
import { Log } from "modules/log";
import { joinNetwork } from "wifi/network";
import { WebSocketServer } from "websocket/server";
import { MessageType } from "websocket/constants";
import { HttpError, json } from "websocket/http-routes";

const log = new Log("app");
const settings = { greeting: "Hello" };

/** The /greet route: one object serves every connection on it. @type {import("websocket/connection").WebSocketHandler} */
const greeter = {
	onMessage(connection, type, data) {
		if (type === MessageType.TEXT)
			connection.sendText(\`\${settings.greeting}, \${String.fromArrayBuffer(data)}\`);
	},
};

const server = new WebSocketServer({ port: Number(config.port ?? 8080), maxClients: 4 });
server.route("/greet", greeter, { maxMessage: 1024 });
server.get("/settings", () => json(settings));
server.post("/settings", request => {
	const { greeting } = /** @type {{ greeting?: unknown }} */ (request.json());		// a body that is not JSON: 400
	if (typeof greeting !== "string" || greeting.length < 1 || greeting.length > 32)
		throw new HttpError(422, "greeting is a text of 1 to 32 characters");
	settings.greeting = greeting;
	return json(settings);
}, { maxBody: 128 });

joinNetwork({
	preferences: Preference,
	start(address) {
		server.start();
		log.info(\`services up \${JSON.stringify({ address, web: { ws: server.port, path: "/greet" } })}\`);
	},
});
`;
}

function tsconfig(t: AppTemplate): string {
	const paths: Record<string, string[]> = {};
	for (const folder of deviceFolders.filter(name => name !== "app")) paths[`${folder}/*`] = [`${t.kit}/${folder}/*`];
	return `{
	// For an editor and \`tsc --noEmit -p .\` (npm run typecheck): the kit's modules
	// (paths into the kit, at ${t.kit}) and Moddable's typings (the kit's
	// @moddable/typings and modules/typings), with the options mcconfig's build
	// checks TypeScript with (target and lib es2025).${t.js ? " JavaScript is checked too (checkJs)." : ""}
	"compilerOptions": ${JSON.stringify(
		{
			target: "es2025",
			lib: ["es2025"],
			module: "preserve",
			moduleResolution: "bundler",
			strict: true,
			noEmit: true,
			skipLibCheck: true,
			types: [],
			...(t.js ? { allowJs: true, checkJs: true } : {}),
			paths,
		},
		null,
		"\t",
	).replace(/\n/g, "\n\t")},
	"include": ${JSON.stringify([t.js ? "**/*.js" : "**/*.ts", `${t.kit}/node_modules/@moddable/typings/**/*.d.ts`, `${t.kit}/modules/typings/**/*.d.ts`], null, "\t").replace(/\n/g, "\n\t")},
	// The suite runs in Node, not on the device.
	"exclude": ["test", "node_modules"]
}
`;
}

function packageJson(t: AppTemplate): string {
	const harness = `node \${XSNETKIT:-${t.kit}}/host-harness/bin.mjs`;
	return json({
		name: t.name,
		version: "0.1.0",
		private: true,
		type: "module",
		description: "An app on xs-netkit (Moddable XS, ESP32)",
		scripts: {
			test: "node --test test/app.test.js",
			typecheck: `\${XSNETKIT:-${t.kit}}/node_modules/.bin/tsc --noEmit -p .`,
			start: `${harness} device --app . --target sim`,
			check: `${harness} check --app . --target sim`,
			"check-esp32": `${harness} check --app . --target esp32-link`,
		},
	});
}

function suite(t: AppTemplate): string {
	return `// ${t.name}'s own suite: boots the app on every target this PC runs (the
// Node-hosted device; the Moddable simulator where the SDK is; lwip, the
// simulator over lwIP, a board's network stack, in a network namespace of
// its own, where the user is root and the kit's lwip/install.sh has built
// lwIP), through the xs-netkit harness (its host-harness/testing), and talks
// to it as a client would, at the address it has there. \`npm test\`;
// \`TARGETS=node npm test\` for the quick one.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const app = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const kit = process.env.XSNETKIT || path.resolve(app, ${JSON.stringify(t.kit)});
const { appTargets, bootApp, nextMessage } = await import(pathToFileURL(path.join(kit, "host-harness", "testing.mjs")).href);

const { targets, skipped } = appTargets();
for (const line of skipped)
	console.log(line);

for (const target of targets) {
	describe(\`${t.name} on \${target}\`, () => {
		let device;
		before(async () => {
			device = await bootApp(app, { target, config: { port: "0" } });		// any free port: read back from its services up line
		});
		after(async () => {
			await device?.stop();
		});

		it("names its WebSocket server and route in its services up line", () => {
			assert.deepEqual({ ...device.service("web"), port: 0 }, { name: "web", kind: "ws", port: 0, path: "/greet", stated: true });
		});

		it("greets each message on /greet", async () => {
			const socket = await device.openWebSocket("web");
			try {
				socket.send("world");
				assert.equal((await nextMessage(socket)).data.toString(), "Hello, world");
			}
			finally {
				socket.terminate();
			}
		});

		it("changes the greeting by POST and reads it back by GET; /greet greets with it", async () => {
			const posted = await device.fetch("web", "/settings", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ greeting: "Hi" }) });
			assert.equal(posted.status, 200);
			assert.deepEqual(await posted.json(), { greeting: "Hi" });
			assert.deepEqual(await (await device.fetch("web", "/settings")).json(), { greeting: "Hi" });
			const socket = await device.openWebSocket("web");
			try {
				socket.send("again");
				assert.equal((await nextMessage(socket)).data.toString(), "Hi, again");
			}
			finally {
				socket.terminate();
			}
		});

		it("refuses a greeting it cannot take: 422, 413 over 128 bytes, 400 not JSON; the setting is unchanged", async () => {
			const post = body => device.fetch("web", "/settings", { method: "POST", body });
			assert.equal((await post(JSON.stringify({ greeting: "" }))).status, 422);
			assert.equal((await post(JSON.stringify({ greeting: "x".repeat(200) }))).status, 413);
			assert.equal((await post("greeting=Hey")).status, 400);
			assert.deepEqual(await (await device.fetch("web", "/settings")).json(), { greeting: "Hi" });
		});
	});
}
`;
}

/** Every file of a new app: path relative to its folder → content. */
export function appFiles(t: AppTemplate): Record<string, string> {
	return {
		"manifest.json": manifest(t),
		[t.js ? "main.js" : "main.ts"]: t.js ? mainJs(t) : mainTs(t),
		"tsconfig.json": tsconfig(t),
		"package.json": packageJson(t),
		"test/app.test.js": suite(t),
	};
}
