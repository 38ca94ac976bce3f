// A user's app on the harness (host-harness/device/app.ts): its own modules
// found from its manifest, its folder checked, and --app taken by device,
// start and check with the app's own config keys.

import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseCheckArgs } from "../../host-harness/check/command.js";
import { appBuildDir, appModules, findApp } from "../../host-harness/device/app.js";
import { parseArgs as parseDeviceArgs } from "../../host-harness/device/command.js";
import { manifestConfig, projectRoot } from "../../host-harness/lib/project.js";
import { parseNewArgs } from "../../host-harness/new/command.js";
import { appFiles, kitPath, packageName } from "../../host-harness/new/template.js";
import { parseArgs as parseStartArgs } from "../../host-harness/start/command.js";

const fixture = (name: string) => path.join(projectRoot, "tests", "fixtures", name);

describe("a user's app", () => {
	it("is a folder with a manifest.json, and nothing else is", () => {
		expect(findApp(fixture("user-app-js"))).toMatchObject({ name: "user-app-js", dir: fixture("user-app-js") });
		expect(() => findApp(path.join(projectRoot, "tests"))).toThrow(/no manifest\.json/);
	});

	it('has the modules its manifest names: "*" keeps the file\'s name, a folder\'s "/*" each file', () => {
		const js = appModules(findApp(fixture("user-app-js")));
		expect([...js.keys()].sort()).toEqual(["lines-app/count", "lines-app/reverse-lines", "lines-app/sizes", "main"]);
		expect(js.get("main")).toBe(path.join(fixture("user-app-js"), "main.js"));
		const ts = appModules(findApp(fixture("user-app")));
		expect([...ts.keys()].sort()).toEqual(["main", "user-app/shout", "user-app/upper-case"]);
		expect(ts.get("user-app/shout")).toBe(path.join(fixture("user-app"), "services", "shout.ts"));
	});

	it("reads its config from its own manifest and the kit's it includes through $(XSNETKIT)", () => {
		const config = manifestConfig("lin", { linesPort: "0" }, findApp(fixture("user-app-js")).manifest);
		expect(config).toMatchObject({ linesPort: "0", countPort: 7081, ssid: "simulated-wifi" });
		expect(config).not.toHaveProperty("tcpPort");
	});

	it("builds in a git-ignored folder of its own per target", () => {
		const dir = appBuildDir(findApp(fixture("user-app-js")), "sim");
		expect(dir.startsWith(path.join(projectRoot, "build", "app", "user-app-js-"))).toBe(true);
		expect(path.basename(dir)).toBe("sim");
	});
});

describe("--app on the commands", () => {
	it("device: takes the app and passes its config keys as they are (the kit's schema is the kit's app's)", () => {
		const args = parseDeviceArgs(["--target", "node", "--app", fixture("user-app-js"), "--config", "linesPort=0"]);
		expect(args).toMatchObject({ target: "node", config: { linesPort: "0" }, app: { name: "user-app-js" } });
		expect(() => parseDeviceArgs(["--target", "node", "--app", path.join(projectRoot, "tests")])).toThrow(/no manifest\.json/);
		expect(() => parseDeviceArgs(["--target", "node", "--app"])).toThrow(/--app/);
	});

	it("start: takes the app, without the dashboard", () => {
		expect(parseStartArgs(["--app", fixture("user-app"), "--target", "sim"])).toMatchObject({ target: "sim", app: { name: "user-app" } });
		expect(() => parseStartArgs(["--app", fixture("user-app"), "--dashboard"])).toThrow(/--app/);
	});

	it("check: takes the app with a target, and nothing that describes a board", () => {
		expect(parseCheckArgs(["--app", fixture("user-app-js"), "--target", "sim", "--json"])).toMatchObject({
			target: "sim",
			json: true,
			app: { name: "user-app-js" },
		});
		expect(() => parseCheckArgs(["--app", fixture("user-app-js")])).toThrow(/--target/);
		expect(() => parseCheckArgs(["--app", fixture("user-app-js"), "--device", "192.0.2.1"])).toThrow(/--target/);
	});
});

describe("host-harness new", () => {
	it("takes one folder and --js; anything else is refused, naming it", () => {
		expect(parseNewArgs(["../my-app"])).toEqual({ dir: "../my-app", js: false });
		expect(parseNewArgs(["--js", "x"])).toEqual({ dir: "x", js: true });
		expect(parseNewArgs(["--help"])).toBe("help");
		expect(() => parseNewArgs([])).toThrow(/which folder/);
		expect(() => parseNewArgs(["a", "b"])).toThrow(/one folder/);
		expect(() => parseNewArgs(["a", "--ts"])).toThrow(/unknown argument "--ts"/);
	});

	it("names the package after the folder, and reaches the kit by a path relative to the app", () => {
		expect(packageName("My Sensor App")).toBe("my-sensor-app");
		expect(packageName("...")).toBe("my-app");
		expect(kitPath("/home/me/apps/my-app", "/home/me/xs-netkit")).toBe("../../xs-netkit");
		const files = appFiles({ name: "my-app", kit: "../../xs-netkit", js: true });
		expect(Object.keys(files).sort()).toEqual(["main.js", "manifest.json", "package.json", "test/app.test.js", "tsconfig.json"]);
		expect(JSON.parse(files["manifest.json"]).build).toEqual({ "XSNETKIT ?=": "./../../xs-netkit" });
		expect(JSON.parse(files["package.json"]).scripts.test).toBe("node --test test/app.test.js");
		expect(files["tsconfig.json"]).toContain('"websocket/*": [\n\t\t\t\t"../../xs-netkit/websocket/*"');
		expect(files["tsconfig.json"]).toContain('"checkJs": true');
		expect(files["test/app.test.js"]).toContain('path.resolve(app, "../../xs-netkit")');
	});
});

describe("check --target esp32-link", () => {
	it("takes an app, and without one says what it is for", () => {
		expect(parseCheckArgs(["--app", fixture("user-app"), "--target", "esp32-link"])).toMatchObject({ target: "esp32-link", app: { name: "user-app" } });
		expect(() => parseCheckArgs(["--target", "esp32-link"])).toThrow(/takes --app <dir>/);
		expect(() => parseCheckArgs(["--target", "esp32"])).toThrow(/esp32-link with --app/);
	});
});
