/*
 * host-harness check --device <host> | --target node|sim [--only tcp|udp|ws|wifi|faults] [--json]
 *
 * Runs the oracle suites (tests/device) against a device and prints one
 * line per case and a summary; exits 0 only when every case passed. It is
 * the device half of `npm test`, pointed where you say.
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { type App, findApp } from "../device/app.js";
import { LogFile } from "../device/log-file.js";
import { unreachableEndpoints } from "../device/reach.js";
import { boardEndpoints } from "../device/targets.js";
import { planTiers } from "../device/tiers.js";
import { badValue, CommandFailure, checkedConfig, fleetOptions, formatHelp, portValue, UsageError, unknownArgument } from "../lib/arguments.js";
import { argumentsOr, registerCommand } from "../lib/command.js";
import { onInterrupt } from "../lib/interrupt.js";
import { boardAddress } from "../lib/mdns.js";
import { parseConfigArgs, projectRoot } from "../lib/project.js";
import { XsbugLogServer } from "../xsbug/log-server.js";
import { checkApp } from "./app.js";
import { type LinkCheck, linkForEsp32 } from "./esp32-link.js";

const usage = formatHelp({
	usage:
		"host-harness check (--device <host> [--config key=value …] [--logs [port]] | --target node|sim) [--only tcp|udp|ws|wifi|faults] [--json]\n       host-harness check --app <dir> --target node|sim|esp32-link [--config key=value …] [--json]\n       host-harness check (--device a,b,c | --devices FILE|discover) [--parallel N] [--report FILE.html] [--only …] [--json]",
	about: `Runs the oracle suites (tests/device) against a device: one line per case and a summary
on stdout (with --json, one JSON object and nothing else); progress and the suites' own
notes go to stderr. Exits 0 only when every case passed, 1 when one failed or the target
cannot run here, 2 on a wrong argument.`,
	options: [
		["--device <host>", "a board on the network, flashed with this app"],
		["--config k=v", "with --device: a config value it was flashed with (repeatable)"],
		[
			"--logs [port]",
			"with --device: read the board's log as host-harness logs does (a debug build through\nserial2xsbug, default port 5002), so the cases that check the device's log run too",
		],
		[
			"--target node|sim",
			"a device started on this PC; with --app, esp32-link too: the app's JS image for\nesp32 built as far as this PC goes without ESP-IDF (mcconfig -p esp32, tsc, xsc,\nxsl), with its modules, bytecode, preloaded heap and which modules are preloaded",
		],
		[
			"--only <area>",
			"tcp (server, client), udp, ws (server, client), wifi (station, provisioning),\nfaults (resets, half-closes, floods, slow and silent peers); repeatable, or comma-separated",
		],
		["--json", "one JSON object with every case instead of lines"],
		[
			"--app <dir>",
			"a user's app (a folder with its manifest.json): boots it, checks it logs its\nservices up, that each service it names answers as its kind says (TCP: accepts a\nconnection; WebSocket: a handshake on its path; UDP: a datagram draws no port\nunreachable; docs/own-app.md), and that it logs no error or exception (its own\nbehaviour is for its own suite)",
		],
		...fleetOptions,
	],
	examples: [
		"host-harness check --target sim --only tcp",
		"host-harness check --app tests/fixtures/user-app-js --target sim",
		"host-harness check --app ~/my-app --target esp32-link",
		"host-harness check --target node --only udp --json > check.json",
		"host-harness check --device 192.168.1.50 --config tcpPort=7681",
		"host-harness check --device 192.168.1.50 --logs      # with serial2xsbug /dev/ttyUSB0 921600 8N1 running",
		"host-harness check --devices discover --parallel 8 --report jig.html",
	],
});

const areas: Record<string, string[]> = {
	tcp: ["tests/device/tcp-server.test.ts", "tests/device/tcp-client.test.ts"],
	udp: ["tests/device/udp-server.test.ts"],
	ws: ["tests/device/ws-server.test.ts", "tests/device/ws-client.test.ts"],
	wifi: ["tests/device/wifi.test.ts", "tests/device/provisioning.test.ts"],
	faults: ["tests/device/faults-tcp.test.ts", "tests/device/faults-ws.test.ts"],
};

interface CaseResult {
	name: string;
	state: string;
	ms: number;
	error?: string;
}

interface CheckArgs {
	device: string;
	target: "" | "node" | "sim" | "esp32-link";
	json: boolean;
	only: string[];
	config: Record<string, string>;
	logsPort: number;
	app?: App;
}

const flags = ["--app", "--device", "--target", "--only", "--config", "--json", "--logs", "--help"];

export function parseCheckArgs(args: string[]): CheckArgs | "help" {
	let device = "";
	let target = "";
	let json = false;
	const only: string[] = [];
	const config: string[] = [];
	let logsPort = 0;
	let app: App | undefined;
	for (let i = 0; i < args.length; i++) {
		const arg = args[i];
		const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
		const value = () => inline ?? args[++i];
		if (flag === "--device") {
			device = value() ?? "";
			if (!device || device.startsWith("-")) throw badValue("--device", device, "takes the board's address or mDNS name (xs-netkit.local)");
		} else if (flag === "--target") {
			target = value() ?? "";
			if (target !== "node" && target !== "sim" && target !== "esp32-link")
				throw badValue("--target", target, "must be node or sim (esp32-link with --app)", ["node", "sim", "esp32-link"]);
		} else if (flag === "--only") {
			for (const area of (value() ?? "").split(",")) {
				if (!(area in areas)) throw badValue("--only", area, `takes ${Object.keys(areas).join(", ")}`, Object.keys(areas));
				only.push(area);
			}
		} else if (flag === "--config") config.push(value() ?? "");
		else if (flag === "--json") json = true;
		else if (flag === "--app") {
			const dir = value();
			if (!dir || dir.startsWith("-")) throw badValue("--app", dir ?? "", "takes the folder of an app's manifest.json");
			try {
				app = findApp(dir);
			} catch (e) {
				throw new UsageError((e as Error).message);
			}
		} else if (flag === "--logs")
			logsPort = inline !== undefined ? portValue("--logs", inline) : /^\d+$/.test(args[i + 1] ?? "") ? portValue("--logs", args[++i]) : 5002;
		else if (flag === "--help" || flag === "-h") return "help";
		else throw unknownArgument(arg, flags);
	}
	if (app) {
		if (!target || device || only.length || logsPort) throw new UsageError("--app takes --target node|sim|esp32-link (and --config, --json) only");
		return { device, target: target as CheckArgs["target"], json, only, config: parseConfigArgs(config), logsPort, app };
	}
	if (target === "esp32-link")
		throw new UsageError("--target esp32-link links an app's image: it takes --app <dir> (the kit's own app: tests/device/esp32-build.test.ts)");
	if (device && target) throw new UsageError("--device and --target name two devices: give one");
	if (!device && !target) throw new UsageError("which device? --target node|sim (started here) or --device <host> (a board) is required");
	if (config.length && !device) throw new UsageError("--config describes a board (--device): with --target the harness configures the device itself");
	if (logsPort && !device) throw new UsageError("--logs reads a board's log: it needs --device");
	return { device, target: target as CheckArgs["target"], json, only, config: device ? checkedConfig(config, "esp32") : {}, logsPort };
}

registerCommand("check", {
	summary: "run the oracle suites against a device and print one line per case",
	usage,
	parse: parseCheckArgs,
	async run(argv) {
		const args = argumentsOr(parseCheckArgs, argv, usage);
		if (typeof args === "number") return args;
		const { device, target, json, only, config, logsPort, app } = args;
		if (app && target) {
			const say = (text: string) => process.stderr.write(`${text}\n`);
			if (target === "esp32-link") return reportLinkCheck(await linkForEsp32(app, config, say), json);
			return reportAppCheck(await checkApp(app, target, config, say), target, json);
		}
		if (target === "esp32-link") throw new UsageError("--target esp32-link takes --app <dir>");
		if (target === "sim") {
			const why = planTiers({ ...process.env, TARGETS: undefined, DEVICE: undefined }).skipped.find(line => line.startsWith("sim tier"));
			if (why) throw new CommandFailure(`the simulator is unavailable here: ${why.replace(/^sim tier skipped: /, "")}; use --target node`);
		}
		const files = ["tests/device/smoke.test.ts", ...(only.length ? only : Object.keys(areas)).flatMap(a => areas[a])];
		process.env.TARGETS = device ? "board" : target;
		if (device) {
			process.env.DEVICE = await boardAddress(device);
			process.env.DEVICE_CONFIG = Object.entries(config)
				.map(([k, v]) => `${k}=${v}`)
				.join(" ");
		}
		let logServer: XsbugLogServer | undefined;
		if (logsPort && device) {
			// The board's log, line by line, in a file the suites read (host-harness/device/log-file.ts).
			const file = path.join(projectRoot, "build", "check", "device-log.txt");
			fs.mkdirSync(path.dirname(file), { recursive: true });
			fs.writeFileSync(file, "");
			logServer = new XsbugLogServer({ breakOnExceptions: false });
			await logServer.start(logsPort);
			logServer.on("log", ({ text }: { text: string }) => LogFile.append(file, text));
			process.env.DEVICE_LOG_FILE = file;
			// A debug build logs in to its debugger when it starts: reset the board (serial2xsbug running).
			const say = (text: string) => process.stderr.write(`${text}\n`);
			say(`waiting for the board's debug build on port ${logsPort}: start serial2xsbug and reset the board …`);
			try {
				await logServer.waitForMachine(120_000);
				await logServer.waitForLog(/app: services up/, 60_000);
				say("the board is up: running the suites");
			} catch (e) {
				await logServer.close();
				process.stderr.write(
					`${(e as Error).message}\nno board reported through serial2xsbug: is it a debug build (npm run flash), and is serial2xsbug running?\n`,
				);
				return 1;
			}
		}
		if (device) {
			// Fail fast: a board that answers on none of its ports is one line, not a run of timeouts
			// (after --logs's wait: that board is started, or reset, only then).
			const endpoints = boardEndpoints(process.env.DEVICE!, config);
			const unanswered = await unreachableEndpoints(endpoints);
			if (unanswered.length && unanswered.length === Number(!!endpoints.tcp) + Number(!!endpoints.ws)) {
				await logServer?.close();
				throw new CommandFailure(`cannot reach ${device}: ${unanswered.join("; ")}`);
			}
		}
		const { startVitest } = await import("vitest/node");
		// Only this command's report goes to stdout: what vitest and the suites' setup print
		// (which tiers run, which are skipped) goes to stderr while they run.
		const report = process.stdout.write.bind(process.stdout);
		const say = (text: string) => {
			report(`${text}\n`);
		};
		process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
		const results: CaseResult[] = [];
		const reporter = {
			onTestCaseResult(test: {
				fullName: string;
				result(): { state: string; errors?: ReadonlyArray<{ message: string }> };
				diagnostic(): { duration: number } | undefined;
			}) {
				const result = test.result();
				const entry: CaseResult = {
					name: test.fullName,
					state: result.state,
					ms: Math.round(test.diagnostic()?.duration ?? 0),
					error: result.errors?.[0]?.message,
				};
				results.push(entry);
				if (!json)
					say(
						`${entry.state === "passed" ? "PASS" : entry.state === "failed" ? "FAIL" : "SKIP"} ${entry.name} (${entry.ms} ms)${entry.error ? `\n     ${entry.error.split("\n")[0]}` : ""}`,
					);
			},
		};
		// Ctrl-C: the cases so far and their summary, exit 130 (the suites' devices stop on the same signal).
		const interrupt = onInterrupt("check", "the cases so far", () => {
			const passed = results.filter(r => r.state === "passed").length;
			const failed = results.filter(r => r.state === "failed").length;
			if (json) say(JSON.stringify({ target: device || target, interrupted: true, passed, failed, cases: results }, null, 2));
			else say(`\ncheck: interrupted: ${passed} passed, ${failed} failed so far`);
			process.exit(130);
		});
		try {
			const vitest = await startVitest(
				"test",
				files.map(f => path.join(projectRoot, f)),
				{
					root: projectRoot,
					project: "device",
					watch: false,
					reporters: [reporter],
					// Suites that need a device the harness starts itself have no case for a board.
					passWithNoTests: true,
				},
			);
			await vitest?.close();
		} finally {
			interrupt.release();
			process.stdout.write = report;
			await logServer?.close();
		}
		const passed = results.filter(r => r.state === "passed").length;
		const failed = results.filter(r => r.state === "failed").length;
		if (json) say(JSON.stringify({ target: device || target, passed, failed, cases: results }, null, 2));
		else say(`\ncheck: ${passed} passed, ${failed} failed`);
		if (!results.length) process.stderr.write("check: no case ran (see the lines above for why)\n");
		return failed || !results.length ? 1 : 0;
	},
});

function reportAppCheck(cases: Awaited<ReturnType<typeof checkApp>>, target: string, json: boolean): number {
	const passed = cases.filter(c => c.state === "passed").length;
	const failed = cases.filter(c => c.state === "failed").length;
	if (json) process.stdout.write(`${JSON.stringify({ target, passed, failed, cases }, null, 2)}\n`);
	else {
		for (const c of cases)
			process.stdout.write(
				`${c.state === "passed" ? "PASS" : c.state === "failed" ? "FAIL" : "SKIP"} ${c.name}${c.error ? `\n     ${c.error.split("\n").join("\n     ")}` : ""}\n`,
			);
		process.stdout.write(`\ncheck: ${passed} passed, ${failed} failed\n`);
	}
	return failed ? 1 : 0;
}

function reportLinkCheck(check: LinkCheck, json: boolean): number {
	if (json) {
		const { cases, image } = check;
		process.stdout.write(
			`${JSON.stringify({ target: "esp32-link", passed: cases.filter(c => c.state === "passed").length, failed: cases.filter(c => c.state === "failed").length, cases, image }, null, 2)}\n`,
		);
		return cases.some(c => c.state === "failed") ? 1 : 0;
	}
	return reportAppCheck(check.cases, "esp32-link", false);
}
