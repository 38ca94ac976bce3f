/*
 * host-harness conformance --url ws://host:port/path [--only 5,6] [--scale small]
 *                          [--max-message N] [--sizes LIST] [--round-trips N]
 *                          [--concurrency N] [--timeout MS] [--fail-fast MS] [--json] [--failures]
 *
 * Runs the WebSocket conformance suite against an echo server, prints the
 * report, exits 0 only when every case passed (1 otherwise, 2 on bad usage).
 */
import { argumentsOr, registerCommand } from "../cli.js";
import { formatJson, formatText } from "./report.js";
import { runConformance, selectCases, ServerGone, type CaseResult, type ConformanceOptions } from "./runner.js";
import { CommandFailure } from "../lib/arguments.js";

/**
 * Progress on stderr with the total: on a terminal one line rewritten per
 * case ("312/501 cases, 2 failed, 14 s"); piped, the same as a line of its
 * own every 5 s, so a log shows the run is alive.
 */
export function conformanceProgress(total: number, stream: NodeJS.WriteStream = process.stderr, everyMs = 5000) {
	const t0 = Date.now();
	let done = 0, failed = 0, shown = false;
	const line = () => `conformance: ${done}/${total} cases, ${failed} failed, ${Math.round((Date.now() - t0) / 1000)} s`;
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

const usage = `usage: host-harness conformance --url ws://host:port/path [options]

Autobahn-style WebSocket conformance suite (framing, ping/pong, reserved bits,
opcodes, fragmentation, UTF-8, close handling, limits, auto-fragmentation,
opening handshake) against an echo server. Exits 0 only if every case passes.

options:
  --url URL            the echo server (required)
  --only LIST          categories or case id prefixes, comma-separated: 5,6.4,7.9.1
  --scale full|small   small: for the Moddable simulator (messages <= 64 KiB, longer waits)
  --max-message N      the server refuses messages over N bytes with 1009
                       (omit for a server that streams its echo: every size must echo)
  --sizes LIST         message sizes for the limits cases (9.x), e.g. 65536,1048576
  --round-trips N      messages per round-trip case, 9.7/9.8 (default 250, small 25)
  --concurrency N      cases at once (default 1; keep within the server's client limit)
  --timeout MS         budget per wait inside a case
  --fail-fast MS       how soon the server must close after an invalid byte
  --failures           list only failed cases under each category
  --json               print the results as JSON

examples:
  npm run device -- --target node          # prints {"ws":"ws://127.0.0.1:8081/ws",…}
  host-harness conformance --url ws://127.0.0.1:8081/ws
  host-harness conformance --url ws://127.0.0.1:8081/ws --only 6,7 --failures
  host-harness conformance --url ws://127.0.0.1:8081/ws --scale small --concurrency 2
  host-harness conformance --url ws://192.168.1.42:8081/ws --max-message 65536 --json > report.json
`;

interface Args {
	url: string;
	options: ConformanceOptions;
	json: boolean;
	failures: boolean;
}

const list = (value: string) => value.split(",").map(s => s.trim()).filter(Boolean);

function number(name: string, value: string | undefined): number {
	const n = Number(value);
	if (value === undefined || !Number.isInteger(n) || n < 0)
		throw new Error(`${name} needs a whole number, not "${value ?? ""}"`);
	return n;
}

export function parseArgs(argv: string[]): Args | "help" {
	let url = "";
	const options: ConformanceOptions = {};
	let json = false, failures = false;
	for (let i = 0; i < argv.length; i++) {
		const [flag, inline] = argv[i].startsWith("--") && argv[i].includes("=") ? [argv[i].slice(0, argv[i].indexOf("=")), argv[i].slice(argv[i].indexOf("=") + 1)] : [argv[i], undefined];
		const value = () => inline ?? argv[++i];
		switch (flag) {
			case "--help": case "-h": return "help";
			case "--url": url = value() ?? ""; break;
			case "--only": options.only = list(value() ?? ""); break;
			case "--scale": {
				const scale = value();
				if (scale !== "full" && scale !== "small")
					throw new Error(`--scale must be full or small, not "${scale ?? ""}"`);
				options.scale = scale;
				break;
			}
			case "--max-message": options.maxMessage = number(flag, value()); break;
			case "--sizes": options.sizes = list(value() ?? "").map(s => number(flag, s)); break;
			case "--round-trips": options.roundTrips = number(flag, value()); break;
			case "--concurrency": options.concurrency = Math.max(1, number(flag, value())); break;
			case "--timeout": options.caseTimeoutMs = number(flag, value()); break;
			case "--fail-fast": options.failFastMs = number(flag, value()); break;
			case "--json": json = true; break;
			case "--failures": failures = true; break;
			default: throw new Error(`unknown argument "${argv[i]}"`);
		}
	}
	if (!/^ws:\/\/[^/]+/.test(url))
		throw new Error(url ? `--url must be ws://host:port/path, not "${url}"` : "--url ws://host:port/path is required");
	return { url, options, json, failures };
}

registerCommand("conformance", {
	usage,
	summary: "Autobahn-style WebSocket conformance suite against an echo server (--url ws://…)",
	async run(argv) {
		const args = argumentsOr(parseArgs, argv, usage);
		if (typeof args === "number")
			return args;
		const total = selectCases(args.options).length;
		const progress = conformanceProgress(total);
		let results;
		try {
			results = await runConformance(args.url, { ...args.options, onResult: progress.result });
		}
		catch (e) {
			if (e instanceof ServerGone) {
				progress.done();
				throw new CommandFailure(`${e.message}; stopped after ${e.results.length} of ${total} cases (${e.results.filter(r => !r.passed).length} failed)`);
			}
			throw e;
		}
		finally {
			progress.done();
		}
		process.stdout.write(args.json ? formatJson(results) : formatText(results, { color: process.stdout.isTTY, failuresOnly: args.failures }));
		return results.length > 0 && results.every(r => r.passed) ? 0 : 1;
	},
});
