// The device folders are layers, and imports only point down:
//
//   modules/              shared, low-level: logs, backoff, listener, HTTP heads, TLS
//   tcp/  udp/            the transport libraries
//   websocket/  wifi/     on TCP
//   sntp/  mdns/          on UDP
//   app/                  the kit's own app: composition root, config, services
//   main.ts
//
// A module may import from its own folder or from a lower layer, never from
// its own layer's other folders or from above. This reads every device
// source's imports and fails on one that points up or sideways.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { deviceFolders } from "../../host-harness/node-host/module-map.js";

const root = path.resolve(import.meta.dirname, "../..");

/** Folder → layer, lowest first. */
export const layers: Readonly<Record<string, number>> = {
	modules: 0,
	tcp: 1,
	udp: 1,
	websocket: 2,
	wifi: 2,
	sntp: 2,
	mdns: 2,
	app: 3,
	main: 4,
};

/** The module specifiers a source imports (static imports, `export … from`, `import "x"`). */
export function importsOf(text: string): string[] {
	const found: string[] = [];
	for (const match of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gm)) found.push(match[1] ?? match[2]);
	return found;
}

/** What is wrong with `file` (in folder `from`) importing `specifier`, or undefined. */
export function layerProblem(from: string, specifier: string): string | undefined {
	const to = specifier === "main" ? "main" : specifier.split("/")[0];
	if (!(to in layers) || to === from) return undefined; // a Moddable module, or the same folder
	if (layers[to] < layers[from]) return undefined;
	return `${from}/ (layer ${layers[from]}) imports ${specifier} (${to}/, layer ${layers[to]}): ${layers[to] === layers[from] ? "sideways" : "up"}`;
}

function deviceSources(): { file: string; folder: string }[] {
	return [
		{ file: "main.ts", folder: "main" },
		...deviceFolders.flatMap(folder =>
			fs
				.readdirSync(path.join(root, folder))
				.filter(name => name.endsWith(".ts") && !name.endsWith(".d.ts"))
				.map(name => ({ file: `${folder}/${name}`, folder })),
		),
	];
}

describe("device folders are layers: imports only point down", () => {
	it("the check refuses an import up or sideways, and allows one down", () => {
		const source =
			'import { App } from "app/app";\nimport type { Log } from "modules/log";\nexport { UdpServer } from "udp/server";\nimport Timer from "timer";\n';
		expect(importsOf(source)).toEqual(["app/app", "modules/log", "udp/server", "timer"]);
		expect(layerProblem("tcp", "app/app")).toMatch(/up/);
		expect(layerProblem("tcp", "udp/server")).toMatch(/sideways/);
		expect(layerProblem("modules", "tcp/connection")).toMatch(/up/);
		expect(layerProblem("websocket", "tcp/connection")).toBeUndefined();
		expect(layerProblem("app", "websocket/server")).toBeUndefined();
		expect(layerProblem("main", "app/app")).toBeUndefined();
		expect(layerProblem("app", "main")).toMatch(/up/);
		expect(layerProblem("tcp", "embedded:io/socket/tcp")).toBeUndefined();
	});

	it("every device folder has a layer, and the table names no other folder", () => {
		expect(deviceFolders.filter(folder => !(folder in layers))).toEqual([]);
		expect(Object.keys(layers).filter(folder => folder !== "main" && !deviceFolders.includes(folder))).toEqual([]);
	});

	it("holds for every device source", () => {
		const sources = deviceSources();
		expect(sources.length).toBeGreaterThan(30);
		const problems = sources.flatMap(({ file, folder }) =>
			importsOf(fs.readFileSync(path.join(root, file), "utf8")).flatMap(specifier => {
				const problem = layerProblem(folder, specifier);
				return problem ? [`${file}: ${problem}`] : [];
			}),
		);
		expect(problems).toEqual([]);
	});
});
