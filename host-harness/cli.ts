/*
 * host-harness: one CLI for serving, checking, benchmarking and watching a
 * device. Each command is a thin shell over a module the tests also import.
 *
 *   host-harness device   --target node|sim            boot a device on this PC (as npm run -s device)
 *   host-harness start    [--target] [--duration]      the whole system live (as npm start)
 *   host-harness bench    tcp|ws|udp --target …|--device <ip>
 *   host-harness conformance --url ws://…
 *
 * The rules every command keeps: machine output (--json, the device line)
 * alone on stdout, everything else on stderr; a wrong argument names the
 * flag and its value, suggests the nearest known word and exits 2 with the
 * usage; an expected failure is one line and exit 1, never a stack.
 * The registry and the argument rules are host-harness/lib/command.ts; this
 * file is the program (package.json's scripts run it: cli.js device, cli.js
 * start).
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { badValue, CommandFailure, didYouMean, UsageError } from "./lib/arguments.js";
import { registerCommand, registeredCommands, usageError } from "./lib/command.js";
import { projectRoot } from "./lib/project.js";

registerCommand("device", {
	summary: "boot the device app on this PC and print its endpoints (npm run -s device)",
	run: args => import("./device/command.js").then(m => m.main(args)),
});
registerCommand("start", {
	summary: "the whole system live: device, peers, dialogue (npm start)",
	run: args => import("./start/command.js").then(m => m.main(args)),
});
const commands = registeredCommands();

export function version(): string {
	return (JSON.parse(fs.readFileSync(path.join(projectRoot, "package.json"), "utf8")) as { version: string }).version;
}

function usage(): string {
	const width = Math.max(...Object.keys(commands).map(n => n.length));
	return `usage: host-harness <command> [options]   (host-harness <command> --help for more; --version)

commands:
${Object.entries(commands)
	.map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
	.join("\n")}

examples:
  npm run -s harness -- check --target node --only udp --json
  npm run -s harness -- conformance --url ws://127.0.0.1:8081/ws --report conformance.html
  node host-harness/bin.mjs bench tcp --target sim
`;
}

export { type ArgumentParser, registeredCommands } from "./lib/command.js";

export async function main(argv: string[]): Promise<number> {
	await import("./commands.js");
	const [name, ...rest] = argv;
	if (name === "--version" || name === "-V" || name === "version") {
		process.stdout.write(`host-harness ${version()}\n`);
		return 0;
	}
	if (!name) {
		process.stderr.write(`a command is needed\nusage: host-harness <command> [options]\nsee: host-harness --help\n`);
		return 2;
	}
	if (name === "--help" || name === "-h" || name === "help") {
		if (rest[0] && commands[rest[0]]) return main([rest[0], "--help"]);
		process.stdout.write(usage());
		return 0;
	}
	const command = commands[name];
	if (command && (rest.includes("--version") || rest.includes("-V"))) {
		process.stdout.write(`host-harness ${version()}\n`);
		return 0;
	}
	if (!command) {
		process.stderr.write(
			`unknown command "${name}"${didYouMean(name, Object.keys(commands))}\nusage: host-harness <command> [options]\nsee: host-harness --help\n`,
		);
		return 2;
	}
	try {
		if (fleetCommands.includes(name)) {
			const { fleetOf } = await import("./fleet/devices.js");
			const devices = await fleetOf(rest);
			if (devices) return await runFleetCommand(name as "check", devices, rest);
		}
		return (await command.run(rest)) ?? 0;
	} catch (e) {
		if (e instanceof UsageError) return usageError(e.message, command.usage ?? `host-harness ${name} --help for the usage`);
		if (e instanceof CommandFailure) {
			process.stderr.write(`${name}: ${e.message}\n`);
			return e.code;
		}
		throw e;
	}
}

/** Commands that take many devices (--device a,b,c, --devices FILE|discover): host-harness/fleet. Their helps list fleetOptions. */
export const fleetCommands = ["check", "bench", "soak", "conformance"];

/**
 * The fleet flags out of the command line (the devices themselves are
 * fleetOf's, host-harness/fleet/devices.ts); the rest goes to every
 * device's run.
 */
export function parseFleetArgs(argv: readonly string[]): { parallel: number; json: boolean; report?: string; rest: string[] } {
	let parallel = 4,
		json = false;
	let report: string | undefined;
	const rest: string[] = [];
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		if (arg === "--device" || arg === "--devices") i++;
		else if (arg === "--parallel") {
			const value = argv[++i];
			if (!/^\d+$/.test(value ?? "") || Number(value) < 1) throw badValue("--parallel", value, "takes how many devices at once (1 or more)");
			parallel = Number(value);
		} else if (arg === "--json") json = true;
		else if (arg === "--report") {
			report = argv[++i];
			if (!report || report.startsWith("--")) throw badValue("--report", report, "takes an HTML file name");
		} else if (arg === "--config") throw new UsageError("with several devices, give each its config in a --devices file (host key=value …)");
		else rest.push(arg);
	}
	return { parallel, json, report, rest };
}

export async function runFleetCommand(
	command: "check" | "bench" | "soak" | "conformance",
	devices: import("./fleet/devices.js").FleetDevice[],
	argv: string[],
): Promise<number> {
	const { runFleet, formatFleet, fleetHtml, plural } = await import("./fleet/run.js");
	const { parallel, json, report, rest } = parseFleetArgs(argv);
	const say = (line: string) => process.stderr.write(`${line}\n`);
	const reportDir = report ? path.join(path.dirname(report), `${path.basename(report, ".html")}-devices`) : undefined;
	if (reportDir) fs.mkdirSync(reportDir, { recursive: true });
	// A test jig whose boards all failed to answer must not pass: an empty batch judged nothing.
	if (!devices.length) {
		say(`fleet ${command}: no device to judge: none answered an mDNS/DNS-SD browse (host-harness discover)`);
		return 1;
	}
	say(`fleet ${command}: ${plural(devices.length, "device")}, ${Math.min(parallel, devices.length)} at a time`);
	const { rows, interrupted } = await runFleet({ command, devices, rest, parallel, json, report, reportDir, cli: fileURLToPath(import.meta.url), say });
	if (json)
		process.stdout.write(`${JSON.stringify({ command, interrupted, passed: rows.filter(r => r.state === "passed").length, devices: rows }, null, 2)}\n`);
	else process.stdout.write(formatFleet(command, rows, interrupted));
	if (report) {
		fs.writeFileSync(report, fleetHtml(command, rows, report));
		say(`fleet: report written to ${report}`);
	}
	if (interrupted) return 130;
	return rows.every(r => r.state === "passed") ? 0 : 1;
}

/** Run the CLI as a program: exit with the command's code; an error nobody expected is one line too (HOST_HARNESS_STACK=1 for its stack). */
export function runAsProgram(argv: string[]): void {
	main(argv).then(
		code => process.exit(code),
		(e: Error) => {
			process.stderr.write(`${process.env.HOST_HARNESS_STACK ? e.stack : e.message}\n`);
			process.exit(1);
		},
	);
}

if (import.meta.url === `file://${process.argv[1]}`) runAsProgram(process.argv.slice(2));
