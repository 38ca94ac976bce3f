/*
 * A command run against many devices at once, as a production test jig
 * does: `check`, `bench`, `soak` and `conformance` with --device a,b,c or
 * --devices FILE|discover. Each device gets a process of its own (the same
 * command for one device, with --json), at most --parallel at a time, so
 * nothing is shared between devices: ports, peers, sockets. A device that
 * answers on none of its ports is marked unreachable after a few seconds
 * (device/reach) and gets no process; the others finish.
 *
 * The end is one table, a row per device (its address, and its mDNS name,
 * build and MAC where it announced them; pass/fail counts or the command's
 * figures; what failed, by name), a summary, and exit 1 if any device
 * failed; --json the same as one document; --report an HTML page with a
 * row per device, linking each device's own report where the command
 * writes one. Ctrl-C stops the processes and prints the rows so far.
 */

import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { unreachableEndpoints } from "../device/reach.js";
import { boardEndpoints } from "../device/targets.js";
import { CommandFailure } from "../lib/arguments.js";
import { onInterrupt } from "../lib/interrupt.js";
import { deviceAddress, isMdnsName } from "../lib/mdns.js";
import type { FleetDevice } from "./devices.js";

export type FleetCommand = "check" | "bench" | "soak" | "conformance";

export interface FleetRow {
	device: string;
	address?: string;
	name?: string;
	build?: string;
	mac?: string;
	state: "passed" | "failed" | "unreachable" | "error" | "interrupted";
	/** One cell: "42 passed, 1 failed", "tcp 310 MB/s, rtt 0.02 ms", … */
	summary: string;
	/** Failing cases by name, or why the device could not be judged. */
	problems: string[];
	seconds: number;
	report?: string;
	/** The command's own JSON for this device, when it gave one. */
	result?: unknown;
}

export interface FleetOptions {
	command: FleetCommand;
	devices: FleetDevice[];
	/** The command's other arguments, passed to every device's run. */
	rest: string[];
	parallel: number;
	json: boolean;
	report?: string;
	/** Where each device's own report goes (conformance --report, bench --report). */
	reportDir?: string;
	cli: string;
	say: (line: string) => void;
}

/** What one device's --json says, as a row. */
export function summarize(command: FleetCommand, result: Record<string, unknown>): Pick<FleetRow, "state" | "summary" | "problems"> {
	switch (command) {
		case "check": {
			const cases = (result.cases as { name: string; state: string; error?: string }[] | undefined) ?? [];
			// Each failed case with why: the first line of its assertion.
			const failed = cases.filter(c => c.state === "failed").map(c => (c.error ? `${c.name}: ${c.error.split("\n")[0]}` : c.name));
			const passed = Number(result.passed ?? 0);
			return {
				state: failed.length || !passed ? "failed" : "passed",
				summary: `${passed} passed, ${failed.length} failed`,
				problems: passed ? failed : ["no case ran"],
			};
		}
		case "bench": {
			const metrics = (result.metrics as { key: string; unit: string; device: number; label: string }[] | undefined) ?? [];
			const throughput = metrics.find(m => m.unit === "MB/s");
			const rtt = metrics.find(m => /\.rtt\.p50$/.test(m.key));
			const figures = [throughput && `${throughput.device.toFixed(2)} MB/s`, rtt && `round trip p50 ${rtt.device.toFixed(2)} ms`].filter(Boolean);
			return {
				state: metrics.length ? "passed" : "failed",
				summary: figures.join(", ") || "no figure",
				problems: metrics.length ? [] : ["no metric measured"],
			};
		}
		case "soak": {
			const total = (result.total ?? {}) as { errors?: number; messages?: number; connections?: number };
			return {
				state: result.passed ? "passed" : "failed",
				summary: `${total.connections ?? 0} connections, ${total.messages ?? 0} messages, ${total.errors ?? 0} errors`,
				problems: ((result.errorSamples as string[] | undefined) ?? []).slice(0, 5),
			};
		}
		case "conformance": {
			const summary = (result.summary ?? {}) as { passed?: number; total?: number; grades?: Record<string, number> };
			const results = (result.results as { id: string; grade: string; expected?: string; observed?: string }[] | undefined) ?? [];
			const failed = results.filter(r => r.grade === "FAILED").map(r => (r.observed ? `${r.id}: expected ${r.expected}, observed ${r.observed}` : r.id));
			return {
				state: failed.length || !summary.total ? "failed" : "passed",
				summary: `${summary.passed ?? 0}/${summary.total ?? 0} cases passed`,
				problems: failed,
			};
		}
	}
}

/** The arguments of one device's own run. */
function childArgs(options: FleetOptions, device: FleetDevice, address: string, report?: string): string[] {
	const config = Object.entries(device.config).flatMap(([k, v]) => ["--config", `${k}=${v}`]);
	if (options.command === "conformance") {
		const url = boardEndpoints(address, device.config).ws;
		if (!url) throw new CommandFailure(`${device.host}: its config serves no WebSocket echo (wsServer)`);
		return ["conformance", "--url", url, "--json", ...(report ? ["--report", report] : []), ...options.rest];
	}
	return [options.command, "--device", address, ...config, "--json", ...(report ? ["--report", report] : []), ...options.rest];
}

/**
 * What a device says about itself on its page's /routes.json (the kit's app,
 * httpPage on): its name, build and MAC, for what `known` (from discovery)
 * lacks; nothing when it has no such route or does not answer within 3 s.
 */
async function askIdentity(
	endpoints: { ws?: string },
	known: { name?: string; build?: string; mac?: string },
): Promise<{ name?: string; build?: string; mac?: string }> {
	if (!endpoints.ws || (known.name && known.build && known.mac)) return {};
	const url = new URL("/routes.json", endpoints.ws.replace(/^ws/, "http"));
	try {
		const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
		if (!response.ok) return {};
		const said = (await response.json()) as Record<string, unknown>;
		const text = (key: string) => (typeof said[key] === "string" && said[key] ? (said[key] as string) : undefined);
		return { name: known.name ?? text("name"), build: known.build ?? text("build"), mac: known.mac ?? text("mac") };
	} catch {
		return {};
	}
}

function lastLine(text: string): string {
	return text.trim().split("\n").filter(Boolean).at(-1) ?? "";
}

/** Run the command on every device, at most `parallel` at once; rows in the devices' order. */
export async function runFleet(options: FleetOptions): Promise<{ rows: FleetRow[]; interrupted: boolean }> {
	const rows: (FleetRow | undefined)[] = new Array(options.devices.length);
	const children = new Set<ChildProcess>();
	const interrupt = onInterrupt("fleet", "stopping every device's run", () => {
		for (const child of children) child.kill("SIGINT");
	});
	let next = 0;
	const judge = async (index: number): Promise<FleetRow> => {
		const device = options.devices[index];
		const started = Date.now();
		const base = { device: device.host, name: device.name, build: device.build, mac: device.mac };
		const seconds = () => Math.round((Date.now() - started) / 100) / 10;
		let address: string;
		try {
			address = isMdnsName(device.host) ? await deviceAddress(device.host) : device.host;
		} catch (e) {
			return { ...base, state: "unreachable", summary: "no answer to mDNS", problems: [(e as Error).message], seconds: seconds() };
		}
		// Unreachable when nothing answers; a device that answers on some ports is judged (its failures named by the command).
		const endpoints = boardEndpoints(address, device.config);
		const unanswered = await unreachableEndpoints(endpoints);
		if (unanswered.length && unanswered.length === Number(!!endpoints.tcp) + Number(!!endpoints.ws))
			return { ...base, address, state: "unreachable", summary: "does not answer", problems: unanswered, seconds: seconds() };
		Object.assign(base, await askIdentity(endpoints, base));
		const report =
			options.reportDir && (options.command === "conformance" || options.command === "bench")
				? path.join(options.reportDir, `${options.command}-${device.host.replace(/[^\w.-]/g, "_")}.html`)
				: undefined;
		const args = childArgs(options, device, address, report);
		const child = spawn(process.execPath, [options.cli, ...args], {
			stdio: ["ignore", "pipe", "pipe"],
			env: { ...process.env, TARGETS: undefined, DEVICE: undefined, DEVICE_KNOBS: device.pace },
		});
		children.add(child);
		let stdout = "",
			stderr = "";
		child.stdout!.on("data", (d: Buffer) => {
			stdout += d;
		});
		child.stderr!.on("data", (d: Buffer) => {
			stderr += d;
		});
		const code = await new Promise<number | null>(resolve => child.once("exit", resolve));
		children.delete(child);
		let result: Record<string, unknown> | undefined;
		try {
			result = JSON.parse(stdout) as Record<string, unknown>;
		} catch {
			result = undefined;
		}
		// Interrupted: the device's own run printed what it had done (its Ctrl-C rule): its counts so far, marked.
		if (interrupt.interrupted) {
			const sofar = result && summarize(options.command, result);
			return {
				...base,
				address,
				state: "interrupted",
				summary: sofar ? `${sofar.summary} so far` : "interrupted",
				problems: sofar?.problems ?? [],
				seconds: seconds(),
				report,
			};
		}
		if (!result) return { ...base, address, state: "error", summary: `exit ${code}`, problems: [lastLine(stderr) || "no result"], seconds: seconds() };
		return {
			...base,
			address,
			...summarize(options.command, result),
			seconds: seconds(),
			report: report && fs.existsSync(report) ? report : undefined,
			result,
		};
	};
	const worker = async () => {
		while (next < options.devices.length && !interrupt.interrupted) {
			const index = next++;
			const row = await judge(index);
			rows[index] = row;
			options.say(`fleet: ${row.device}: ${row.state}, ${row.summary} (${row.seconds} s)`);
		}
	};
	await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallel, options.devices.length)) }, worker));
	interrupt.release();
	const done = options.devices.map(
		(device, i) =>
			rows[i] ?? {
				device: device.host,
				name: device.name,
				build: device.build,
				mac: device.mac,
				state: "interrupted" as const,
				summary: "not started",
				problems: [],
				seconds: 0,
			},
	);
	return { rows: done, interrupted: interrupt.interrupted };
}

/** What a device says about itself, in one cell: "esp32-3.local, build 1a2b3c4, mac 24:6f:28:aa:bb:cc". */
function identity(row: FleetRow): string {
	return [row.name, row.build && `build ${row.build}`, row.mac && `mac ${row.mac}`].filter(Boolean).join(", ");
}

/** The table a person reads: a row per device, then a summary line. */
export function formatFleet(command: FleetCommand, rows: FleetRow[], interrupted: boolean): string {
	const cells = rows.map(r => [r.device, identity(r), r.state.toUpperCase(), r.summary, `${r.seconds} s`]);
	const head = ["device", "reports itself as", "result", command === "check" || command === "conformance" ? "cases" : "figures", "time"];
	const widths = head.map((h, c) => Math.max(h.length, ...cells.map(row => row[c].length)));
	const line = (row: string[]) =>
		row
			.map((cell, c) => cell.padEnd(widths[c]))
			.join("  ")
			.trimEnd();
	const lines = [line(head), ...cells.map(line)];
	for (const row of rows) for (const problem of row.problems.slice(0, 10)) lines.push(`  ${row.device}: ${problem}`);
	const count = (state: FleetRow["state"]) => rows.filter(r => r.state === state).length;
	const bad = rows.length - count("passed");
	lines.push(
		"",
		`fleet ${command}: ${plural(rows.length, "device")}, ${count("passed")} passed, ${count("failed") + count("error")} failed, ${count("unreachable")} unreachable${interrupted ? `, ${count("interrupted")} interrupted` : ""}${bad ? "" : ": all passed"}`,
	);
	return `${lines.join("\n")}\n`;
}

const esc = (text: string) => text.replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** The fleet as one HTML page: a row per device, linking its own report where there is one. */
export function fleetHtml(command: FleetCommand, rows: FleetRow[], reportFile: string, when = new Date()): string {
	const colour: Record<FleetRow["state"], string> = { passed: "#d3f9d8", failed: "#ffc9c9", error: "#ffc9c9", unreachable: "#ffe8cc", interrupted: "#e9ecef" };
	const link = (row: FleetRow) => (row.report ? `<a href="${esc(path.relative(path.dirname(reportFile), row.report))}">report</a>` : "");
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fleet ${command}</title>
<style>body { font-family: system-ui, sans-serif; margin: 2rem; } table { border-collapse: collapse; } td, th { border: 1px solid #dee2e6; padding: .3rem .6rem; text-align: left; vertical-align: top; font-size: .9rem; } ul { margin: 0; padding-left: 1rem; }</style>
</head><body>
<h1>host-harness ${command}: ${plural(rows.length, "device")}</h1>
<p>${esc(when.toISOString())} · ${rows.filter(r => r.state === "passed").length} passed</p>
<table><tr><th>device</th><th>reports itself as</th><th>result</th><th>summary</th><th>what failed</th><th>time</th><th></th></tr>
${rows
	.map(
		r =>
			`<tr><td>${esc(r.device)}${r.address && r.address !== r.device ? `<br><small>${esc(r.address)}</small>` : ""}</td><td>${esc(identity(r))}</td>` +
			`<td style="background:${colour[r.state]}">${r.state}</td><td>${esc(r.summary)}</td><td>${r.problems.length ? `<ul>${r.problems.map(p => `<li>${esc(p)}</li>`).join("")}</ul>` : ""}</td><td>${r.seconds} s</td><td>${link(r)}</td></tr>`,
	)
	.join("\n")}
</table></body></html>
`;
}

/** "1 device", "3 devices". */
export function plural(count: number, noun: string): string {
	return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
