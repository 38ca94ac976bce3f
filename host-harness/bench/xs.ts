/*
 * host-harness bench xs: the device's WebSocket and TCP code timed and
 * counted on the XS engine itself, from memory.
 *
 * Builds host-harness/bench/xs (an XS app: the device's modules, Moddable's
 * own ECMA-419 WebSocket client, memory doubles for embedded:io/socket/tcp
 * and /listener, and with --baseline the WebSocket modules of another
 * commit, taken from git into build/bench-xs/baseline) with
 * `mcconfig -m -p lin -o build/bench-xs -t build`, runs it with mcsim under
 * a private Xvfb (a -p lin build is a library mcsim loads, and mcsim is a
 * GTK app: it needs a display even with nothing to show), and reads its
 * `BENCH {json}` trace lines. The measured loops inside have no socket and
 * no poll, so mcsim's 20 ms socket poll does not bound them.
 *
 * Figures are of this machine's XS (64-bit: 32-byte slots); "board B"
 * converts slot counts to ESP32's 16-byte slots. Allocation counts are exact
 * (collector off, live slots and chunk bytes before and after); times are
 * noisy on a shared machine and provisional.
 *
 * Long because building, running and reading the XS program are one
 * sequence with one set of arguments; the table it prints is the shared
 * renderer's (report.ts formatting).
 */

import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startXvfb } from "../device/sim.js";
import { positiveValue } from "../lib/arguments.js";
import { trackPid, untrackPid } from "../lib/pids.js";
import { projectRoot } from "../lib/project.js";
import { findSdk, linBuildEnvironment, type Sdk, sdkEnvironment, which } from "../lib/sdk.js";
import { boardSlotSize } from "./heap.js";

export const benchXsUsage = `usage: host-harness bench xs [--ms <n>] [--rounds <n>] [--count <n>] [--only <text>] [--baseline <git ref>] [--json]

Times and counts messages through the device's WebSocket connection over a
socket (ws receive, ws send: the path real messages take), its parts alone
(parse, unmask, validate, deliver; frame, mask) and its TCP echo path on the
XS engine, built with mcconfig -m -p lin and run by mcsim under Xvfb, against
references in the same run: the native operations alone (one copy +
Logical.xor: the ceiling), a per-byte JS loop (the floor), Moddable's own
ECMA-419 WebSocket client fed the same frames, and with --baseline the
WebSocket modules of another commit. It also checks the native UTF-8
validator (websocket/utf8.c) against the last JS validator, feed by feed,
and the native unmask (websocket/mask.c) against a byte-at-a-time
reference at every alignment (section "check", not timed).

options:
  --baseline <ref>  also time the WebSocket reader, writer and validator of this commit
                    (git archive into build/bench-xs/baseline; its own imports kept among
                    themselves): the rows "baseline"
  --ms <n>          time per workload, ms (default 300)
  --rounds <n>      the implementations of a group alternate this many times, each timed
                    for ms / n; the best round is kept (default 3; more is steadier on a
                    loaded machine)
  --count <n>       exactly n messages per workload instead of a time (a quick check)
  --only <word>     only workloads whose "section group implementation" contains it ("_" for a space)
  --json            print the result as JSON instead of tables
  --help

examples:
  host-harness bench xs
  host-harness bench xs --ms 600 --json > bench-xs.json
  host-harness bench xs --baseline 51e55cb     (the receive path before it stopped copying payloads)
  host-harness bench xs --count 3 --only receive_64_      ("_" stands for a space)
`;

export interface BenchXsOptions {
	ms: number;
	/** Rounds of alternation per group (the best is kept). */
	rounds: number;
	count: number;
	only: string;
	json: boolean;
	/** A git ref whose WebSocket modules are timed beside ours; "" for none. */
	baseline: string;
}

export function parseBenchXsArgs(argv: readonly string[]): BenchXsOptions | "help" {
	const options: BenchXsOptions = { ms: 300, rounds: 3, count: 0, only: "", json: false, baseline: "" };
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		const value = () => {
			const v = argv[++i];
			if (v === undefined) throw new Error(`${arg} needs a value`);
			return v;
		};
		const positive = (text: string) => positiveValue(arg, text, true);
		switch (arg) {
			case "xs":
				break;
			case "--help":
			case "-h":
				return "help";
			case "--json":
				options.json = true;
				break;
			case "--ms":
				options.ms = positive(value());
				break;
			case "--rounds":
				options.rounds = positive(value());
				break;
			case "--count":
				options.count = positive(value());
				break;
			case "--only":
				options.only = value();
				break;
			case "--baseline":
				options.baseline = value();
				break;
			default:
				throw new Error(`unknown argument "${arg}"`);
		}
	}
	if (/[\s"'\\]/.test(options.only)) throw new Error("--only takes one word (no spaces or quotes): it is passed to mcconfig");
	return options;
}

/** One workload's raw figures, as the XS app reports them. */
export interface XsRecord {
	section: string;
	group: string;
	impl: string;
	bytes?: number;
	n?: number;
	ns?: number;
	count?: number;
	/** check rows: how long the check took. */
	ms?: number;
	slots?: number;
	chunkBytes?: number;
	note?: string;
	error?: string;
}

export interface XsRow extends XsRecord {
	messagesPerSecond?: number;
	megabytesPerSecond?: number;
	nsPerMessage?: number;
	/** slots × 16: what the slots take on an ESP32. */
	boardSlotBytes?: number;
	/** messages/s as a fraction of the group's ceiling row. */
	ofCeiling?: number;
}

export interface XsSummary {
	goal: string;
	figure: string;
	value: number | undefined;
	met: boolean | undefined;
}

export interface BenchXsResult {
	command: string;
	machine: { cpu: string; mhz: number | undefined; cores: number };
	xs: { slotSize: number; budgetMs: number; rounds: number; count: number; tcpChunk: number };
	rows: XsRow[];
	summary: XsSummary[];
	notes: string[];
}

const BOARD_SLOT = boardSlotSize;

export function deriveRows(records: XsRecord[]): XsRow[] {
	const rows: XsRow[] = records
		.filter(r => r.section !== "env")
		.map(r => {
			const row: XsRow = { ...r };
			if (r.n && r.ns) {
				const seconds = r.ns / 1e9;
				row.messagesPerSecond = r.n / seconds;
				row.megabytesPerSecond = ((r.bytes ?? 0) * r.n) / seconds / 1e6;
				row.nsPerMessage = r.ns / r.n;
			}
			if (r.slots !== undefined) row.boardSlotBytes = r.slots * BOARD_SLOT;
			return row;
		});
	for (const row of rows) {
		const ceiling = rows.find(c => c.section === row.section && c.group === row.group && c.impl === "ceiling");
		if (ceiling?.messagesPerSecond && row.messagesPerSecond) row.ofCeiling = row.messagesPerSecond / ceiling.messagesPerSecond;
	}
	return rows;
}

function find(rows: XsRow[], section: string, group: string, impl: string): XsRow | undefined {
	return rows.find(r => r.section === section && r.group === group && r.impl === impl);
}

/** The kit's performance targets, figure by figure (benchmark targets, not assertions); the headline first. */
export function summarize(rows: XsRow[]): XsSummary[] {
	const out: XsSummary[] = [];
	const push = (goal: string, figure: string, value: number | undefined, met: (v: number) => boolean) =>
		out.push({ goal, figure, value, met: value === undefined ? undefined : met(value) });
	const ratio = (a: XsRow | undefined, b: XsRow | undefined) =>
		a?.messagesPerSecond && b?.messagesPerSecond ? a.messagesPerSecond / b.messagesPerSecond : undefined;
	for (const kind of ["binary", "text"])
		for (const section of ["ws receive", "ws send"])
			for (const size of [64, 1024, 65536]) {
				const group = `${size} ${kind}`;
				push(
					"a connection over a socket ≥ 1.0× Moddable's own client (messages/s, same run)",
					`${section} ${size} B ${kind}: ours ÷ Moddable client`,
					ratio(find(rows, section, group, "ours"), find(rows, section, group, "moddable client")),
					v => v >= 1,
				);
			}
	for (const size of [64, 65536]) {
		const group = `${size} B`;
		push(
			"TCP echo ≥ 0.9× read(buffer) into a kept buffer (messages/s, same run)",
			`tcp echo ${size} B: ours ÷ read(buffer)`,
			ratio(find(rows, "tcp echo", group, "ours"), find(rows, "tcp echo", group, "ceiling")),
			v => v >= 0.9,
		);
	}
	for (const size of [64, 1024, 65536]) {
		const group = `${size} binary, one frame`;
		const ours = find(rows, "receive", group, "ours"),
			read = find(rows, "receive", group, "read");
		push(
			"binary receive in one read: 0 chunk bytes beyond the read buffer",
			`${size} B: chunk bytes/msg beyond the read`,
			ours?.chunkBytes !== undefined && read?.chunkBytes !== undefined ? ours.chunkBytes - read.chunkBytes : undefined,
			v => v <= 0,
		);
	}
	for (const size of [64, 1024, 65536]) {
		const client = find(rows, "send client", `${size} binary`, "ours frame");
		push(
			"send: at most one allocation per message",
			`${size} B client (frame, masked): chunk bytes/msg (one buffer = ${size} + header)`,
			client?.chunkBytes,
			v => v <= size + 14 + 64,
		);
	}
	for (const size of [64, 1024, 65536]) {
		const ours = find(rows, "validate", `${size} ascii`, "ours");
		push("text validation ≥ 1/3 of the native ceiling", `${size} B ASCII: validator MB/s ÷ ceiling MB/s`, ours?.ofCeiling, v => v >= 1 / 3);
		const mixed = find(rows, "validate", `${size} mixed`, "ours");
		push("text validation ≥ 1/3 of the native ceiling", `${size} B mixed UTF-8: validator ÷ ceiling`, mixed?.ofCeiling, v => v >= 1 / 3);
	}
	for (const row of rows.filter(r => r.section === "receive" && r.impl === "ours via socket"))
		push(
			"≥ 1.0× Moddable's own client (messages/s, same run)",
			`${row.group}: reader via socket ÷ Moddable client`,
			ratio(row, find(rows, "receive", row.group, "moddable client")),
			v => v >= 1,
		);
	return out;
}

function machine(): BenchXsResult["machine"] {
	const cpus = os.cpus();
	return { cpu: cpus[0]?.model ?? "unknown", mhz: cpus[0]?.speed || undefined, cores: cpus.length };
}

const baselineRoot = path.join(projectRoot, "build", "bench-xs", "baseline");
/** The WebSocket modules a baseline is timed by (bench/xs/main.js): the reader, the writer, the validator. */
const baselineExports = ["FrameWriter:frame-writer", "MessageReader:message-reader", "Utf8Validator:validation"];

function git(args: string[], options: { input?: Buffer } = {}): Buffer {
	const result = spawnSync("git", args, { cwd: projectRoot, maxBuffer: 64 * 1024 * 1024, input: options.input });
	if (result.status !== 0) throw new Error(`git ${args.join(" ")} failed: ${result.stderr?.toString().trim() || result.error?.message}`);
	return result.stdout;
}

/**
 * The folder the bench's "bench/baseline" module and "baseline/*" modules come
 * from ($(BENCH_XS_BASELINE) in its manifest). With a ref: that commit's
 * websocket/ folder from git (git archive, nothing copied into the
 * repository), under build/bench-xs/baseline/<commit>, its imports of its own
 * JavaScript modules made relative so that they stay among themselves (a
 * native module, with a .c beside it, stays the live one: one C symbol each).
 * Without: a "bench/baseline" that exports nothing, and no rows.
 */
export function prepareBaseline(ref: string): { dir: string; commit: string } {
	if (!ref) {
		const dir = path.join(baselineRoot, "none");
		fs.mkdirSync(path.join(dir, "websocket"), { recursive: true });
		fs.writeFileSync(
			path.join(dir, "baseline.js"),
			`export const ref = "";\n${baselineExports.map(e => `export const ${e.split(":")[0]} = undefined;`).join("\n")}\n`,
		);
		return { dir, commit: "" };
	}
	let commit: string;
	try {
		commit = git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])
			.toString()
			.trim();
	} catch {
		throw new Error(`--baseline ${ref}: not a commit of this repository`);
	}
	const dir = path.join(baselineRoot, commit.slice(0, 12));
	const folder = path.join(dir, "websocket");
	const complete = path.join(dir, ".complete");
	if (!fs.existsSync(complete)) {
		fs.rmSync(dir, { recursive: true, force: true });
		fs.mkdirSync(dir, { recursive: true });
		const tar = git(["archive", "--format=tar", commit, "websocket"]);
		const untar = spawnSync("tar", ["-x", "-C", dir], { input: tar });
		if (untar.status !== 0) throw new Error(`tar -x of git archive ${commit} websocket failed: ${untar.stderr.toString()}`);
		const names = new Set(
			fs
				.readdirSync(folder)
				.filter(f => f.endsWith(".ts") && !f.endsWith(".d.ts"))
				.map(f => f.slice(0, -3)),
		);
		for (const name of [...names]) if (fs.existsSync(path.join(folder, `${name}.c`))) names.delete(name);
		for (const name of names) {
			const file = path.join(folder, `${name}.ts`);
			const text = fs
				.readFileSync(file, "utf8")
				.replace(/from "websocket\/([\w-]+)"/g, (all, module: string) => (names.has(module) ? `from "./${module}"` : all));
			fs.writeFileSync(file, text);
		}
		// Keep only what the timed modules import among themselves: the manifest takes the folder whole.
		const kept = new Set<string>();
		const visit = (name: string) => {
			if (kept.has(name)) return;
			if (!names.has(name)) throw new Error(`${ref} (${commit.slice(0, 12)}) has no websocket/${name}.ts to time`);
			kept.add(name);
			for (const match of fs.readFileSync(path.join(folder, `${name}.ts`), "utf8").matchAll(/from "\.\/([\w-]+)"/g)) visit(match[1]);
		};
		for (const entry of baselineExports) visit(entry.split(":")[1]);
		for (const file of fs.readdirSync(folder))
			if (!kept.has(file.replace(/\.ts$/, "")) || !file.endsWith(".ts")) fs.rmSync(path.join(folder, file), { recursive: true, force: true });
		fs.writeFileSync(complete, commit);
	}
	// Fresh times on every run, so that make rebuilds the baseline's modules after a run with another baseline or none.
	const now = new Date();
	for (const file of fs.readdirSync(folder)) fs.utimesSync(path.join(folder, file), now, now);
	fs.writeFileSync(
		path.join(dir, "baseline.js"),
		`export const ref = "${commit.slice(0, 7)}";\n${baselineExports.map(e => `export { ${e.split(":")[0]} } from "baseline/${e.split(":")[1]}";`).join("\n")}\n`,
	);
	return { dir, commit };
}

/** The device's manifests whose "modules" maps name the files of the device modules the bench app imports. */
const deviceManifests = ["websocket/manifest.json", "tcp/manifest.json", "modules/manifest.json", "app/manifest.json"];

/**
 * The device modules the bench app imports, directly or through each other,
 * each mapped to its file as the device's own manifests map it: derived
 * from the imports and the manifests on every build, so that a device module
 * that starts importing another needs no change to the bench. What the
 * bench's manifest maps itself (the socket doubles, the plain socket) stays
 * its own, and its imports are not followed.
 */
export function benchDeviceModules(): Record<string, string> {
	const benchDir = path.join(projectRoot, "host-harness", "bench", "xs");
	const own = new Set(Object.keys((JSON.parse(fs.readFileSync(path.join(benchDir, "manifest.json"), "utf8")) as { modules: object }).modules));
	const files = new Map<string, string>();
	for (const name of deviceManifests) {
		const file = path.join(projectRoot, name);
		const modules = (JSON.parse(fs.readFileSync(file, "utf8")) as { modules?: Record<string, unknown> }).modules ?? {};
		for (const [specifier, value] of Object.entries(modules))
			if (typeof value === "string" && !specifier.includes("*") && specifier !== "~" && !value.includes("$("))
				files.set(specifier, path.resolve(path.dirname(file), value));
	}
	const found: Record<string, string> = {};
	const visit = (source: string) => {
		for (const match of fs.readFileSync(source, "utf8").matchAll(/\b(?:from|import)\s+"([^"]+)"/g)) {
			const specifier = match[1];
			const base = files.get(specifier);
			if (!base || own.has(specifier) || found[specifier]) continue;
			found[specifier] = base;
			for (const extension of [".ts", ".js"]) if (fs.existsSync(base + extension)) visit(base + extension);
		}
	};
	for (const file of fs.readdirSync(benchDir)) if (/\.(js|ts)$/.test(file) && !file.endsWith(".d.ts")) visit(path.join(benchDir, file));
	return found;
}

/** Build the XS app; returns a private copy of its mc.so. */
export function buildBenchXs(sdk: Sdk, options: BenchXsOptions): string {
	const outDir = path.join(projectRoot, "build", "bench-xs");
	fs.mkdirSync(outDir, { recursive: true });
	const baseline = prepareBaseline(options.baseline);
	// The bench's own manifest, and the device modules it imports (benchDeviceModules), in a
	// manifest of a folder named as the bench's ("xs": the app's name, and its library's path).
	const manifest = path.join(outDir, "manifest", "xs", "manifest.json");
	fs.mkdirSync(path.dirname(manifest), { recursive: true });
	const generated = JSON.stringify(
		{ include: [path.join(projectRoot, "host-harness", "bench", "xs", "manifest.json")], modules: benchDeviceModules() },
		null,
		"\t",
	);
	if (!fs.existsSync(manifest) || fs.readFileSync(manifest, "utf8") !== generated) fs.writeFileSync(manifest, generated);
	const args = [
		"-m",
		"-p",
		"lin",
		"-o",
		outDir,
		"-t",
		"build",
		manifest,
		`benchMs=${options.ms}`,
		`benchRounds=${options.rounds}`,
		`benchCount=${options.count}`,
		`benchOnly=${options.only}`,
	];
	const env = { ...linBuildEnvironment(sdk, projectRoot), BENCH_XS_BASELINE: baseline.dir };
	const result = spawnSync(sdk.mcconfig, args, { cwd: projectRoot, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
	if (result.status !== 0) {
		const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim().split("\n").slice(-25).join("\n");
		throw new Error(`mcconfig ${args.join(" ")} failed (${result.error?.message ?? `exit ${result.status}`}):\n${output}`);
	}
	const library = path.join(outDir, "bin", "lin", "mc", "release", "xs", "mc.so");
	if (!fs.existsSync(library)) throw new Error(`mcconfig succeeded but left no ${library}`);
	const copy = path.join(outDir, `run-${process.pid}.so`);
	fs.copyFileSync(library, copy);
	return copy;
}

/** Run the built app under a private Xvfb until BENCH-DONE; returns its records. */
export async function runBenchXsApp(sdk: Sdk, library: string, timeoutMs: number, progress?: (line: string) => void): Promise<XsRecord[]> {
	const display = await startXvfb();
	const stdbuf = which("stdbuf");
	const [command, ...args] = stdbuf ? [stdbuf, "-oL", "-eL", sdk.mcsim, library] : [sdk.mcsim, library];
	const child = spawn(command, args, { env: { ...sdkEnvironment(sdk, projectRoot), DISPLAY: display.display }, stdio: ["ignore", "pipe", "pipe"] });
	trackPid(child.pid);
	const records: XsRecord[] = [];
	let tail: string[] = [];
	try {
		await new Promise<void>((resolve, reject) => {
			let buffered = "";
			const timer = setTimeout(() => reject(new Error(`bench xs did not finish within ${timeoutMs / 1000} s; last output:\n${tail.join("\n")}`)), timeoutMs);
			const onLine = (line: string) => {
				if (line.startsWith("BENCH ")) {
					const record = JSON.parse(line.slice(6)) as XsRecord;
					records.push(record);
					progress?.(`${record.section} ${record.group ?? ""} ${record.impl ?? ""}`);
				} else if (line === "BENCH-DONE") {
					clearTimeout(timer);
					resolve();
				} else {
					tail.push(line);
					tail = tail.slice(-20);
				}
			};
			const onData = (chunk: Buffer) => {
				buffered += chunk.toString();
				let at: number;
				while ((at = buffered.indexOf("\n")) >= 0) {
					onLine(buffered.slice(0, at).trimEnd());
					buffered = buffered.slice(at + 1);
				}
			};
			child.stdout!.on("data", onData);
			child.stderr!.on("data", onData);
			child.once("exit", (code, signal) => {
				clearTimeout(timer);
				reject(new Error(`mcsim exited (${signal ?? code}) before the bench finished; last output:\n${tail.join("\n")}`));
			});
		});
	} finally {
		if (child.exitCode === null && child.signalCode === null) {
			const gone = new Promise<void>(resolve => child.once("exit", () => resolve()));
			child.kill("SIGTERM");
			await gone;
		}
		untrackPid(child.pid);
		await display.stop();
		fs.rmSync(library, { force: true });
	}
	return records;
}

/** Why bench xs cannot run here, or undefined. */
export function benchXsUnavailable(): string | undefined {
	const lookup = findSdk();
	if ("missing" in lookup) return lookup.missing;
	if (!which("Xvfb")) return "Xvfb is not installed: mcsim needs a display even headless (apt-get install xvfb)";
	return undefined;
}

export async function benchXs(options: BenchXsOptions, progress?: (line: string) => void): Promise<BenchXsResult> {
	const lookup = findSdk();
	if ("missing" in lookup) throw new Error(lookup.missing);
	progress?.("building host-harness/bench/xs with mcconfig -m -p lin …");
	const library = buildBenchXs(lookup.sdk, options);
	progress?.("running it with mcsim under Xvfb …");
	const records = await runBenchXsApp(lookup.sdk, library, 15 * 60_000, progress);
	const env = records.find(r => r.section === "env") as unknown as BenchXsResult["xs"] | undefined;
	const rows = deriveRows(records);
	const notes = [
		"XS release build of the Moddable simulator (mcsim), -p lin; figures are this machine's and noisy on a shared machine.",
		`Slots are ${env?.slotSize ?? 32} bytes here; "board B" counts them at 16 bytes, as on ESP32. Chunk bytes include XS's chunk header.`,
		`Allocations: live slots and chunk bytes added per message with the collector off, after a forced collection (exact); rates: with the collector on, the best of ${options.count ? 1 : options.rounds} alternating rounds.`,
		"receive: masked frames as a client sends them, server role; 'read' is the stand-in for socket.read(count) alone, included in every other row.",
		"Moddable client: $MODDABLE/examples/io/tcp/websocketclient attached to a memory socket (attach: its server side, which accepts masked frames); it does not validate UTF-8.",
		"send client: Moddable's client masks only when it connected itself (DNS and handshake), so it has no client-role row.",
		"ws receive, ws send: one connection of websocket/server over a memory socket (the upgrade done, heartbeat off, the route's defaults); receive: a masked message written into the socket and delivered to the route's onMessage (text: validated as UTF-8; Moddable's client does not); send: connection.sendBinary() (text: sendMessage(TEXT, bytes)), one frame, written within the socket's budget; Moddable's write() gets one options object for all messages.",
		"tcp echo: the driver gives both rows the same socket calls per message (the bytes, a budget back, a second look); the reference reads into a kept buffer, through a view of the length waiting where that is shorter (lin and lwip refuse a longer buffer, and so does the memory socket), and writes the same view, ignoring the budget.",
		"Times are the thread's CPU time (the loops do no I/O): on a shared machine, wall time would count other processes' turns.",
		"validate: 'ours' is Utf8Validator on the C loop (websocket/utf8.c); 'last JS' the JS validator it replaced (ASCII a word at a time).",
	];
	if (options.baseline)
		notes.push(`baseline: websocket/ at ${options.baseline} (git archive into build/bench-xs/baseline), its reader, writer and validator timed beside ours.`);
	for (const row of rows.filter(r => r.section === "check" && !r.error)) notes.push(`check: ${row.group}: ${row.count} comparisons agree (${row.ms} ms).`);
	for (const row of rows.filter(r => r.error)) notes.push(`${row.section} ${row.group} ${row.impl}: failed: ${row.error}`);
	return {
		command: `host-harness bench xs --ms ${options.ms}${options.rounds !== 3 ? ` --rounds ${options.rounds}` : ""}${options.count ? ` --count ${options.count}` : ""}${options.only ? ` --only ${options.only}` : ""}${options.baseline ? ` --baseline ${options.baseline}` : ""}`,
		machine: machine(),
		xs: {
			slotSize: env?.slotSize ?? 0,
			budgetMs: env?.budgetMs ?? options.ms,
			rounds: env?.rounds ?? options.rounds,
			count: env?.count ?? options.count,
			tcpChunk: env?.tcpChunk ?? 0,
		},
		rows,
		summary: summarize(rows),
		notes,
	};
}

/* ------------------------------------------------------------------ tables */

function fmt(value: number | undefined, digits = 0): string {
	if (value === undefined || !Number.isFinite(value)) return "–";
	if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
	return value.toFixed(digits);
}

function table(header: string[], rows: string[][]): string {
	const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)));
	const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
	return [line(header), `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`, ...rows.map(line)].join("\n");
}

const titles: Record<string, string> = {
	"ws receive": "A WebSocket connection over a socket: receive (masked message in, to the route's onMessage), per message",
	"ws send": "A WebSocket connection over a socket: send (connection.sendBinary or sendMessage, framed and written), per message",
	receive: "WebSocket receive (parse, unmask, validate text, deliver), per message",
	validate: "UTF-8 validation alone",
	"send server": "WebSocket send, server role (unmasked)",
	"send client": "WebSocket send, client role (masked)",
	"tcp echo": "TCP echo over a memory socket pair (write in, echo, read back)",
};

export function renderBenchXs(result: BenchXsResult): string {
	const out: string[] = [
		`bench xs: ${result.machine.cpu}${result.machine.mhz ? ` (${result.machine.mhz} MHz)` : ""}, XS slots ${result.xs.slotSize} B, ${result.xs.count ? `${result.xs.count} messages` : `${result.xs.budgetMs} ms`} per workload`,
		"",
	];
	for (const section of Object.keys(titles)) {
		const rows = result.rows.filter(r => r.section === section);
		if (!rows.length) continue;
		out.push(`${titles[section]}`, "");
		out.push(
			table(
				["workload", "implementation", "msg/s", "MB/s", "× ceiling", "slots/msg", "board B/msg", "chunk B/msg"],
				rows.map(r => [
					r.group,
					r.impl,
					r.error ? "error" : fmt(r.messagesPerSecond),
					fmt(r.megabytesPerSecond, 2),
					fmt(r.ofCeiling, 2),
					fmt(r.slots, 1),
					fmt(r.boardSlotBytes),
					fmt(r.chunkBytes),
				]),
			),
		);
		out.push("");
	}
	const memory = result.rows.filter(r => r.section === "memory");
	if (memory.length) {
		out.push("Memory held (live after a forced collection)", "");
		out.push(
			table(
				["what", "implementation", "slots", "board B (16-byte slots)", "chunk B", "board total B"],
				memory.map(r => [r.group, r.impl, fmt(r.slots, 1), fmt(r.boardSlotBytes), fmt(r.chunkBytes), fmt((r.boardSlotBytes ?? 0) + (r.chunkBytes ?? 0))]),
			),
		);
		out.push("");
	}
	out.push("Targets (benchmark figures, not assertions)", "");
	out.push(
		table(
			["goal", "figure", "value", "met"],
			result.summary.filter(s => s.value !== undefined).map(s => [s.goal, s.figure, fmt(s.value, 2), s.met === undefined ? "–" : s.met ? "yes" : "no"]),
		),
	);
	out.push("", ...result.notes.map(n => `- ${n}`), "");
	return out.join("\n");
}

/** The CLI's `bench xs`: exit 0 when every workload ran, 1 when one failed, 2 on bad arguments or when it cannot run here. */
export async function runBenchXsCommand(
	argv: string[],
	argumentsOr: <T>(parse: (argv: string[]) => T | "help", argv: string[], usage: string) => T | number,
): Promise<number> {
	const options = argumentsOr(parseBenchXsArgs, argv, benchXsUsage);
	if (typeof options === "number") return options;
	const missing = benchXsUnavailable();
	if (missing) {
		process.stderr.write(`bench xs cannot run here: ${missing}\n`);
		return 2;
	}
	const tty = process.stderr.isTTY === true;
	const result = await benchXs(options, tty ? line => process.stderr.write(`\r\x1b[K${line.slice(0, 100)}`) : undefined);
	if (tty) process.stderr.write("\r\x1b[K");
	process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : renderBenchXs(result));
	return result.rows.some(r => r.error) ? 1 : 0;
}
