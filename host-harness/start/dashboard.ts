/*
 * host-harness dashboard [npm start's options]: npm start with its
 * dashboard and no dialogue lines (--dashboard --quiet), for a browser.
 */

import { formatHelp } from "../lib/arguments.js";
import { registerCommand } from "../lib/command.js";
import { parseArgs, startOptions } from "./options.js";

const usage = formatHelp({
	usage:
		"host-harness dashboard [--target node|sim] [--dashboard-port N] [--duration <s>] [--only tcp|udp|ws|clients] [--config key=value …] [--heap] [--app <dir>]",
	about: `The whole system live in a browser: npm start's device and peers, with the
dialogue as a page (counters, round trips over time, the device's log, the
reports) instead of lines. Its address is printed as "dashboard: http://…".`,
	// npm start's, but for the two this command always sets.
	options: startOptions.filter(([flag]) => flag !== "--dashboard" && flag !== "--quiet"),
	examples: ["host-harness dashboard", "host-harness dashboard --target sim --dashboard-port 0"],
});

registerCommand("dashboard", {
	summary: "the whole system live in a browser: counters, round trips, the device log, reports (npm start -- --dashboard --quiet)",
	usage,
	// npm start's parser: run() hands it the arguments, after --dashboard --quiet.
	parse: parseArgs,
	run: args =>
		args.includes("--help") || args.includes("-h")
			? (process.stdout.write(usage), Promise.resolve(0))
			: import("./command.js").then(m => m.main(["--dashboard", "--quiet", ...args])),
});
