#!/usr/bin/env node
// The device suites, in as many vitest runs at once as DEVICE_SHARDS says
// (default: one per core, at most 2). Each run is a whole vitest of the
// device project over its share of the files: its own global setup (its own
// lan and lwip devices, in namespaces of their own), one suite at a time, as
// one run alone is; so two runs share nothing but the machine and the
// simulator's build folders, whose builds take a lock. The suites spend most
// of their time waiting on devices and peers (the simulator polls its
// sockets every 20 ms), so two runs take little more than the longer of them.
//
// The files are shared out by their last durations, longest first, each to
// the run with the least so far: build/device-durations.json (kept from each
// run's report, tests/summary-reporter.ts), else the durations a clean
// checkout's run measured (tests/device/durations.json), else the median for
// a file neither knows. The last line sums the runs' counts as one run's
// would; the exit code is the worst of the runs'. Arguments pick files, as
// vitest's do: `tests/device-suites.mjs ws-server tcp-` .
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const seedFile = path.join(root, "tests", "device", "durations.json");
const lastFile = path.join(root, "build", "device-durations.json");

/** A JSON file (durations, or a run's report), or {} when it is absent or unreadable. */
function readJson(file) {
	try {
		return JSON.parse(fs.readFileSync(file, "utf8"));
	} catch {
		return {};
	}
}

/** The device suites' files, relative to the root, as vitest names them. */
function suiteFiles() {
	const dir = path.join(root, "tests", "device");
	return fs
		.readdirSync(dir, { recursive: true })
		.filter(name => String(name).endsWith(".test.ts"))
		.map(name => path.posix.join("tests", "device", String(name).split(path.sep).join("/")))
		.sort();
}

/** Longest first, each to the run with the least so far. */
export function shareOut(files, durations, runs) {
	const known = files
		.map(f => durations[f])
		.filter(d => typeof d === "number")
		.sort((a, b) => a - b);
	const median = known.length ? known[Math.floor(known.length / 2)] : 1;
	const weight = f => (typeof durations[f] === "number" ? durations[f] : median);
	const shares = Array.from({ length: runs }, () => ({ files: [], seconds: 0 }));
	for (const file of [...files].sort((a, b) => weight(b) - weight(a) || a.localeCompare(b))) {
		const least = shares.reduce((a, b) => (b.seconds < a.seconds ? b : a));
		least.files.push(file);
		least.seconds += weight(file);
	}
	return shares.filter(share => share.files.length);
}

function runCount() {
	const asked = Number(process.env.DEVICE_SHARDS);
	if (Number.isInteger(asked) && asked >= 1) return asked;
	return Math.max(1, Math.min(2, os.availableParallelism()));
}

/** One vitest run of the device project over these files; its lines prefixed with its number when there are several. */
function run(files, index, count) {
	const out = path.join(root, "build", `device-run-${index}.json`);
	fs.rmSync(out, { force: true });
	const vitest = path.join(root, "node_modules", "vitest", "vitest.mjs");
	const child = spawn(process.execPath, [vitest, "run", "--project", "device", ...files], {
		cwd: root,
		env: { ...process.env, VITEST_RUN_REPORT: out },
		stdio: count === 1 ? "inherit" : ["ignore", "pipe", "pipe"],
	});
	if (count > 1) {
		const tag = `[${index + 1}/${count}] `;
		for (const [stream, sink] of [
			[child.stdout, process.stdout],
			[child.stderr, process.stderr],
		]) {
			let rest = "";
			stream.on("data", chunk => {
				const lines = (rest + chunk.toString()).split("\n");
				rest = lines.pop();
				for (const line of lines) sink.write(`${tag}${line}\n`);
			});
			stream.on("end", () => rest && sink.write(`${tag}${rest}\n`));
		}
	}
	return new Promise(resolve => {
		child.once("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), out }));
	});
}

async function main() {
	const asked = process.argv.slice(2);
	const files = asked.length ? suiteFiles().filter(f => asked.some(a => f.includes(a))) : suiteFiles();
	const durations = { ...readJson(seedFile), ...readJson(lastFile) };
	const shares = shareOut(files, durations, runCount());
	if (shares.length > 1) {
		for (const [i, share] of shares.entries())
			console.log(`device suites, run ${i + 1} of ${shares.length}: ${share.files.length} files, about ${Math.round(share.seconds)} s by their last durations`);
	}
	const results = await Promise.all(shares.map((share, i) => run(share.files, i, shares.length)));
	const reports = results.map(r => readJson(r.out));
	// Keep what each run measured, for the next share-out.
	const measured = readJson(lastFile);
	for (const report of reports) Object.assign(measured, report.durations);
	fs.mkdirSync(path.dirname(lastFile), { recursive: true });
	fs.writeFileSync(lastFile, `${JSON.stringify(measured, null, "\t")}\n`);
	const worst = Math.max(...results.map(r => r.code));
	if (shares.length > 1) {
		const sum = key => reports.reduce((n, report) => n + (report[key] ?? 0), 0);
		const missing = reports.filter(report => report.passed === undefined).length;
		console.log(
			`\ndevice: ${sum("passed")} passed, ${sum("failed") + missing} failed${sum("skipped") ? `, ${sum("skipped")} skipped` : ""} (${shares.length} runs at once${missing ? `; ${missing} ended without a report` : ""})`,
		);
	}
	process.exitCode = worst;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
