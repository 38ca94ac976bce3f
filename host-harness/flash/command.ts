/*
 * npm run flash -- ssid=… password=… [key=value …] [mcconfig options]
 *
 * Builds the device app for an ESP32 and flashes it: `mcconfig -d -m -p
 * esp32` in the project folder, with this project's TypeScript compiler
 * first on PATH (mcconfig runs `tsc` for the .ts modules). Arguments pass
 * through to mcconfig, so `-p esp32/<subplatform>` picks another board.
 * Needs the Moddable SDK and ESP-IDF installed as Moddable's documentation
 * describes (documentation/devices/esp32.md).
 */

import { spawn, spawnSync } from "node:child_process";
import { registerCommand } from "../lib/command.js";
import { projectRoot } from "../lib/project.js";
import { findSdk, prepareSdkSockets, sdkEnvironment } from "../lib/sdk.js";

const usage = `usage: npm run flash -- ssid=<network> password=<password> [key=value …] [mcconfig options]

Runs: mcconfig -d -m -p esp32 <your arguments> in ${projectRoot}
Config keys: see docs/configuration.md.

options:
  --dry-run   print the mcconfig command it would run, and stop (no ESP-IDF needed)
  --help      this text
`;

interface FlashArgs {
	dryRun: boolean;
	/** Everything else, for mcconfig as given. */
	mcconfig: string[];
}

function parse(argv: string[]): FlashArgs | "help" {
	if (argv.includes("--help") || argv.includes("-h")) return "help";
	return { dryRun: argv.includes("--dry-run"), mcconfig: argv.filter(arg => arg !== "--dry-run") };
}

/** Build and flash; the exit code (mcconfig's, or 2 when the SDK or ESP-IDF is missing). */
async function run(argv: string[]): Promise<number> {
	const parsed = parse(argv);
	if (parsed === "help") {
		process.stdout.write(usage);
		return 0;
	}
	const args = parsed.mcconfig;
	const lookup = findSdk();
	if ("missing" in lookup) {
		process.stderr.write(`cannot build for esp32: ${lookup.missing}\nInstall the Moddable SDK (README: "Flashing an ESP32").\n`);
		return 2;
	}
	if (!process.env.IDF_PATH && !parsed.dryRun) {
		process.stderr.write(
			"cannot build for esp32: $IDF_PATH is not set. Install ESP-IDF as $MODDABLE/documentation/devices/esp32.md describes, then source its export.sh.\n",
		);
		return 2;
	}
	try {
		if (!parsed.dryRun) prepareSdkSockets(lookup.sdk, projectRoot); // the board's TCP socket with the kit's fixes (tcp/manifest.json)
	} catch (e) {
		process.stderr.write(`cannot build for esp32: ${(e as Error).message}\n`);
		return 1;
	}
	const platform = args.some(a => a === "-p" || a.startsWith("-p")) ? [] : ["-p", "esp32"];
	// The board says which build it runs (config buildId: logged at boot, announced by mDNS): the git commit, unless given.
	const git = spawnSync("git", ["describe", "--always", "--dirty"], { cwd: projectRoot, encoding: "utf8" });
	const buildId = args.some(a => a.startsWith("buildId=")) || git.status !== 0 ? [] : [`buildId=${git.stdout.trim()}`];
	const mcconfigArgs = ["-d", "-m", ...platform, ...args, ...buildId];
	process.stderr.write(`mcconfig ${mcconfigArgs.join(" ")}\n`);
	if (parsed.dryRun) return 0;
	const child = spawn(lookup.sdk.mcconfig, mcconfigArgs, { cwd: projectRoot, env: sdkEnvironment(lookup.sdk, projectRoot), stdio: "inherit" });
	return new Promise<number>(resolve => child.on("exit", code => resolve(code ?? 1)));
}

registerCommand("flash", { summary: "build the device app for an ESP32 and flash it (npm run flash; needs the SDK and ESP-IDF)", usage, parse, run });
