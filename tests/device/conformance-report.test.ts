// The conformance command as a person uses it: the text report says a line
// per category and shows only what did not pass (--verbose shows every
// row); the HTML report opens on a grid of every case, coloured by grade,
// whose "failures only" switch hides what passed, read in headless
// Chromium; Ctrl-C keeps what was done (the summary and the report so
// far, exit 130). The server is `ws` (it departs from the strict reading
// in 12.2, tests/unit/conformance.test.ts lists why), so there is
// something to show.

import { once } from "node:events";
import * as fs from "node:fs";
import type * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { findChromium, HeadlessPage } from "../../host-harness/dashboard/browser.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { spawn } from "./child-processes.js";
import { tiers } from "./device-under-test.js";

const chromium = findChromium();
if (!chromium) console.log("conformance report browser case skipped: no Chromium on PATH (apt-get install chromium-headless-shell)");

function cli(args: string[], onStart?: (child: ReturnType<typeof spawn>, stderr: () => string) => void) {
	return new Promise<{ status: number | null; stdout: string; stderr: string }>(resolve => {
		const child = spawn(process.execPath, [path.join(projectRoot, "build/node/host-harness/cli.js"), ...args], { cwd: projectRoot });
		let stdout = "",
			stderr = "";
		child.stdout.on("data", (d: Buffer) => {
			stdout += d;
		});
		child.stderr.on("data", (d: Buffer) => {
			stderr += d;
		});
		child.once("exit", status => resolve({ status, stdout, stderr }));
		onStart?.(child, () => stderr);
	});
}

describe.runIf(tiers.some(t => t.target === "node"))("host-harness conformance reports", () => {
	let server: WebSocketServer;
	let url: string;
	let dir: string;

	beforeAll(async () => {
		server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
		server.on("connection", socket => {
			socket.on("error", () => {});
			socket.on("message", (data, isBinary) => socket.send(data as Buffer, { binary: isBinary }));
		});
		await once(server, "listening");
		url = `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "xsnk-report-"));
	});

	afterAll(() => {
		server.close();
		fs.rmSync(dir, { recursive: true, force: true });
	});

	it("prints a line per category and only the cases that did not pass; --verbose every row; --failures only them", async () => {
		const out = await cli(["conformance", "--url", url, "--only", "1.1,12.2"]);
		expect(out.status).toBe(1);
		const lines = out.stdout.split("\n");
		expect(lines).toContain("1 Framing: 8/8 passed");
		expect(out.stdout).toMatch(/^12 Opening Handshake: \d+\/\d+ passed$/m);
		expect(out.stdout).toMatch(/^not passed:$/m);
		expect(out.stdout).not.toMatch(/^ {2}1\.1\.1 /m); // a passing row is not printed
		expect(out.stdout).toMatch(/^ {2}12\.2\.1 .* FAILED/m);
		const verbose = await cli(["conformance", "--url", url, "--only", "1.1", "--verbose"]);
		expect(verbose.stdout).toMatch(/^ {2}1\.1\.1 .* OK/m);
		const failures = await cli(["conformance", "--url", url, "--only", "1.1", "--failures"]);
		expect(failures.status).toBe(0);
		expect(failures.stdout).toMatch(/^every case passed$/m);
		expect(failures.stdout).not.toMatch(/^ {2}id /m); // no header without rows
	}, 60_000);

	it.runIf(!!chromium)(
		"the HTML report opens on a grid of every case; failures only hides what passed (headless Chromium)",
		async () => {
			const report = path.join(dir, "report.html");
			const out = await cli(["conformance", "--url", url, "--only", "1.1,12.2", "--report", report]);
			expect(out.stderr).toMatch(/report written to/);
			const page = await HeadlessPage.open(chromium!, `file://${report}`);
			try {
				const count = (selector: string) =>
					page.evaluate<number>(`[...document.querySelectorAll(${JSON.stringify(selector)})].filter(e => e.offsetParent !== null).length`);
				// The page may still be loading.
				const until = Date.now() + 20_000;
				while (!(await page.evaluate<boolean>(`document.readyState === "complete" && !!document.getElementById("failures-only")`)) && Date.now() < until)
					await new Promise(r => setTimeout(r, 100));
				const cases = await page.evaluate<number>(`document.querySelectorAll("table.cases tr[id^=case-]").length`);
				expect(cases).toBeGreaterThan(8);
				expect(await count("a.sq")).toBe(cases); // one square per case (one server)
				expect(await count("a.sq.failed")).toBeGreaterThan(0);
				await page.evaluate(`(() => { const box = document.getElementById("failures-only"); box.checked = true; box.dispatchEvent(new Event("change")); })()`);
				const failedRows = await page.evaluate<number>(`document.querySelectorAll("table.cases tr[id^=case-]:not(.passed)").length`);
				expect(await count("table.cases tr[id^=case-]")).toBe(failedRows);
				expect(await count("a.sq")).toBe(failedRows);
				expect(failedRows).toBeLessThan(cases);
			} finally {
				await page.close();
			}
		},
		60_000,
	);

	it("Ctrl-C keeps what was done: the summary so far, the partial report, exit 130", async () => {
		const report = path.join(dir, "partial.html");
		const out = await cli(["conformance", "--url", url, "--report", report], (child, stderr) => {
			const watch = setInterval(() => {
				// Piped progress comes every 5 s: interrupt once some cases are done.
				if (/conformance: \d+\/\d+ cases/.test(stderr())) {
					clearInterval(watch);
					child.kill("SIGINT");
				}
			}, 100);
		});
		expect(out.status, out.stderr).toBe(130);
		expect(out.stderr).toMatch(/interrupted: finishing the cases under way/);
		expect(out.stdout).toMatch(/^\d+\/\d+ cases passed, \d+ failed/m);
		const html = fs.readFileSync(report, "utf8");
		expect(html).toMatch(/interrupted \(Ctrl-C\); stopped after \d+ of \d+ cases/);
	}, 60_000);
});
