/*
 * host-harness logs [--port 5002] [--host ADDR] [--json] [--samples] [--no-exception-stacks]
 * host-harness logs --device a,b,c | --devices FILE|discover [--json] [filters]
 *
 * Stands in for xsbug: debug builds (mcconfig -d) connect to it and their
 * trace() lines are printed with a time stamp and the machine's name, until
 * Ctrl-C. Exceptions are printed with their stack; the app is never left
 * stopped at a break.
 *
 * With --device or --devices it reads instead each named device's log
 * route over the network (fleet/logs), in any build.
 */

import { type App, findApp } from "../device/app.js";
import { type RunningDevice, startDevice } from "../device/targets.js";
import { devicesDiscovered, devicesFromFile, devicesFromList } from "../fleet/devices.js";
import { badValue, unknownArgument } from "../lib/arguments.js";
import { argumentsOr, registerCommand } from "../lib/command.js";
import { onInterrupt, untilStopped } from "../lib/interrupt.js";
import { compactSample, formatTime, XsbugLogServer, type XsbugMachine } from "../xsbug/log-server.js";

const usage = `usage: host-harness logs [--port 5002] [--json] [options]
       host-harness logs --device <a,b,c> | --devices <FILE|discover> [--json] [--level|--tag|--grep …]

Prints the logs of Moddable debug builds (mcconfig -d) as xsbug would, one line
per trace() line: "12:01:02.345 [main] I (2034) tcp-server: Socket accepted …".
Exceptions are printed with their stack. The app is never left stopped: every
break (login, debugger statement, exception) is answered with "go" at once.
Runs until Ctrl-C. Quit xsbug first, or use another port.

With --device or --devices it follows running devices instead, over the
network: each device's log route (config wsLogPath, default /log, on its
WebSocket port; any build, no serial cable) sends every line the app logs.
Lines from all of them are printed as they arrive, each after the device's
name: "192.168.1.20   12:01:02.345 I (2034) tcp-server: Socket accepted …".
A device that cannot be reached is said in one line and the others go on; a
log that closes (a reset) is asked for again. Ctrl-C ends it (exit 130).
XS exceptions and trace() lines of other code are not in the app's log: for
those, a debug build and logs on its own.

options:
  --port N               the port machines connect to (default 5002, xsbug's)
  --host ADDR            listen on this address only (default: all, as xsbug)
  --json                 one JSON object per line: log, exception, break, machine, disconnect
  --level E|W|I|D        only lines of this level and more severe (E errors, W warnings, I info,
                         D debug); exceptions and lines without a level always show
  --tag LIST             only lines of these module tags, comma-separated (tcp-server,ws-server)
  --grep REGEX           only lines matching this regular expression
  --color | --no-color   colour by level: errors red, warnings yellow, debug dim (default: on a terminal)
  --samples              also print the XS heap as it comes, one compact line per sample
                         (chunks, slots, stack, collections); --samples=all for every instrument
  --no-exception-stacks  do not break on exceptions: the machine reports "# Exception: …"
                         with a path and line only, and never stops (less serial traffic)
  --app <dir>            also build a user's app (a folder with its manifest.json) as a debug
                         build for the simulator and run it, reporting here; stopped with Ctrl-C
  --device LIST          follow these devices' logs: addresses or mDNS names, comma-separated
  --devices FILE         follow the devices of a file, one a line: "host [key=value …]" (the config it
                         runs: wsPort, wsLogPath, wsKey); --devices discover: every device that
                         answers host-harness discover
  --key KEY              the log routes' access key (the devices' wsKey), sent as Authorization:
                         Bearer; default $XSNETKIT_KEY; a device's wsKey= in a devices file wins

A board: flash a debug build (npm run flash makes one), then run serial2xsbug, which
bridges the board's serial port to this port as it would to xsbug:
  host-harness logs --level W                    # then, in another terminal:
  serial2xsbug /dev/ttyUSB0 921600 8N1

examples:
  # a board: the debug build talks to the serial port; serial2xsbug bridges it here
  host-harness logs
  serial2xsbug /dev/ttyUSB0 921600 8N1          # in another terminal
  # (build and flash with: mcconfig -d -m -p esp32 -t deploy, then start serial2xsbug)

  # the simulator: the kit's own app as a debug build, built, run and reporting here
  host-harness logs --app .
  # or by hand: a debug build connects to localhost:5002 by itself (mcconfig needs its -o folder)
  host-harness logs --port 5002
  mkdir -p build/sim-debug && mcconfig -d -m -p lin -o build/sim-debug -t build
  mcsim build/sim-debug/bin/lin/mc/debug/$(basename "$PWD")/mc.so   # needs a display; XSBUG_PORT=5010 for --port 5010

  # other ports: XSBUG_PORT is read by the simulator and by serial2xsbug
  host-harness logs --port 5010 --json > session.jsonl

  # running devices, over the network
  host-harness logs --device 192.168.1.20,192.168.1.21,esp32-3.local --level W
  host-harness logs --devices discover --tag tcp-server
`;

export interface LogsArgs {
	port: number;
	host?: string;
	json: boolean;
	samples: boolean | "all";
	breakOnExceptions: boolean;
	/** Least severe level shown. */
	level?: Level;
	tags?: string[];
	grep?: RegExp;
	color?: boolean;
	/** Build and run this app on the simulator, reporting to this server. */
	app?: App;
	/** Follow these devices' log routes instead (--device a,b,c). */
	device?: string;
	/** Follow the devices of this file, or those discover finds (--devices). */
	devices?: string;
	/** The log routes' access key (--key; default $XSNETKIT_KEY). */
	key?: string;
}

/** Moddable's log levels, most severe first (modules/log: "E (1234) tag: text"). */
const levels = ["E", "W", "I", "D"] as const;
type Level = (typeof levels)[number];

/** A log line's level and tag: "12:01:02.345 [main] W (2034) tcp-server: …", or a device's own "W (2034) tcp-server: …". */
export function levelAndTag(line: string): { level?: Level; tag?: string } {
	const match = /(?:^|\] | {2}\S+ )([EWID]) \(\d+\) ([\w.-]+):/.exec(line);
	return match ? { level: match[1] as Level, tag: match[2] } : {};
}

/** Whether a line passes --level, --tag and --grep. Lines without a level (exceptions, breaks) pass the level and tag filters. */
export function logFilter(args: Pick<LogsArgs, "level" | "tags" | "grep">): (line: string) => boolean {
	return line => {
		const { level, tag } = levelAndTag(line);
		if (args.level && level && levels.indexOf(level) > levels.indexOf(args.level)) return false;
		if (args.tags?.length && (!tag || !args.tags.includes(tag))) return false;
		return !args.grep || args.grep.test(line);
	};
}

/** A line coloured by its level (errors and exceptions red, warnings yellow, debug dim). */
export function colourByLevel(line: string): string {
	const { level } = levelAndTag(line);
	const code = level === "E" || /# (Exception|Break)/.test(line) ? 31 : level === "W" ? 33 : level === "D" ? 2 : 0;
	return code ? `\x1b[${code}m${line}\x1b[0m` : line;
}

export function parseLogsArgs(argv: string[]): LogsArgs | "help" {
	const args: LogsArgs = { port: 5002, json: false, samples: false, breakOnExceptions: true };
	const flags = [
		"--port",
		"--host",
		"--json",
		"--samples",
		"--no-exception-stacks",
		"--app",
		"--device",
		"--devices",
		"--key",
		"--level",
		"--tag",
		"--grep",
		"--color",
		"--no-color",
		"--help",
	];
	/** Flags of the xsbug server, which has no part in following devices. */
	const serverFlags: string[] = [];
	for (let i = 0; i < argv.length; i++) {
		const eq = argv[i].startsWith("--") ? argv[i].indexOf("=") : -1;
		const flag = eq > 0 ? argv[i].slice(0, eq) : argv[i];
		const inline = eq > 0 ? argv[i].slice(eq + 1) : undefined;
		const value = () => inline ?? argv[++i];
		switch (flag) {
			case "--help":
			case "-h":
				return "help";
			case "--device":
			case "--devices": {
				const list = value();
				if (!list || list.startsWith("--"))
					throw badValue(
						flag,
						list ?? "",
						flag === "--device" ? "takes addresses or mDNS names, comma-separated" : "takes a file (one device a line) or discover",
					);
				if (args.device !== undefined || args.devices !== undefined) throw new Error("--device and --devices name devices twice: give one");
				if (flag === "--device") args.device = list;
				else args.devices = list;
				break;
			}
			case "--port":
			case "-p": {
				const text = value();
				const port = Number(text);
				if (text === undefined || !Number.isInteger(port) || port < 0 || port > 65535)
					throw new Error(`--port needs a port number (0-65535), not "${text ?? ""}"`);
				args.port = port;
				break;
			}
			case "--host": {
				const host = value();
				if (!host) throw new Error("--host needs an address, e.g. 127.0.0.1");
				args.host = host;
				break;
			}
			case "--json":
				args.json = true;
				break;
			case "--samples":
				args.samples = inline === "all" ? "all" : true;
				break;
			case "--level": {
				const level = (value() ?? "").toUpperCase();
				if (!(levels as readonly string[]).includes(level)) throw badValue("--level", level, "takes E, W, I or D", levels);
				args.level = level as Level;
				break;
			}
			case "--tag":
				args.tags = (value() ?? "")
					.split(",")
					.map(t => t.trim())
					.filter(Boolean);
				break;
			case "--key": {
				const key = value();
				if (!key || key.startsWith("-")) throw badValue("--key", key ?? "", "takes the devices' access key (their wsKey)");
				args.key = key;
				break;
			}
			case "--grep": {
				const pattern = value();
				try {
					args.grep = new RegExp(pattern ?? "");
				} catch (e) {
					throw badValue("--grep", pattern, `takes a regular expression (${(e as Error).message})`);
				}
				break;
			}
			case "--color":
				args.color = true;
				break;
			case "--no-color":
				args.color = false;
				break;
			case "--no-exception-stacks":
				args.breakOnExceptions = false;
				break;
			case "--app": {
				const dir = value();
				if (!dir || dir.startsWith("-")) throw badValue("--app", dir ?? "", "takes the folder of an app's manifest.json");
				args.app = findApp(dir);
				break;
			}
			default:
				throw unknownArgument(argv[i], flags);
		}
		if (["--port", "-p", "--host", "--samples", "--no-exception-stacks", "--app"].includes(flag)) serverFlags.push(flag);
	}
	if ((args.device !== undefined || args.devices !== undefined) && serverFlags.length)
		throw new Error(
			`${serverFlags[0]} is for debug builds that connect here: with ${args.device !== undefined ? "--device" : "--devices"} each device's log is read from its log route`,
		);
	return args;
}

const machineJson = (m: XsbugMachine) => m.tag;

/** --device/--devices: follow each device's log route until Ctrl-C (130); 1 when none can be followed. */
async function followDevices(args: LogsArgs): Promise<number> {
	const devices =
		args.devices === "discover" ? await devicesDiscovered() : args.devices !== undefined ? devicesFromFile(args.devices) : devicesFromList(args.device!);
	const say = (line: string) => process.stderr.write(`${line}\n`);
	if (!devices.length) {
		say("logs: no device answered an mDNS/DNS-SD browse (host-harness discover)");
		return 1;
	}
	const { follow } = await import("../fleet/logs.js");
	const interrupt = onInterrupt("logs", "closing every device's log");
	const colour = args.color ?? process.stdout.isTTY === true;
	const followed = await follow({
		devices,
		shown: logFilter(args),
		json: args.json,
		colour: colour ? colourByLevel : undefined,
		out: line => process.stdout.write(`${line}\n`),
		say,
		signal: interrupt.signal,
		key: args.key ?? (process.env.XSNETKIT_KEY || undefined),
	});
	interrupt.release();
	if (!followed && !interrupt.interrupted) {
		say(devices.length === 1 ? "logs: the device could not be followed" : `logs: none of the ${devices.length} devices could be followed`);
		return 1;
	}
	return 130;
}

async function run(argv: string[]): Promise<number> {
	const args = argumentsOr(parseLogsArgs, argv, usage);
	if (typeof args === "number") return args;
	if (args.device !== undefined || args.devices !== undefined) return followDevices(args);
	const server = new XsbugLogServer({ breakOnExceptions: args.breakOnExceptions });
	const out = (line: string) => process.stdout.write(`${line}\n`);
	if (args.json) {
		server.on("machine", m =>
			out(JSON.stringify({ type: "machine", time: m.connectedAt.toISOString(), machine: m.tag, name: m.name, version: m.version, remote: m.remote })),
		);
		server.on("log", l =>
			out(
				JSON.stringify({
					type: "log",
					time: l.time.toISOString(),
					machine: machineJson(l.machine),
					text: l.text,
					...(l.path ? { path: l.path, line: l.line } : {}),
				}),
			),
		);
		server.on("exception", e =>
			out(
				JSON.stringify({
					type: "exception",
					time: e.time.toISOString(),
					machine: machineJson(e.machine),
					message: e.message,
					path: e.path,
					line: e.line,
					stack: e.stack,
					source: e.source,
				}),
			),
		);
		server.on("break", b => {
			if (b.kind !== "exception")
				out(
					JSON.stringify({
						type: "break",
						time: b.time.toISOString(),
						machine: machineJson(b.machine),
						kind: b.kind,
						message: b.message,
						path: b.path,
						line: b.line,
						stack: b.stack,
					}),
				);
		});
		server.on("disconnect", m => out(JSON.stringify({ type: "disconnect", time: new Date().toISOString(), machine: m.tag })));
		if (args.samples)
			server.on("sample", s => out(JSON.stringify({ type: "sample", time: s.time.toISOString(), machine: machineJson(s.machine), values: s.values })));
	} else {
		const shown = logFilter(args);
		const colour = args.color ?? process.stdout.isTTY === true;
		server.on("line", line => {
			if (shown(line)) out(colour ? colourByLevel(line) : line);
		});
		if (args.samples)
			server.on("sample", s => {
				const text = server.formatSample(s.machine);
				out(`${formatTime(s.time)} [${s.machine.tag}] # ${args.samples === "all" ? text : `heap: ${compactSample(text)}`}`);
			});
	}
	try {
		await server.start(args.port, args.host);
	} catch (e) {
		process.stderr.write(`host-harness logs: ${(e as Error).message}\n`);
		return 1;
	}
	let device: RunningDevice | undefined;
	if (args.app) {
		process.stderr.write(`host-harness logs: building ${args.app.dir} for the simulator (debug) …\n`);
		try {
			device = await startDevice({ target: "sim", app: args.app, xsbugPort: server.port, noWait: true, progress: text => process.stderr.write(`${text}\n`) });
		} catch (e) {
			await server.close();
			process.stderr.write(`host-harness logs: ${(e as Error).message}\n`);
			return 1;
		}
	}
	// Ctrl-C and SIGTERM stop cleanly from before the line that says so.
	const { stopped } = untilStopped();
	process.stderr.write(
		`host-harness logs: waiting for machines on ${args.host ?? "port"}${args.host ? ":" : " "}${server.port} (Ctrl-C to stop)${server.port !== 5002 ? `; simulator: XSBUG_PORT=${server.port}` : ""}\n`,
	);
	await stopped;
	await device?.stop();
	await server.close();
	return 0;
}

registerCommand("logs", {
	summary: "the logs of debug builds, live (xsbug protocol, port 5002): simulator or board via serial2xsbug; --level, --tag, --grep, colours",
	usage,
	parse: parseLogsArgs,
	run,
});
