// One list per fact. The set of device library folders is
// host-harness/node-host/module-map.ts's deviceFolders, and the Moddable
// modules the Node host provides are its platformModules; every other place
// that has to name them (the tsconfigs, bin.mjs's rebuild check, the layers test) is held
// to those lists here (layers.test.ts holds its own table to them). Docs tables that restate a file are held to the file:
// the lwIP options table to the sdkconfig fragment, the harness's command
// table to the commands' own help texts. (docs/configuration.md's table is
// held by docs.test.ts.)
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { registeredCommands } from "../../host-harness/cli.js";
import { deviceFolders, platformModules } from "../../host-harness/node-host/module-map.js";
import "../../host-harness/commands.js";

const root = path.resolve(import.meta.dirname, "../..");
const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8");

/** A tsconfig's JSON without its comments (they are JSONC). */
function tsconfig(file: string): { compilerOptions: { paths?: Record<string, string[]> }; include?: string[] } {
	return JSON.parse(
		read(file)
			.replace(/^\s*\/\/.*$/gm, "")
			.replace(/,(\s*[}\]])/g, "$1"),
	) as never;
}

/** The library folders a tsconfig's paths map ("tcp/*" → ./tcp/*). */
function pathFolders(file: string): string[] {
	return Object.entries(tsconfig(file).compilerOptions.paths ?? {})
		.filter(([key, [target]]) => key.endsWith("/*") && target === `./${key.slice(0, -2)}/*`)
		.map(([key]) => key.slice(0, -2));
}

describe("one list per fact: the device library folders", () => {
	it("the tsconfigs map exactly the library folders", () => {
		expect(pathFolders("tsconfig.json")).toEqual([...deviceFolders]);
		expect(pathFolders("tsconfig.device.json")).toEqual([...deviceFolders]);
	});

	it("the build compiles exactly the library folders, main.ts and the harness", () => {
		expect(tsconfig("tsconfig.build.json").include).toEqual(["main.ts", ...deviceFolders.map(folder => `${folder}/**/*.ts`), "host-harness/**/*.ts"]);
	});

	it("the host-side tsconfig resolves each Moddable module to its Node host provider, as the module map does", () => {
		const paths = tsconfig("tsconfig.json").compilerOptions.paths ?? {};
		const providers = Object.fromEntries(
			Object.entries(paths)
				.filter(([, [target]]) => target.startsWith("./host-harness/node-host/"))
				.map(([specifier, [target]]) => [specifier, path.basename(target, ".ts")]),
		);
		expect(providers).toEqual(platformModules);
	});

	it("bin.mjs (build-if-stale.mjs) rebuilds when a source of the harness or of a library folder changes", () => {
		const list = /newestSource\((\[[^\]]*\])\)/.exec(read("host-harness/build-if-stale.mjs"))?.[1];
		expect(JSON.parse(list ?? "[]")).toEqual(["host-harness", ...deviceFolders]);
	});

	it("each library folder has a manifest, and the app's manifest reaches them all", () => {
		for (const folder of deviceFolders) expect(fs.existsSync(path.join(root, folder, "manifest.json")), `${folder}/manifest.json`).toBe(true);
		// Manifests include one another: follow the includes from the root manifest.
		const reached = new Set<string>();
		const visit = (file: string) => {
			const manifest = JSON.parse(read(file)) as { include?: string[] | string };
			for (const include of [manifest.include ?? []].flat()) {
				if (include.startsWith("$(")) continue;
				const next = path.relative(root, path.resolve(path.dirname(path.join(root, file)), include));
				if (!reached.has(next) && fs.existsSync(path.join(root, next))) {
					reached.add(next);
					visit(next);
				}
			}
		};
		visit("manifest.json");
		expect(deviceFolders.filter(folder => !reached.has(`${folder}/manifest.json`))).toEqual([]);
	});
});

describe("one list per fact: docs tables that restate a file", () => {
	it("docs/platform-lwip.md's options table gives the sdkconfig fragment's values", () => {
		const fragment = Object.fromEntries(
			read("lwip/sdkconfig/sdkconfig.defaults")
				.split("\n")
				.filter(line => /^CONFIG_\w+=/.test(line))
				.map(line => line.split("=") as [string, string]),
		);
		const rows = read("docs/platform-lwip.md")
			.split("\n")
			.filter(line => line.startsWith("| `CONFIG_"));
		expect(rows.length).toBeGreaterThan(5);
		for (const row of rows) {
			const [options, values] = row
				.split("|")
				.slice(1, 3)
				.map(cell => cell.trim());
			// "`CONFIG_LWIP_TCP_SYNMAXRTX`, `_MAXRTX`" with "6, 12": the second name shares the first's prefix.
			const names = [...options.matchAll(/`([A-Z_]+)`/g)].map(m => m[1]);
			const full = names.map((name, i) =>
				i === 0 || name.startsWith("CONFIG_") ? name : names[0].slice(0, names[0].lastIndexOf("_", names[0].length - name.length)) + name,
			);
			const given = values.split(",").map(v => v.trim());
			full.forEach((name, i) => expect(`${name}=${given[Math.min(i, given.length - 1)]}`, row).toBe(`${name}=${fragment[name]}`));
		}
	});

	it("docs/harness.md's command table names only options its command takes", () => {
		const commands = registeredCommands();
		const rows = read("docs/harness.md")
			.split("\n")
			.filter(line => /^\| `[a-z]/.test(line));
		let checked = 0;
		for (const row of rows) {
			const cell = row.split("|")[1];
			// The command's name: "`check --target …`" or "`npm start` (`start`)".
			const name = /\(`([a-z-]+)`\)/.exec(cell)?.[1] ?? /^\s*`([a-z-]+)/.exec(cell)?.[1];
			const command = name ? commands[name] : undefined;
			if (!command?.usage) continue;
			const usage = [command.usage, ...Object.values(command.subcommands ?? {}).map(s => s.usage)].join("\n");
			const unknown = [...row.matchAll(/--[a-z][\w-]*/g)].map(m => m[0]).filter(flag => !usage.includes(flag));
			expect(unknown, `docs/harness.md, ${name}`).toEqual([]);
			checked++;
		}
		expect(checked).toBeGreaterThan(8);
	});
});
