/*
 * host-harness check --device <host> | --target node|sim [--only tcp|udp|ws|wifi|faults] [--json]
 *
 * Runs the oracle suites (tests/device) against a device and prints one
 * line per case and a summary; exits 0 only when every case passed. It is
 * the device half of `npm test`, pointed where you say.
 */

import * as path from "node:path";
import { registerCommand } from "../cli.js";
import { projectRoot } from "../device/project.js";
import * as fs from "node:fs";
import { XsbugLogServer } from "../xsbug/log-server.js";
import { LogFile } from "../device/log-file.js";

const usage = `usage: host-harness check (--device <host> [--config key=value …] [--logs [port]] | --target node|sim) [--only tcp|udp|ws|wifi|faults] [--json]

  --device <host>   a board on the network, flashed with this app (key=value: the config it was flashed with)
  --logs [port]     with --device: read the board's log as host-harness logs does (a debug build through
                    serial2xsbug, default port 5002), so the cases that check the device's log run too
  --target node|sim a device started on this PC
  --only <area>     tcp (server, client), udp, ws (server, client), wifi (station, provisioning),
                    faults (resets, half-closes, floods, slow and silent peers); repeatable
  --json            one JSON object with every case instead of lines

Examples:
  host-harness check --target sim --only tcp
  host-harness check --device 192.168.1.50 --config tcpPort=7681
  host-harness check --device 192.168.1.50 --logs      # with serial2xsbug /dev/ttyUSB0 921600 8N1 running`;

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

registerCommand("check", {
	summary: "run the oracle suites against a device and print one line per case",
	async run(args) {
		let device = "";
		let target = "";
		let json = false;
		const only: string[] = [];
		const config: string[] = [];
		let logsPort = 0;
		for (let i = 0; i < args.length; i++) {
			const arg = args[i];
			if (arg === "--device")
				device = args[++i] ?? "";
			else if (arg === "--target")
				target = args[++i] ?? "";
			else if (arg === "--only")
				only.push(...(args[++i] ?? "").split(","));
			else if (arg === "--config")
				config.push(args[++i] ?? "");
			else if (arg === "--json")
				json = true;
			else if (arg === "--logs")
				logsPort = /^\d+$/.test(args[i + 1] ?? "") ? Number(args[++i]) : 5002;
			else if (arg === "--help" || arg === "-h") {
				console.log(usage);
				return 0;
			}
			else {
				console.error(`unknown argument "${arg}"\n\n${usage}`);
				return 2;
			}
		}
		if (!!device === !!target || (target && target !== "node" && target !== "sim") || only.some(a => !(a in areas))) {
			console.error(usage);
			return 2;
		}
		const files = ["tests/device/smoke.test.ts", ...(only.length ? only : Object.keys(areas)).flatMap(a => areas[a])];
		process.env.TARGETS = device ? "board" : target;
		if (device) {
			process.env.DEVICE = device;
			process.env.DEVICE_CONFIG = config.join(" ");
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
			const say = (text: string) => { if (!json) console.log(text); };
			say(`waiting for the board's debug build on port ${logsPort}: start serial2xsbug and reset the board …`);
			try {
				await logServer.waitForMachine(120_000);
				await logServer.waitForLog(/app: services up/, 60_000);
				say("the board is up: running the suites");
			}
			catch (e) {
				await logServer.close();
				console.error(`${(e as Error).message}\nno board reported through serial2xsbug: is it a debug build (npm run flash), and is serial2xsbug running?`);
				return 1;
			}
		}
		const { startVitest } = await import("vitest/node");
		const results: CaseResult[] = [];
		const reporter = {
			onTestCaseResult(test: { fullName: string; result(): { state: string; errors?: ReadonlyArray<{ message: string }> }; diagnostic(): { duration: number } | undefined }) {
				const result = test.result();
				const entry: CaseResult = { name: test.fullName, state: result.state, ms: Math.round(test.diagnostic()?.duration ?? 0), error: result.errors?.[0]?.message };
				results.push(entry);
				if (!json)
					console.log(`${entry.state === "passed" ? "PASS" : entry.state === "failed" ? "FAIL" : "SKIP"} ${entry.name} (${entry.ms} ms)${entry.error ? `\n     ${entry.error.split("\n")[0]}` : ""}`);
			},
		};
		const vitest = await startVitest("test", files.map(f => path.join(projectRoot, f)), {
			root: projectRoot,
			project: "device",
			watch: false,
			reporters: [reporter],
			// Suites that need a device the harness starts itself have no case for a board.
			passWithNoTests: true,
		});
		await vitest?.close();
		await logServer?.close();
		const passed = results.filter(r => r.state === "passed").length;
		const failed = results.filter(r => r.state === "failed").length;
		if (json)
			console.log(JSON.stringify({ target: device || target, passed, failed, cases: results }, null, 2));
		else
			console.log(`\ncheck: ${passed} passed, ${failed} failed`);
		return failed || !results.length ? 1 : 0;
	},
});
