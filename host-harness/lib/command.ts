/*
 * The harness's commands, as one registry every command module adds itself
 * to, and the rules every command keeps for its arguments: an error names
 * the flag and its value, suggests the nearest known flag and exits 2 with
 * the usage line; --help prints the usage on stdout and exits 0.
 * A leaf: the command modules import it, host-harness/cli.ts reads it.
 */

import { didYouMean } from "./arguments.js";

/** A command's argument parser: what it takes, or "help" (throws on a wrong argument). */
export type ArgumentParser = (argv: string[]) => unknown;

export interface Command {
	summary: string;
	/** Its --help text; printed after an argument error. */
	usage?: string;
	/**
	 * Its argument parser, whose every option the usage lists
	 * (tests/unit/help.test.ts compares the two).
	 */
	parse?: ArgumentParser;
	/** Workloads or actions with a help and a parser of their own (bench memory, bench xs): the same holds for each. */
	subcommands?: Readonly<Record<string, { usage: string; parse: ArgumentParser }>>;
	run(args: string[]): Promise<number | undefined>;
}

const commands: Record<string, Command> = {};

/** Commands register here as they are added (bench, conformance, serve, check, logs). */
export function registerCommand(name: string, command: Command): void {
	commands[name] = command;
}

/** Every command, by name (once host-harness/commands.ts is imported). */
export function registeredCommands(): Readonly<Record<string, Command>> {
	return commands;
}

/** The flags a usage text mentions, to suggest the nearest of them for a typo. */
function flagsOf(usage: string): string[] {
	return [...new Set(usage.match(/--[a-z][\w-]*/g) ?? [])];
}

/**
 * An argument error as every command prints it, as gh and pytest do: the
 * problem (with the nearest flag, if one is near), the usage line, where
 * the rest is; exit 2. Three lines, so the error stays on screen.
 */
export function usageError(message: string, usage: string): number {
	const unknown = /^unknown argument "(--?[\w-]+)[^"]*"$/.exec(message);
	const hint = unknown && !message.includes("did you mean") ? didYouMean(unknown[1], flagsOf(usage)) : "";
	const line = usage.split("\n").find(l => l.startsWith("usage: ")) ?? usage.split("\n")[0];
	const command = /^usage: (host-harness \S+|npm start|npm run -s \S+)/.exec(line)?.[1] ?? "host-harness";
	process.stderr.write(`${message}${hint}\n${line}\nsee: ${command.startsWith("npm ") ? `${command} -- --help` : `${command} --help`}\n`);
	return 2;
}

/**
 * A command's arguments, parsed; or, when the parser throws, the problem and
 * the command's usage on stderr and exit code 2; or, for --help (the parser
 * returns "help"), the usage on stdout and exit code 0.
 */
export function argumentsOr<T>(parse: (argv: string[]) => T | "help", argv: string[], usage: string): T | number {
	let args: T | "help";
	try {
		args = parse(argv);
	} catch (e) {
		return usageError((e as Error).message, usage);
	}
	if (args === "help") {
		process.stdout.write(usage.endsWith("\n") ? usage : `${usage}\n`);
		return 0;
	}
	return args;
}
