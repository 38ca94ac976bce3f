// Every command's --help lists every option its argument parser takes, and
// no option it does not. The parser's options are read from its own code
// (each `=== "--flag"`, `case "--flag"` or `startsWith("--flag=")` it
// compares an argument with); the help's from its options section (the
// flag column of each line). Commands that take a batch of devices take the
// fleet's options too (host-harness/cli.ts parseFleetArgs and
// host-harness/fleet/devices.ts fleetOf), so their helps list those.
import { describe, expect, it } from "vitest";
import { type ArgumentParser, fleetCommands, parseFleetArgs, registeredCommands } from "../../host-harness/cli.js";
import { usage as deviceUsage, parseArgs as parseDeviceArgs } from "../../host-harness/device/command.js";
import { fleetOf } from "../../host-harness/fleet/devices.js";
import { parseArgs as parseStartArgs, usage as startUsage } from "../../host-harness/start/command.js";
import "../../host-harness/commands.js";

/** The options a parser compares its arguments with, from its source. */
export function parserOptions(...parsers: ArgumentParser[]): Set<string> {
	const found = new Set<string>();
	for (const parse of parsers)
		for (const match of parse.toString().matchAll(/(?:===|case|startsWith\(|indexOf\(|includes\()\s*"(--[a-z][\w-]*)=?"/g)) found.add(match[1]);
	found.delete("--help");
	return found;
}

/** The options a help lists: the flags in the flag column of its options section (before the description, two spaces on). */
export function helpOptions(help: string): Set<string> {
	const found = new Set<string>();
	let inOptions = false;
	for (const line of help.split("\n")) {
		if (/^options:\s*$/.test(line)) {
			inOptions = true;
			continue;
		}
		if (/^\S/.test(line)) inOptions = false;
		const column = inOptions ? /^ {2}(-.*?)(?: {2,}|$)/.exec(line)?.[1] : undefined;
		for (const match of column?.matchAll(/--[a-z][\w-]*/g) ?? []) found.add(match[0]);
	}
	found.delete("--help");
	return found;
}

interface HelpCase {
	name: string;
	usage: string;
	parsers: ArgumentParser[];
	/** Options the parser takes that the help need not list, and why. */
	unlisted?: Record<string, string>;
}

const fleetParsers: ArgumentParser[] = [parseFleetArgs, fleetOf];

function cases(): HelpCase[] {
	const commands = registeredCommands();
	const list: HelpCase[] = [
		{ name: "device", usage: deviceUsage, parsers: [parseDeviceArgs] },
		{ name: "start", usage: startUsage, parsers: [parseStartArgs] },
	];
	for (const [name, command] of Object.entries(commands)) {
		if (!command.parse) continue;
		list.push({
			name,
			usage: command.usage!,
			parsers: fleetCommands.includes(name) ? [command.parse, ...fleetParsers] : [command.parse],
			unlisted: unlisted[name],
		});
		for (const [sub, { usage, parse }] of Object.entries(command.subcommands ?? {}))
			list.push({ name: `${name} ${sub}`, usage, parsers: [parse], unlisted: unlisted[`${name} ${sub}`] });
	}
	return list;
}

/** Options a parser takes that its command's help does not list, and why. */
const unlisted: Record<string, Record<string, string>> = {
	dashboard: { "--dashboard": "always set by the command (npm start's parser)", "--quiet": "always set by the command (npm start's parser)" },
	"bench memory": { "--device": "refused, saying why: a board's heaps show in xsbug's instruments" },
};
for (const name of fleetCommands) (unlisted[name] ??= {})["--config"] ??= "refused with several devices (their config goes in a --devices file)";

describe("help texts list every option", () => {
	it("reads options from a parser's code and from a help's options section", () => {
		function parse(argv: string[]): unknown {
			for (const arg of argv) {
				if (arg === "--one") return 1;
				switch (arg) {
					case "--two":
						return 2;
				}
				if (arg.startsWith("--three=")) return 3;
				if (arg === "--help") return "help";
			}
			throw new Error(`unknown argument "--nope"`);
		}
		expect([...parserOptions(parse)].sort()).toEqual(["--one", "--three", "--two"]);
		const help =
			"usage: x [--one]\n\nAbout --four.\n\noptions:\n  --one N         does one, unlike --five\n  --two | --three\n                  two or three\n  --help\n\nexamples:\n  x --six\n";
		expect([...helpOptions(help)].sort()).toEqual(["--one", "--three", "--two"]);
	});

	it("covers every command of the CLI, and bench's workloads", () => {
		const names = cases().map(c => c.name);
		for (const name of Object.keys(registeredCommands())) expect(names, `${name}: register its parser (Command.parse)`).toContain(name);
		expect(names).toEqual(expect.arrayContaining(["bench memory", "bench xs", "bench tls-memory", "bench cpu"]));
	});

	for (const { name, usage, parsers, unlisted = {} } of cases()) {
		it(`${name}: its help lists exactly the options its parser takes`, () => {
			const taken = parserOptions(...parsers);
			const listed = helpOptions(usage);
			expect(taken.size, `${name}: no option found in its parser`).toBeGreaterThan(0);
			expect(
				[...taken].filter(flag => !listed.has(flag) && !(flag in unlisted)),
				`${name}: taken, not in its help`,
			).toEqual([]);
			expect(
				[...listed].filter(flag => !taken.has(flag)),
				`${name}: in its help, not taken`,
			).toEqual([]);
		});
	}

	it("the commands that take a batch of devices list its options: --device a,b,c, --devices, --parallel, --report", () => {
		for (const name of fleetCommands) {
			const usage = registeredCommands()[name].usage!;
			for (const flag of ["--devices", "--parallel", "--report"]) expect(helpOptions(usage), `${name} --help`).toContain(flag);
			expect(usage, `${name} --help`).toContain("--device a,b,c");
		}
	});
});
