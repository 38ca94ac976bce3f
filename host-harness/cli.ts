/*
 * host-harness: one CLI for serving, checking, benchmarking and watching a
 * device. Each command is a thin shell over a module the tests also import.
 *
 *   host-harness device   --target node|sim            boot a device on this PC (as npm run device)
 *   host-harness start    [--target] [--duration]      the whole system live (as npm start)
 *   host-harness bench    tcp|ws|udp --target …|--device <ip>
 *   host-harness conformance --url ws://…
 */

interface Command {
	summary: string;
	run(args: string[]): Promise<number | void>;
}

const commands: Record<string, Command> = {
	device: { summary: "boot the device app on this PC and print its endpoints (npm run device)", run: () => import("./device.js").then(() => new Promise<never>(() => {})) },
	start: { summary: "the whole system live: device, peers, dialogue (npm start)", run: () => import("./start.js").then(() => new Promise<never>(() => {})) },
};

/** Commands register here as they are added (bench, conformance, serve, check, logs). */
export function registerCommand(name: string, command: Command): void {
	commands[name] = command;
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
	}
	catch (e) {
		process.stderr.write(`${(e as Error).message}\n\n${usage}`);
		return 2;
	}
	if (args === "help") {
		process.stdout.write(usage);
		return 0;
	}
	return args;
}

function usage(): string {
	const width = Math.max(...Object.keys(commands).map(n => n.length));
	return `usage: host-harness <command> [options]   (host-harness <command> --help for more)

${Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`).join("\n")}\n`;
}

export async function main(argv: string[]): Promise<number> {
	await import("./commands.js");
	const [name, ...rest] = argv;
	if (!name || name === "--help" || name === "-h" || name === "help") {
		process.stdout.write(usage());
		return name ? 0 : 2;
	}
	const command = commands[name];
	if (!command) {
		process.stderr.write(`unknown command "${name}"\n\n${usage()}`);
		return 2;
	}
	// device and start read process.argv themselves.
	process.argv = [process.argv[0], process.argv[1], ...rest];
	return (await command.run(rest)) ?? 0;
}

if (import.meta.url === `file://${process.argv[1]}`)
	main(process.argv.slice(2)).then(code => process.exit(code), (e: Error) => {
		process.stderr.write(`${e.message}\n`);
		process.exit(1);
	});
