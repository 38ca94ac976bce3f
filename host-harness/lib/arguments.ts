/*
 * What every host-harness command shares on its command line: the errors it
 * raises (an argument error exits 2 with the command's usage, an expected
 * failure exits 1 with one line, neither with a stack), the nearest known
 * word for a typo, one help format (usage, options, examples), and the
 * checking of device config overrides against the schema the device itself
 * parses (app/config-schema.ts is pure, so the harness imports it).
 */

import { readConfig, schema } from "../../app/config-schema.js";
import { parseWebSocketUri } from "../../websocket/uri.js";
import { manifestConfig } from "./project.js";

/** A wrong argument: the CLI prints the message and the command's usage on stderr and exits 2. */
export class UsageError extends Error {}

/** A failure the user can act on (a port taken, a tool missing): the CLI prints the message alone on stderr and exits with `code`. */
export class CommandFailure extends Error {
	constructor(
		message: string,
		readonly code = 1,
	) {
		super(message);
	}
}

/** Edit distance (optimal string alignment): an insertion, deletion, substitution or swap of two neighbours counts one. */
export function editDistance(a: string, b: string): number {
	const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
	for (let i = 1; i <= a.length; i++) {
		for (let j = 1; j <= b.length; j++) {
			d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
			if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
		}
	}
	return d[a.length][b.length];
}

/** The candidate closest to `word`, when it is close enough to be a typo of it. */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
	let best: string | undefined;
	let bestDistance = Infinity;
	for (const candidate of candidates) {
		const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
		if (distance < bestDistance) {
			best = candidate;
			bestDistance = distance;
		}
	}
	// Close enough to be a typo (a third of its letters, at least one), and sharing something (not "X" for "E").
	return bestDistance <= Math.max(1, Math.floor(word.length / 3)) && bestDistance < word.length ? best : undefined;
}

/** ` (did you mean "x"?)`, or nothing when no candidate is near. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
	const near = nearest(word, candidates);
	return near ? ` (did you mean "${near}"?)` : "";
}

/** An argument the command does not know, with the nearest flag it does. */
export function unknownArgument(arg: string, flags: Iterable<string>): UsageError {
	const flag = arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg;
	return new UsageError(`unknown argument "${arg}"${flag.startsWith("-") ? didYouMean(flag, flags) : ""}`);
}

/** A flag given a value it cannot take: names both, and what it takes. */
export function badValue(flag: string, value: string | undefined, takes: string, candidates?: Iterable<string>): UsageError {
	if (value === undefined || value === "") return new UsageError(`${flag} needs a value: it ${takes}`);
	return new UsageError(`${flag} ${takes}, not "${value}"${candidates ? didYouMean(value, candidates) : ""}`);
}

/** A flag's value as a port number, 0..65535. */
export function portValue(flag: string, value: string | undefined): number {
	const port = /^\d+$/.test(value ?? "") ? Number(value) : NaN;
	if (!(port >= 0 && port <= 65535)) throw badValue(flag, value, "takes a port number 0..65535");
	return port;
}

/** A flag's value as a number of seconds (more than 0). */
export function secondsValue(flag: string, value: string | undefined): number {
	const seconds = Number(value);
	if (value === undefined || !(seconds > 0)) throw badValue(flag, value, "takes a number of seconds");
	return seconds;
}

export interface Help {
	/** The command line, after "usage: ". */
	usage: string;
	/** What the command does, a few lines. */
	about: string;
	/** [flag, what it does]. */
	options: ReadonlyArray<readonly [string, string]>;
	examples: readonly string[];
}

/**
 * The options of a batch of devices (host-harness/fleet: cli.ts
 * parseFleetArgs, fleet/devices.ts fleetOf), in the help of every command
 * that takes them (cli.ts fleetCommands).
 */
export const fleetOptions: Help["options"] = [
	[
		"--device a,b,c",
		"several devices (addresses or mDNS names, comma-separated): each judged in a\nprocess of its own, one table with a row per device (--json: one JSON document);\nexit 1 if any failed",
	],
	[
		"--devices FILE",
		'the devices of a file, one a line: "host [key=value …]" (the config it was flashed\nwith); --devices discover: every device that answers host-harness discover',
	],
	["--parallel N", "with several devices: how many run at once (default 4)"],
	["--report FILE.html", "with several devices: a page with a row per device, linking each device's own report"],
];

/** The heading of fleetOptions in a help's options. */
export const fleetHeading = "several devices in one run (a batch of boards):";

/** Option lines as formatHelp writes them (flag column `width` wide), for a help written as text. */
export function optionLines(options: Help["options"], width: number): string {
	return options.map(([flag, doc]) => `  ${flag.padEnd(width)}  ${doc.replace(/\n/g, `\n  ${" ".repeat(width)}  `)}`).join("\n");
}

/** One help format for every command: usage, what it does, options, examples. */
export function formatHelp(help: Help): string {
	const width = Math.max(0, ...help.options.map(([flag]) => flag.length));
	return `usage: ${help.usage}

${help.about.trim()}

options:
${optionLines(help.options, width)}

examples:
${help.examples.map(e => `  ${e}`).join("\n")}
`;
}

/**
 * Parse key=value device config overrides and check them against the
 * schema: a key the schema does not know is a warning naming the nearest
 * key it does (the device would ignore it and use a default); a value the
 * schema refuses is an argument error with the schema's own message.
 */
export function checkedConfig(
	pairs: readonly string[],
	platform = "lin",
	warn: (line: string) => void = line => process.stderr.write(`${line}\n`),
): Record<string, string> {
	const config: Record<string, string> = {};
	for (const pair of pairs) {
		const eq = pair.indexOf("=");
		if (eq <= 0) throw badValue("--config", pair, "takes key=value");
		config[pair.slice(0, eq)] = pair.slice(eq + 1);
	}
	for (const key of Object.keys(config)) {
		if (!(key in schema)) warn(`warning: --config ${key}: no such config key${didYouMean(key, Object.keys(schema))}; the device ignores it`);
	}
	const { problems } = readConfig(manifestConfig(platform, config), parseWebSocketUri);
	const problem = problems[0];
	if (problem) throw new UsageError(`--config ${problem.key}${problem.key in config ? `=${config[problem.key]}` : ""}: ${problem.message}`);
	return config;
}

/** A flag's value as a positive number (a whole one when `integer`); throws saying what the flag takes. */
export function positiveValue(flag: string, text: string | undefined, integer: boolean): number {
	const value = Number(text);
	if (!(value > 0) || (integer && !Number.isInteger(value)))
		throw new Error(`${flag} takes a positive ${integer ? "whole number" : "number"}, not "${text ?? ""}"`);
	return value;
}
