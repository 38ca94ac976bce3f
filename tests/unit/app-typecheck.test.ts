// A user's app on the Node-hosted device is type-checked as the simulator's
// build checks it (host-harness/device/app-typecheck.ts): an app with a type
// error is refused with the compiler's message, where it used to boot and
// serve on node while mcconfig refused to build it.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { appBuildDir, compileAppForNode, findApp } from "../../host-harness/device/app.js";

const made: string[] = [];

/** An app in a temporary folder: its manifest names main and services/*. */
function app(files: Record<string, string>): string {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xsnk-app-"));
	made.push(dir);
	fs.writeFileSync(
		path.join(dir, "manifest.json"),
		JSON.stringify({
			include: ["$(XSNETKIT)/websocket/manifest.json"],
			modules: { "*": "./main", "my-app/*": "./services/*" },
		}),
	);
	fs.mkdirSync(path.join(dir, "services"));
	for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
	return dir;
}

const service = (send: string) => `import type { WebSocketConnection, WebSocketHandler } from "websocket/connection";
import { WebSocketServer } from "websocket/server";

class Echo implements WebSocketHandler {
	onMessage(connection: WebSocketConnection, type: number, data: ArrayBuffer): void {
		connection.${send}(String.fromArrayBuffer(data));
	}
}

export function echo(port: number): WebSocketServer {
	const server = new WebSocketServer({ port });
	server.route("/", new Echo());
	return server;
}
`;
const main = `import { Log } from "modules/log";
import { echo } from "my-app/echo";

const server = echo(0);
server.start();
new Log("app").info(\`services up \${JSON.stringify({ echo: { ws: server.port } })}\`);
`;

afterAll(() => {
	for (const dir of made) {
		fs.rmSync(path.dirname(appBuildDir(findApp(dir), "node")), { recursive: true, force: true });
		fs.rmSync(dir, { recursive: true, force: true });
	}
});

describe("an app for the Node-hosted device is type-checked first, as mcconfig checks it", () => {
	it("compiles an app that type-checks, the kit's modules and Moddable's typings resolved", () => {
		const compiled = compileAppForNode(findApp(app({ "main.ts": main, "services/echo.ts": service("sendText") })));
		expect([...compiled.keys()].sort()).toEqual(["main", "my-app/echo"]);
		expect(fs.existsSync(compiled.get("my-app/echo")!)).toBe(true);
	});

	it("refuses an app with a type error, with the compiler's message and the file in the app", () => {
		const dir = app({ "main.ts": main, "services/echo.ts": service("sendTxt") });
		let error: Error | undefined;
		try {
			compileAppForNode(findApp(dir));
		} catch (e) {
			error = e as Error;
		}
		expect(error?.message).toMatch(new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} does not type-check`));
		expect(error?.message).toMatch(
			/^services\/echo\.ts\(6,14\): error TS2551: Property 'sendTxt' does not exist on type 'WebSocketConnection'\. Did you mean 'sendText'\?$/m,
		);
		expect(fs.existsSync(path.join(appBuildDir(findApp(dir), "node"), "services", "echo.js")), "nothing compiled").toBe(false);
	});

	it("leaves JavaScript unchecked, as mcconfig does without typeCheck", () => {
		const js = `import { WebSocketServer } from "websocket/server";
export function echo(port) {
	const server = new WebSocketServer({ port });
	server.route("/", { onMessage(connection, type, data) { connection.sendTxt(data); } });
	return server;
}
`;
		const compiled = compileAppForNode(findApp(app({ "main.js": main, "services/echo.js": js })));
		expect(compiled.size).toBe(2);
	});
});
