/*
 * host-harness logs [--port 5002] [--host ADDR] [--json] [--samples] [--no-exception-stacks]
 *
 * Stands in for xsbug: debug builds (mcconfig -d) connect to it and their
 * trace() lines are printed with a time stamp and the machine's name, until
 * Ctrl-C. Exceptions are printed with their stack; the app is never left
 * stopped at a break.
 */
import { argumentsOr, registerCommand } from "../cli.js";
import { formatTime, XsbugLogServer, type XsbugMachine } from "./log-server.js";

const usage = `usage: host-harness logs [--port 5002] [--json] [options]

Prints the logs of Moddable debug builds (mcconfig -d) as xsbug would, one line
per trace() line: "12:01:02.345 [main] I (2034) tcp-server: Socket accepted …".
Exceptions are printed with their stack. The app is never left stopped: every
break (login, debugger statement, exception) is answered with "go" at once.
Runs until Ctrl-C. Quit xsbug first, or use another port.

options:
  --port N               the port machines connect to (default 5002, xsbug's)
  --host ADDR            listen on this address only (default: all, as xsbug)
  --json                 one JSON object per line: log, exception, break, machine, disconnect
  --samples              also print the instrument samples (XS heap, slots, sockets…) as they come
  --no-exception-stacks  do not break on exceptions: the machine reports "# Exception: …"
                         with a path and line only, and never stops (less serial traffic)

examples:
  # a board: the debug build talks to the serial port; serial2xsbug bridges it here
  host-harness logs
  serial2xsbug /dev/ttyUSB0 921600 8N1          # in another terminal
  # (build and flash with: mcconfig -d -m -p esp32 -t deploy, then start serial2xsbug)

  # the simulator: a debug build connects to localhost:5002 by itself
  host-harness logs --port 5002
  mcconfig -d -m -p lin -o build/sim-debug -t build
  mcsim build/sim-debug/bin/lin/mc/debug/main/mc.so   # XSBUG_PORT=5010 for --port 5010

  # other ports: XSBUG_PORT is read by the simulator and by serial2xsbug
  host-harness logs --port 5010 --json > session.jsonl
`;

export interface LogsArgs {
	port: number;
	host?: string;
	json: boolean;
	samples: boolean;
	breakOnExceptions: boolean;
}

export function parseLogsArgs(argv: string[]): LogsArgs | "help" {
	const args: LogsArgs = { port: 5002, json: false, samples: false, breakOnExceptions: true };
	for (let i = 0; i < argv.length; i++) {
		const eq = argv[i].startsWith("--") ? argv[i].indexOf("=") : -1;
		const flag = eq > 0 ? argv[i].slice(0, eq) : argv[i];
		const inline = eq > 0 ? argv[i].slice(eq + 1) : undefined;
		const value = () => inline ?? argv[++i];
		switch (flag) {
			case "--help": case "-h": return "help";
			case "--port": case "-p": {
				const text = value();
				const port = Number(text);
				if (text === undefined || !Number.isInteger(port) || port < 0 || port > 65535)
					throw new Error(`--port needs a port number (0-65535), not "${text ?? ""}"`);
				args.port = port;
				break;
			}
			case "--host": {
				const host = value();
				if (!host)
					throw new Error("--host needs an address, e.g. 127.0.0.1");
				args.host = host;
				break;
			}
			case "--json": args.json = true; break;
			case "--samples": args.samples = true; break;
			case "--no-exception-stacks": args.breakOnExceptions = false; break;
			default: throw new Error(`unknown argument "${argv[i]}" (host-harness logs --help)`);
		}
	}
	return args;
}

const machineJson = (m: XsbugMachine) => m.tag;

async function run(argv: string[]): Promise<number> {
	const args = argumentsOr(parseLogsArgs, argv, usage);
	if (typeof args === "number")
		return args;
	const server = new XsbugLogServer({ breakOnExceptions: args.breakOnExceptions });
	const out = (line: string) => process.stdout.write(`${line}\n`);
	if (args.json) {
		server.on("machine", m => out(JSON.stringify({ type: "machine", time: m.connectedAt.toISOString(), machine: m.tag, name: m.name, version: m.version, remote: m.remote })));
		server.on("log", l => out(JSON.stringify({ type: "log", time: l.time.toISOString(), machine: machineJson(l.machine), text: l.text, ...(l.path ? { path: l.path, line: l.line } : {}) })));
		server.on("exception", e => out(JSON.stringify({ type: "exception", time: e.time.toISOString(), machine: machineJson(e.machine), message: e.message, path: e.path, line: e.line, stack: e.stack, source: e.source })));
		server.on("break", b => {
			if (b.kind !== "exception")
				out(JSON.stringify({ type: "break", time: b.time.toISOString(), machine: machineJson(b.machine), kind: b.kind, message: b.message, path: b.path, line: b.line, stack: b.stack }));
		});
		server.on("disconnect", m => out(JSON.stringify({ type: "disconnect", time: new Date().toISOString(), machine: m.tag })));
		if (args.samples)
			server.on("sample", s => out(JSON.stringify({ type: "sample", time: s.time.toISOString(), machine: machineJson(s.machine), values: s.values })));
	}
	else {
		server.on("line", out);
		if (args.samples)
			server.on("sample", s => out(`${formatTime(s.time)} [${s.machine.tag}] # ${server.formatSample(s.machine)}`));
	}
	try {
		await server.start(args.port, args.host);
	}
	catch (e) {
		process.stderr.write(`host-harness logs: ${(e as Error).message}\n`);
		return 1;
	}
	process.stderr.write(`host-harness logs: waiting for machines on ${args.host ?? "port"}${args.host ? ":" : " "}${server.port} (Ctrl-C to stop)${server.port !== 5002 ? `; simulator: XSBUG_PORT=${server.port}` : ""}\n`);
	await new Promise<void>(resolve => {
		process.once("SIGINT", resolve);
		process.once("SIGTERM", resolve);
	});
	await server.close();
	return 0;
}

registerCommand("logs", { summary: "print the logs of debug builds (xsbug protocol, port 5002): simulator or board via serial2xsbug", run });
