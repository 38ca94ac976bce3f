/*
 * host-harness new <dir> [--js]
 *
 * Writes a working app on the kit into a new (or empty) folder: its
 * manifest, main.ts (main.js with --js), an editor's tsconfig.json, a
 * package.json whose `npm test` runs its own suite through the kit's
 * harness, and that suite (new/template.ts says what each holds). Nothing
 * is copied from the kit: the files reach it by a path relative to the
 * app's folder (or XSNETKIT).
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { badValue, CommandFailure, formatHelp, UsageError, unknownArgument } from "../lib/arguments.js";
import { argumentsOr, registerCommand } from "../lib/command.js";
import { projectRoot } from "../lib/project.js";
import { appFiles, kitPath, packageName } from "./template.js";

const usage = formatHelp({
	usage: "host-harness new <dir> [--js]",
	about: `
Writes a new app on the kit into <dir> (made if missing; refused if it holds
anything): manifest.json (the kit's libraries through $(XSNETKIT)), main.ts
with one WebSocket route and one HTTP setting (POST changes it, GET reads it)
that joins WiFi through wifi/network and logs its services up, tsconfig.json
(the kit's modules and Moddable's typings for an editor), package.json, and
test/app.test.js, the app's own suite: \`npm test\` in <dir> boots the app on
node, on the simulator and on lwip (the simulator over lwIP in a network
namespace: root, lwip/install.sh) through the kit's harness and runs it.`,
	options: [["--js", "main.js instead of main.ts (the editor checks it too: checkJs)"]],
	examples: ["host-harness new ~/my-app && cd ~/my-app && npm test", "npm run -s harness -- new ../sensor-app --js"],
});

interface NewArgs {
	dir: string;
	js: boolean;
}

export function parseNewArgs(args: string[]): NewArgs | "help" {
	let dir = "";
	let js = false;
	for (const arg of args) {
		if (arg === "--js") js = true;
		else if (arg === "--help" || arg === "-h") return "help";
		else if (arg.startsWith("-")) throw unknownArgument(arg, ["--js", "--help"]);
		else if (dir) throw badValue("<dir>", arg, `takes one folder (${dir} is given already)`);
		else dir = arg;
	}
	if (!dir) throw new UsageError("which folder? host-harness new <dir>");
	return { dir, js };
}

/** Write the app into `dir`; returns the files written (relative to it). Throws CommandFailure when `dir` holds anything. */
export function writeApp(dir: string, js: boolean): string[] {
	const abs = path.resolve(dir);
	if (fs.existsSync(abs) && (!fs.statSync(abs).isDirectory() || fs.readdirSync(abs).length))
		throw new CommandFailure(`${abs} is not an empty folder: nothing written`);
	const files = appFiles({ name: packageName(path.basename(abs)), kit: kitPath(abs, projectRoot), js });
	for (const [name, content] of Object.entries(files)) {
		fs.mkdirSync(path.dirname(path.join(abs, name)), { recursive: true });
		fs.writeFileSync(path.join(abs, name), content);
	}
	return Object.keys(files);
}

registerCommand("new", {
	summary: "write a new app on the kit, with its editor setup and its own suite",
	usage,
	parse: parseNewArgs,
	async run(argv) {
		const args = argumentsOr(parseNewArgs, argv, usage);
		if (typeof args === "number") return args;
		const written = writeApp(args.dir, args.js);
		const dir = path.resolve(args.dir);
		process.stderr.write(`new: ${dir}: ${written.join(", ")}
next:
  cd ${dir}
  npm test                  # its suite, on node, the simulator and lwip (where it can run)
  npm start                 # boot it on the simulator and print its services
  npm run typecheck         # as an editor checks it
`);
		return 0;
	},
});
