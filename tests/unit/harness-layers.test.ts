// The harness's folders are layers too, and imports only point down:
//
//   lib/                        the ground: arguments, the command registry, ports, namespaces, the SDK, certificates
//   node-host/ xsbug/ dashboard/  the Node host's platform, the xsbug protocol and log server, the dashboard's page
//   device/                     devices under test: targets, builds, processes, the device command
//   oracle/ conformance/ fleet/ judging one device's services; the conformance set; many devices
//   peers/ faults/ fuzz/        the device's peers, faults made on purpose, the fuzzer
//   */command.ts folders        one folder per command (bench, check, logs, new, start, …); testing.ts, the helpers of an app's own suite
//   commands.ts, cli.ts         the list of commands, the program
//
// A file may import from its own folder or from a lower layer, never from
// another folder of its own layer or from above: a command never imports
// another command, and nothing imports cli.ts.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const harness = path.resolve(import.meta.dirname, "../../host-harness");

/** Folder (or top-level file) → layer, lowest first. */
const layers: Readonly<Record<string, number>> = {
	lib: 0,
	"node-host": 1,
	xsbug: 1,
	dashboard: 1,
	device: 2,
	oracle: 3,
	conformance: 3,
	fleet: 3,
	peers: 4,
	faults: 4,
	fuzz: 4,
	bench: 5,
	check: 5,
	discover: 5,
	flash: 5,
	logs: 5,
	lwip: 5,
	serve: 5,
	soak: 5,
	start: 5,
	wifi: 5,
	ws: 5,
	new: 5,
	"testing.ts": 5,
	"commands.ts": 6,
	"cli.ts": 7,
};

/** The harness-relative targets of a file's relative imports (static, `export … from`, `import "x"` and literal `import()`). */
function harnessImports(file: string): string[] {
	const text = fs.readFileSync(file, "utf8");
	const found: string[] = [];
	for (const match of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)"(\.{1,2}\/[^"]+)"/gm)) {
		const target = path.relative(harness, path.resolve(path.dirname(file), match[1]));
		if (!target.startsWith("..")) found.push(target); // (imports of the device's own modules leave the harness)
	}
	return found;
}

/** The folder, or the top-level file, a harness-relative path belongs to. */
function roomOf(relative: string): string {
	const [first, ...rest] = relative.split(path.sep);
	return rest.length ? first : first.replace(/\.js$/, ".ts");
}

function problem(from: string, to: string): string | undefined {
	if (from === to) return undefined;
	if (!(from in layers) || !(to in layers)) return `${!(from in layers) ? from : to} has no layer`;
	if (layers[to] < layers[from]) return undefined;
	return `${from} (layer ${layers[from]}) imports ${to} (layer ${layers[to]}): ${layers[to] === layers[from] ? "sideways" : "up"}`;
}

function harnessSources(): string[] {
	return (fs.readdirSync(harness, { recursive: true, encoding: "utf8" }) as string[])
		.filter(name => name.endsWith(".ts") && !name.endsWith(".d.ts"))
		.map(name => path.join(harness, name));
}

describe("harness folders are layers: imports only point down", () => {
	it("the check refuses an import up or sideways, and allows one down", () => {
		expect(problem("lib", "device")).toMatch(/up/);
		expect(problem("check", "logs")).toMatch(/sideways/);
		expect(problem("start", "cli.ts")).toMatch(/up/);
		expect(problem("start", "oracle")).toBeUndefined();
		expect(problem("nowhere", "lib")).toMatch(/nowhere has no layer/);
	});

	it("holds for every harness source, and every folder has a layer", () => {
		const sources = harnessSources();
		expect(sources.length).toBeGreaterThan(100);
		expect(sources.reduce((n, file) => n + harnessImports(file).length, 0)).toBeGreaterThan(300);
		const problems = sources.flatMap(file => {
			const from = roomOf(path.relative(harness, file));
			return harnessImports(file).flatMap(target => {
				const found = problem(from, roomOf(target));
				return found ? [`${path.relative(harness, file)}: ${found}`] : [];
			});
		});
		expect(problems).toEqual([]);
	});
});
