/*
 * host-harness conformance --url ws://host:port/path [--only 5,6] [--scale small]
 *                          [--max-message N] [--sizes LIST] [--round-trips N]
 *                          [--concurrency N] [--timeout MS] [--fail-fast MS] [--json] [--failures]
 *
 * Runs the WebSocket conformance suite against an echo server, prints the
 * report, exits 0 only when every case passed (1 otherwise, 2 on bad usage).
 */

import * as fs from "node:fs";
import { startDevice } from "../device/targets.js";
import { fleetHeading, fleetOptions, optionLines } from "../lib/arguments.js";
import { argumentsOr, registerCommand } from "../lib/command.js";
import { onInterrupt } from "../lib/interrupt.js";
import { freeServicePorts } from "../lib/ports.js";
import { type ConformanceRun, formatComparison, renderConformanceHtml } from "./html-report.js";
import { formatJson, formatText, summarize } from "./report.js";
import { type CaseResult, type ConformanceOptions, RunStopped, runConformance, selectCases } from "./runner.js";

/**
 * Progress on stderr with the total: on a terminal one line rewritten per
 * case ("312/501 cases, 2 failed, 14 s"); piped, the same as a line of its
 * own every 5 s, so a log shows the run is alive.
 */
export function conformanceProgress(total: number, stream: NodeJS.WriteStream = process.stderr, everyMs = 5000, prefix = "") {
	const t0 = Date.now();
	let done = 0,
		failed = 0,
		shown = false;
	const line = () => `conformance: ${prefix}${done}/${total} cases, ${failed} failed, ${Math.round((Date.now() - t0) / 1000)} s`;
	const timer = stream.isTTY ? undefined : setInterval(() => stream.write(`${line()}\n`), everyMs);
	timer?.unref();
	return {
		result(result: CaseResult) {
			done++;
			failed += result.passed ? 0 : 1;
			if (stream.isTTY) {
				stream.write(`\r\x1b[K${line()}`);
				shown = true;
			}
		},
		done() {
			clearInterval(timer);
			if (shown) {
				stream.write("\r\x1b[K");
				shown = false;
			}
		},
	};
}

const usage = `usage: host-harness conformance (--url ws://host:port/path | --compare URL URL …) [options]

Autobahn-style WebSocket conformance suite (framing, ping/pong, reserved bits,
opcodes, fragmentation, UTF-8, close handling, limits, auto-fragmentation,
opening handshake) against an echo server, graded as Autobahn grades:
  OK             every expectation met
  NON-STRICT     the right Close, sent late (not fail-fast): e.g. a 1007 only after the whole message
  INFORMATIONAL  the RFC leaves the answer to the server (7.1.6, close codes >= 5000): recorded
  FAILED         anything else
Exits 0 when no case FAILED (with --strict: when every case is OK or INFORMATIONAL),
1 otherwise or when the server goes away mid-run (one line saying so), 2 on a wrong
argument; Ctrl-C stops after the cases under way, prints (and writes, with --report)
what was done, and exits 130. Progress (n/501) goes to stderr, a line every 5 s when piped.

options:
  --url URL            the echo server (ws://, or wss:// with --ca)
  --ca FILE            wss://: the CA (PEM) the server's certificate must chain to
  --target node|sim --impls ours,sdk
                       boot the device once per WebSocket implementation (config wsImpl)
                       and compare them side by side (sim: --scale small by default)
  --compare URL …      several servers, one after the other, side by side: each URL or
                       label=URL (e.g. ours=ws://127.0.0.1:8081/ws ws=ws://127.0.0.1:9001/)
  --report FILE.html   also write the report as one HTML page: grades with their rules,
                       each case's wire log, the mapping of our case ids to Autobahn's
  --strict             NON-STRICT fails the run too
  --only LIST          categories or case id prefixes, comma-separated: 5,6.4,7.9.1
  --scale full|small   small: for the Moddable simulator (messages <= 64 KiB, longer waits)
  --max-message N      the server refuses messages over N bytes with 1009
                       (omit for a server that streams its echo: every size must echo)
  --sizes LIST         message sizes for the limits cases (9.x), e.g. 65536,1048576
  --round-trips N      messages per round-trip case, 9.7/9.8 (default 250, small 25)
  --concurrency N      cases at once (default 1; keep within the server's client limit)
  --timeout MS         budget per wait inside a case
  --fail-fast MS       how soon the server must close after an invalid byte
  --failures           print only the cases that did not pass (or "every case passed")
  --verbose            print every case's row under its category (default: a line per
                       category and the cases that did not pass)
  --json               print the results as JSON (alone on stdout)
  --wire               with --json: each case's wire log too

  ${fleetHeading} each device's WebSocket echo server
${optionLines(fleetOptions, 19)}

examples:
  npm run -s device -- --target node          # prints {"ws":"ws://127.0.0.1:8081/ws",…}
  host-harness conformance --url ws://127.0.0.1:8081/ws --report conformance.html
  host-harness conformance --url ws://127.0.0.1:8081/ws --only 6,7 --failures
  host-harness conformance --url ws://127.0.0.1:8081/ws --scale small --concurrency 2
  host-harness conformance --compare node=ws://127.0.0.1:8081/ws sim=ws://127.0.0.1:8091/ws --scale small --report compare.html
  host-harness conformance --url ws://192.168.1.42:8081/ws --max-message 65536 --json > report.json
  host-harness conformance --target sim --impls ours,sdk --concurrency 2     # ours against the SDK's websocket module
`;

interface Target {
	label: string;
	url: string;
}

/** --impls: the WebSocket implementations (config wsImpl) to boot on --target and compare. */
interface ImplRun {
	target: "node" | "sim";
	impls: string[];
}

interface Args {
	targets: Target[];
	implRun?: ImplRun;
	compare: boolean;
	options: ConformanceOptions;
	json: boolean;
	wire: boolean;
	failures: boolean;
	verbose: boolean;
	strict: boolean;
	report?: string;
}

const list = (value: string) =>
	value
		.split(",")
		.map(s => s.trim())
		.filter(Boolean);

function number(name: string, value: string | undefined): number {
	const n = Number(value);
	if (value === undefined || !Number.isInteger(n) || n < 0) throw new Error(`${name} needs a whole number, not "${value ?? ""}"`);
	return n;
}

function target(flag: string, value: string | undefined): Target {
	const text = value ?? "";
	const eq = text.indexOf("=");
	const [label, url] = eq > 0 && !text.slice(0, eq).includes("/") ? [text.slice(0, eq), text.slice(eq + 1)] : ["", text];
	if (!/^wss?:\/\/[^/]+/.test(url))
		throw new Error(url ? `${flag} takes ws://host:port/path (or wss://), not "${url}"` : `${flag} ws://host:port/path is required`);
	return { label: label || new URL(url).host, url };
}

export function parseArgs(argv: string[]): Args | "help" {
	const targets: Target[] = [];
	let compare = false;
	const options: ConformanceOptions = {};
	let json = false,
		failures = false,
		strict = false,
		wire = false,
		verbose = false;
	let report: string | undefined;
	let deviceTarget: string | undefined;
	let impls: string[] | undefined;
	for (let i = 0; i < argv.length; i++) {
		const [flag, inline] =
			argv[i].startsWith("--") && argv[i].includes("=")
				? [argv[i].slice(0, argv[i].indexOf("=")), argv[i].slice(argv[i].indexOf("=") + 1)]
				: [argv[i], undefined];
		const value = () => inline ?? argv[++i];
		switch (flag) {
			case "--help":
			case "-h":
				return "help";
			case "--url":
				targets.push(target(flag, value()));
				break;
			case "--ca": {
				const file = value();
				if (!file || file.startsWith("--")) throw new Error(`--ca takes a PEM file, not "${file ?? ""}"`);
				try {
					options.ca = fs.readFileSync(file);
				} catch (e) {
					throw new Error(`--ca ${file}: ${(e as Error).message}`);
				}
				break;
			}
			case "--target":
				deviceTarget = value();
				break;
			case "--impls":
				impls = list(value() ?? "");
				break;
			case "--compare":
				compare = true;
				if (inline !== undefined) targets.push(target(flag, inline));
				while (argv[i + 1] !== undefined && !argv[i + 1].startsWith("--")) targets.push(target(flag, argv[++i]));
				break;
			case "--report": {
				report = value();
				if (!report || report.startsWith("--")) throw new Error(`--report takes a file name, e.g. conformance.html, not "${report ?? ""}"`);
				break;
			}
			case "--only":
				options.only = list(value() ?? "");
				break;
			case "--scale": {
				const scale = value();
				if (scale !== "full" && scale !== "small") throw new Error(`--scale must be full or small, not "${scale ?? ""}"`);
				options.scale = scale;
				break;
			}
			case "--max-message":
				options.maxMessage = number(flag, value());
				break;
			case "--sizes":
				options.sizes = list(value() ?? "").map(s => number(flag, s));
				break;
			case "--round-trips":
				options.roundTrips = number(flag, value());
				break;
			case "--concurrency":
				options.concurrency = Math.max(1, number(flag, value()));
				break;
			case "--timeout":
				options.caseTimeoutMs = number(flag, value());
				break;
			case "--fail-fast":
				options.failFastMs = number(flag, value());
				break;
			case "--json":
				json = true;
				break;
			case "--wire":
				wire = true;
				break;
			case "--failures":
				failures = true;
				break;
			case "--verbose":
				verbose = true;
				break;
			case "--strict":
				strict = true;
				break;
			default:
				throw new Error(`unknown argument "${argv[i]}"`);
		}
	}
	if (impls || deviceTarget) {
		if (deviceTarget !== "node" && deviceTarget !== "sim") throw new Error(`--target must be node or sim (with --impls), not "${deviceTarget ?? ""}"`);
		const known = ["ours", "sdk"];
		const chosen = impls ?? known;
		const unknown = chosen.filter(impl => !known.includes(impl));
		if (unknown.length || !chosen.length) throw new Error(`--impls takes ours, sdk or both (ours,sdk), not "${(impls ?? []).join(",")}"`);
		if (targets.length) throw new Error("--impls boots its own devices: leave out --url and --compare");
		if (!options.scale && deviceTarget === "sim") options.scale = "small";
		return { targets, implRun: { target: deviceTarget, impls: chosen }, compare: chosen.length > 1, options, json, wire, failures, verbose, strict, report };
	}
	if (!targets.length) throw new Error("--url ws://host:port/path (or --compare URL URL …) is required");
	if (compare && targets.length < 2) throw new Error("--compare takes two or more servers (URL or label=URL)");
	if (!compare && targets.length > 1) throw new Error("--url takes one server; for several side by side, --compare URL URL …");
	const secure = targets.find(t => t.url.startsWith("wss:"));
	if (secure && !options.ca) throw new Error(`${secure.url}: wss:// needs --ca, the CA (PEM) its certificate chains to`);
	if (options.only?.length && !selectCases(options).length)
		throw new Error(`--only ${options.only.join(",")} selects no case (categories 1-7, 9, 10, 12, or id prefixes such as 6.4)`);
	if (failures && verbose) throw new Error("--failures and --verbose ask for two shapes of report: give one");
	return { targets, compare, options, json, wire, failures, verbose, strict, report };
}

/** Run the suite against one server with progress; a server gone becomes the run's `stopped`. */
async function runOne(targetRun: Target, options: ConformanceOptions, total: number, prefix: string): Promise<ConformanceRun> {
	const progress = conformanceProgress(total, process.stderr, 5000, prefix);
	try {
		return { ...targetRun, results: await runConformance(targetRun.url, { ...options, onResult: progress.result }) };
	} catch (e) {
		if (e instanceof RunStopped)
			return {
				...targetRun,
				results: e.results,
				stopped: `${e.message}; stopped after ${e.results.length} of ${total} cases (${e.results.filter(r => !r.passed).length} failed)`,
			};
		throw e;
	} finally {
		progress.done();
	}
}

registerCommand("conformance", {
	usage,
	parse: parseArgs,
	summary: "Autobahn-style WebSocket conformance suite against an echo server (--url ws://…), graded; --report, --compare",
	async run(argv) {
		const args = argumentsOr(parseArgs, argv, usage);
		if (typeof args === "number") return args;
		const total = selectCases(args.options).length;
		const runs: ConformanceRun[] = [];
		// Ctrl-C: no new case starts, the report covers what was done; a second Ctrl-C ends at once.
		const interrupt = onInterrupt("conformance", "finishing the cases under way");
		args.options.signal = interrupt.signal;
		if (args.implRun) {
			// One device per implementation, booted for its run and stopped after it.
			const { target: deviceTarget, impls } = args.implRun;
			for (const impl of impls) {
				if (interrupt.signal.aborted) break;
				process.stderr.write(`conformance: booting the ${deviceTarget} device with wsImpl=${impl}\n`);
				const device = await startDevice({ target: deviceTarget, config: { ...(await freeServicePorts()), wsImpl: impl } });
				try {
					if (!device.endpoints.ws) throw new Error(`the ${deviceTarget} device with wsImpl=${impl} serves no WebSocket echo (its log says why)`);
					const run = await runOne({ label: `${deviceTarget} ${impl}`, url: device.endpoints.ws }, args.options, total, `${impl}: `);
					runs.push(run);
					if (run.stopped) process.stderr.write(`conformance: ${run.stopped}\n`);
				} finally {
					await device.stop();
				}
			}
		}
		for (const t of args.targets) {
			if (interrupt.signal.aborted) break;
			const run = await runOne(t, args.options, total, args.compare ? `${t.label}: ` : "");
			runs.push(run);
			if (run.stopped) process.stderr.write(`conformance: ${run.stopped}\n`);
		}
		if (args.report) {
			fs.writeFileSync(args.report, renderConformanceHtml(runs));
			process.stderr.write(`conformance: report written to ${args.report}\n`);
		}
		interrupt.release();
		const interrupted = interrupt.interrupted;
		if (!args.compare) {
			const [only] = runs;
			if (only.stopped && !args.report && !interrupted) return 1;
			// Interrupted: what was done, as a finished run would print it.
			if (!only.stopped || interrupted)
				process.stdout.write(
					args.json
						? formatJson(only.results, { wire: args.wire })
						: formatText(only.results, { color: process.stdout.isTTY, shape: args.failures ? "failures" : args.verbose ? "verbose" : "summary" }),
				);
		} else if (args.json)
			process.stdout.write(
				`${JSON.stringify({ runs: runs.map(r => ({ label: r.label, url: r.url, stopped: r.stopped, summary: summarize(r.results), results: args.wire ? r.results : r.results.map(({ wire: _, ...rest }) => rest) })) }, null, 2)}\n`,
			);
		else process.stdout.write(formatComparison(runs));
		if (interrupted) return 130;
		const bad = runs.some(r => r.stopped || r.results.some(x => x.grade === "FAILED" || (args.strict && x.grade === "NON-STRICT")) || !r.results.length);
		return bad ? 1 : 0;
	},
});
