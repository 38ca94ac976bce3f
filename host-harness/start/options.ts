/*
 * npm start's options: what the dialogue exercises (--only), where the
 * device runs, for how long, with what config, and the dashboard; parsed
 * for npm start and for host-harness dashboard (start/dashboard.ts).
 */

import { type App, findApp } from "../device/app.js";
import type { HostTarget } from "../device/targets.js";
import { badValue, checkedConfig, formatHelp, type Help, portValue, secondsValue, UsageError, unknownArgument } from "../lib/arguments.js";
import { parseConfigArgs } from "../lib/project.js";

/** What the dialogue exercises; --only picks some. */
export const services = ["tcp", "udp", "ws", "clients"] as const;
export type Service = (typeof services)[number];

export interface Options {
	target?: HostTarget;
	duration?: number;
	only: Set<Service>;
	config: Record<string, string>;
	quiet: boolean;
	/** Serve the live dashboard on this port (0: any free port); undefined: no dashboard. */
	dashboardPort?: number;
	/** Simulator: a debug build whose XS heap figures the dashboard shows. */
	heap: boolean;
	/** A user's app on the kit: booted and its log shown, with no dialogue (the dialogue speaks to the kit's services). */
	app?: App;
}

/** npm start's options; host-harness dashboard takes them too (start/dashboard.ts). */
export const startOptions: Help["options"] = [
	["--target node|sim", "where the device runs (default: sim when available, else node)"],
	["--duration <s>", "stop after this many seconds (default: until Ctrl-C)"],
	["--only <service>", "tcp, udp, ws (the device's servers) or clients (its TCP and WebSocket\nclients); repeatable or comma-separated"],
	["--config k=v", "a device config value, as mcconfig k=v (repeatable)"],
	["--quiet", "no dialogue: one counters line every 5 s, and the summary"],
	[
		"--dashboard",
		"also serve the live dashboard (counters, round trips, the device log with filters,\nthe latest reports) at http://127.0.0.1:8090/; host-harness dashboard is the same, quiet",
	],
	["--dashboard-port N", "the dashboard's port (default 8090; 0: any free port)"],
	["--heap", "with --target sim: a debug build, whose XS heap figures the dashboard shows"],
	[
		"--app <dir>",
		"a user's app on the kit (a folder with its manifest.json): booted, its services\nline and its log shown until Ctrl-C or --duration, with no dialogue",
	],
];

export const usage = formatHelp({
	usage:
		"npm start [-- --target node|sim] [--duration <s>] [--only tcp|udp|ws|clients] [--config key=value …] [--quiet] [--dashboard [--dashboard-port N] [--heap]]",
	about: `The whole system live on this PC: the device app (on the simulator when the Moddable
SDK is installed, else Node-hosted), the harness's peers for the device's clients, and a
dialogue between them, one round a second, until Ctrl-C or --duration. Every line is tagged
[device] or [harness]; a counters line follows each round. At the end the harness closes
the device's WebSocket client session with 1000 (normal closure) before stopping the device.

Each round: the harness sends the device's TCP echo server a text line, its UDP server a
datagram and its WebSocket server a text message (a new connection each round), and, once
the device's TCP client is connected, the TCP peer sends it 64 + 100 × (round mod 8) random
bytes (64 … 764 B, so echoes of several sizes are judged). The device's WebSocket client runs
ESP-IDF's example session: "hello 0000" … "hello 0004", a fragmented text and binary
message, a 2000-byte text, then closes after 5 s without data and reconnects.`,
	options: startOptions,
	examples: [
		"npm start",
		"npm start -- --target node --only ws --duration 10",
		"npm start -- --config tcpMaxClients=4 --quiet",
		"npm start -- --dashboard                # then open http://127.0.0.1:8090/",
		"npm start -- --app tests/fixtures/user-app-js --target node",
	],
});

const flags = ["--app", "--target", "--duration", "--only", "--config", "--quiet", "--dashboard", "--dashboard-port", "--heap", "--help"];

export function parseArgs(argv: string[]): Options | "help" {
	const options: Options = { only: new Set(), config: {}, quiet: false, heap: false };
	const config: string[] = [];
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
		const value = () => inline ?? argv[++i];
		if (flag === "--target" || flag === "-t") {
			const target = value();
			if (target !== "node" && target !== "sim") throw badValue("--target", target, "must be node or sim", ["node", "sim"]);
			options.target = target;
		} else if (flag === "--duration" || flag === "-d") options.duration = secondsValue("--duration", value());
		else if (flag === "--only") {
			for (const name of (value() ?? "").split(",")) {
				if (!(services as readonly string[]).includes(name)) throw badValue("--only", name, `takes ${services.join(", ")}`, services);
				options.only.add(name as Service);
			}
		} else if (flag === "--config" || flag === "-c") config.push(value() ?? "");
		else if (flag === "--quiet" || flag === "-q") options.quiet = true;
		else if (flag === "--dashboard") options.dashboardPort ??= 8090;
		else if (flag === "--dashboard-port") options.dashboardPort = portValue("--dashboard-port", value());
		else if (flag === "--heap") options.heap = true;
		else if (flag === "--app") {
			const dir = value();
			if (!dir || dir.startsWith("-")) throw badValue("--app", dir ?? "", "takes the folder of an app's manifest.json");
			try {
				options.app = findApp(dir);
			} catch (e) {
				throw new UsageError((e as Error).message);
			}
		} else if (flag === "--help" || flag === "-h") return "help";
		else throw unknownArgument(arg, flags);
	}
	if (!options.only.size) options.only = new Set(services);
	if (options.heap && options.target !== "sim") throw new UsageError("--heap needs --target sim: the XS heap figures come from the simulator's debug build");
	if (options.app && (options.dashboardPort !== undefined || options.heap))
		throw new UsageError("--app shows a user's app's log only: no --dashboard or --heap");
	// The kit's schema checks the kit's own app's config; a user's app checks its own.
	options.config = options.app ? parseConfigArgs(config) : checkedConfig(config);
	return options;
}
