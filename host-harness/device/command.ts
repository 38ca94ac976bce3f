/*
 * npm run -s device -- --target node|sim [--config key=value …]
 *
 * Boots the device app alone on this PC. Once all its services are up it
 * prints exactly one line of JSON to stdout with its endpoints, e.g.
 *   {"target":"sim","tcp":{"host":"127.0.0.1","port":8080},"udp":{…},"ws":"ws://127.0.0.1:8081/ws"}
 * and keeps running until SIGINT/SIGTERM, when it stops everything it
 * started and exits 0. The device's own log goes to stderr.
 *
 * With --app <dir> it boots a user's app on the kit instead (host-harness/device/app.ts)
 * and prints that app's `services up` line under "services".
 *
 * With --netns the device runs in a network namespace of its own, at an
 * address of 198.18.0.0/15 (host-harness/lib/netns.ts): a board on a LAN
 * without a board, for check --device, bench --device, serve and logs.
 */

import { badValue, checkedConfig, formatHelp, UsageError, unknownArgument } from "../lib/arguments.js";
import { usageError } from "../lib/command.js";
import { whyNoNamespaces } from "../lib/netns.js";
import { parseConfigArgs } from "../lib/project.js";
import { findSdk } from "../lib/sdk.js";
import { type App, findApp } from "./app.js";
import { startLanDevice } from "./lan.js";
import { whyNoLwip } from "./lwip.js";
import { type DeviceTarget, type Endpoints, type RunningDevice, startDevice } from "./targets.js";

export const usage = formatHelp({
	usage: "npm run -s device -- --target node|sim|lwip [--app <dir>] [--config key=value …] [--netns] [--quiet]",
	about: `Boots the device app alone on this PC. Once its services are up it prints one line
of JSON with its endpoints on stdout (nothing else goes to stdout: the device log and
every message go to stderr), then serves until Ctrl-C or SIGTERM and exits 0.
(npm run -s: without -s, npm prints its own "> xs-netkit@… device" lines on stdout first.)`,
	options: [
		["--target node", "the device modules in Node over the host providers (always available)"],
		["--target sim", "the Moddable simulator (needs the SDK: $MODDABLE or ~/Projects/moddable)"],
		["--target lwip", "the simulator over lwIP configured as an esp32 build's (lwip/install.sh builds it);\nwith --netns only"],
		[
			"--app <dir>",
			"a user's app on the kit (a folder with its manifest.json) instead of the kit's own;\nits `app: services up {…}` line is printed as \"services\"",
		],
		["--config k=v", "a device config value, as mcconfig k=v would set it (repeatable; k=v alone too)"],
		["--netns", "run it in a network namespace of its own, reached at its own address\n(198.18.x.y) as a board on a LAN is, on a board's ports (root only)"],
		["--quiet", "do not copy the device log to stderr"],
	],
	examples: [
		"npm run -s device -- --target node",
		"npm run -s device -- --target sim --config tcpPort=7681",
		"npm run -s device -- --target node 2>/dev/null | jq .ws",
		"npm run -s device -- --target sim --app tests/fixtures/user-app-js --config upperPort=7000",
		"npm run -s device -- --target node --netns        # then: npm run -s harness -- check --device <its address>",
		"npm run -s device -- --target lwip --netns",
	],
});

const flags = ["--target", "--app", "--config", "--quiet", "--netns", "--help"];

export interface DeviceArgs {
	target: DeviceTarget;
	config: Record<string, string>;
	quiet: boolean;
	netns: boolean;
	app?: App;
}

export function parseArgs(argv: string[]): DeviceArgs | "help" {
	let target: string | undefined;
	let app: App | undefined;
	const config: string[] = [];
	let quiet = false;
	let netns = false;
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		if (arg === "--target" || arg === "-t") target = argv[++i] ?? "";
		else if (arg.startsWith("--target=")) target = arg.slice(9);
		else if (arg === "--config" || arg === "-c") config.push(argv[++i] ?? "");
		else if (arg.startsWith("--config=")) config.push(arg.slice(9));
		else if (arg === "--app" || arg.startsWith("--app=")) {
			const dir = arg === "--app" ? argv[++i] : arg.slice(6);
			if (!dir || dir.startsWith("-")) throw badValue("--app", dir ?? "", "takes the folder of an app's manifest.json");
			app = appOrUsageError(dir);
		} else if (arg === "--quiet" || arg === "-q") quiet = true;
		else if (arg === "--netns") netns = true;
		else if (arg === "--help" || arg === "-h") return "help";
		else if (/^\w+=/.test(arg))
			config.push(arg); // mcconfig's own form: key=value
		else throw unknownArgument(arg, flags);
	}
	if (target === undefined) throw new UsageError("--target node|sim|lwip is required");
	if (target !== "node" && target !== "sim" && target !== "lwip") throw badValue("--target", target, "must be node, sim or lwip", ["node", "sim", "lwip"]);
	if (target === "lwip" && !netns) throw new UsageError("--target lwip runs in a network namespace of its own: add --netns");
	// The kit's schema checks the kit's own app; a user's app checks its own config.
	return { target, config: app ? pairsOrUsageError(config) : checkedConfig(config), quiet, netns, app };
}

function pairsOrUsageError(pairs: string[]): Record<string, string> {
	try {
		return parseConfigArgs(pairs);
	} catch (e) {
		throw new UsageError((e as Error).message);
	}
}

function appOrUsageError(dir: string): App {
	try {
		return findApp(dir);
	} catch (e) {
		throw new UsageError((e as Error).message);
	}
}

/** Boot the device and print its line; resolves only with an error's exit code (a signal stops it and exits). */
export async function main(argv: string[]): Promise<number> {
	let args;
	try {
		args = parseArgs(argv);
	} catch (e) {
		return usageError((e as Error).message, usage);
	}
	if (args === "help") {
		process.stdout.write(usage);
		return 0;
	}
	if (args.target === "lwip") {
		const why = whyNoLwip();
		if (why) {
			process.stderr.write(`cannot run the lwip target: ${why}\n`);
			return 1;
		}
		process.stderr.write("building the app for the simulator over lwIP …\n");
	} else if (args.target === "sim") {
		const lookup = findSdk();
		if ("missing" in lookup) {
			process.stderr.write(`cannot run the simulator: ${lookup.missing}\nUse --target node, or install the Moddable SDK (see README).\n`);
			return 1;
		}
		process.stderr.write(`building the app for the simulator with ${lookup.sdk.root} …\n`);
	}
	if (args.netns) {
		const why = whyNoNamespaces();
		if (why) {
			process.stderr.write(`cannot run the device in a network namespace: ${why}\n`);
			return 1;
		}
	}
	let endpoints: Endpoints;
	let stopDevice: () => Promise<void>;
	let device: RunningDevice;
	try {
		if (args.netns) {
			const lan = await startLanDevice(args.target, args.config, { app: args.app });
			if (args.app)
				process.stderr.write(`the app is at ${lan.link.deviceAddress} (namespace ${lan.link.ns}; this PC is ${lan.link.hostAddress} on that link)\n`);
			else
				process.stderr.write(
					`the device is at ${lan.link.deviceAddress} (namespace ${lan.link.ns}; this PC is ${lan.link.hostAddress} on that link); ` +
						`try: npm run -s harness -- check --device ${lan.link.deviceAddress}${
							Object.keys(args.config).length
								? ` ${Object.entries(lan.config)
										.map(([k, v]) => `--config ${k}=${v}`)
										.join(" ")}`
								: ""
						}\n`,
				);
			device = lan.running;
			endpoints = lan.endpoints;
			stopDevice = () => lan.stop();
		} else {
			// The boot log as it happens (stderr), and a progress line every few seconds while the simulator builds.
			device = await startDevice({
				target: args.target,
				config: args.config,
				app: args.app,
				progress: text => process.stderr.write(`${text}\n`),
				onProcess: running => {
					if (!args.quiet) running.on("log", line => process.stderr.write(`[device] ${line.raw}\n`));
				},
			});
			endpoints = device.endpoints;
			stopDevice = () => device.stop();
		}
	} catch (e) {
		process.stderr.write(`${(e as Error).message}\n`);
		return 1;
	}
	if (!args.quiet && args.netns) {
		for (const line of device.process.log) process.stderr.write(`[device] ${line.raw}\n`);
		device.process.on("log", line => process.stderr.write(`[device] ${line.raw}\n`));
	}
	let stopping = false;
	const stop = async (code: number) => {
		if (stopping) return;
		stopping = true;
		await stopDevice();
		process.exit(code);
	};
	process.on("SIGINT", () => void stop(0));
	process.on("SIGTERM", () => void stop(0));
	device.process.on("exit", (code, signal) => {
		if (!stopping) {
			process.stderr.write(`the device stopped by itself (${signal ?? code})\n`);
			void stop(1);
		}
	});
	// The line a script waits for comes once SIGINT and SIGTERM stop the device cleanly: a signal
	// sent the moment it is read must not find the default action.
	// The target it runs on: inside the harness a device in a namespace is reached as a board is, but it is not one.
	process.stdout.write(`${JSON.stringify({ ...endpoints, target: args.target })}\n`);
	return new Promise<number>(() => {});
}
