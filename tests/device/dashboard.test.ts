// The live dashboard in a real browser: headless Chromium (Debian's
// chromium-headless-shell or chromium) opens the page `host-harness
// dashboard` serves, and the test reads the page as a person would: the
// counters move, the device's log lines arrive and the filter hides the
// others. Without Chromium it prints one line saying so.

import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { findChromium, HeadlessPage } from "../../host-harness/dashboard/browser.js";
import { freeServicePorts } from "../../host-harness/lib/ports.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { spawn } from "./child-processes.js";
import { tiers } from "./device-under-test.js";

const chromium = findChromium();
if (!chromium) console.log("dashboard browser test skipped: no Chromium on PATH (apt-get install chromium-headless-shell)");

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

describe.runIf(!!chromium && tiers.some(t => t.target === "node"))("host-harness dashboard in headless Chromium", () => {
	it("shows live counters that move, the device's log as it comes, and filters it", async () => {
		const config = await freeServicePorts();
		const dashboard = spawn(
			process.execPath,
			[
				path.join(projectRoot, "build/node/host-harness/cli.js"),
				"dashboard",
				"--target",
				"node",
				"--dashboard-port",
				"0",
				...Object.entries(config).flatMap(([k, v]) => ["--config", `${k}=${v}`]),
			],
			{ cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] },
		);
		let stderr = "";
		dashboard.stderr.on("data", (d: Buffer) => {
			stderr += d;
		});
		const exited = new Promise<number | null>(resolve => dashboard.once("exit", code => resolve(code)));
		let page: HeadlessPage | undefined;
		try {
			const end = Date.now() + 30_000;
			while (!/^dashboard: (http:\/\/\S+)$/m.test(stderr) && Date.now() < end && dashboard.exitCode === null) await sleep(50);
			const url = /^dashboard: (http:\/\/\S+)$/m.exec(stderr)?.[1];
			expect(url, stderr).toBeDefined();
			page = await HeadlessPage.open(chromium!, url!);
			const count = () => page!.evaluate<number>(`Number(document.querySelector("#service-tcp-server .ok")?.textContent ?? -1)`);
			const waitFor = async (expression: string, ms = 20_000) => {
				const until = Date.now() + ms;
				// The page may still be loading: an expression that throws counts as not yet.
				while (!(await page!.evaluate<boolean>(`(() => { try { return !!(${expression}); } catch { return false; } })()`))) {
					if (Date.now() > until) throw new Error(`the page never showed ${expression}:\n${await page!.evaluate<string>("document.body.innerText")}`);
					await sleep(200);
				}
			};
			await waitFor(`document.getElementById("connection").textContent === "live" && !!document.querySelector("#service-tcp-server")`);
			const first = await count();
			await waitFor(`Number(document.querySelector("#service-tcp-server .ok").textContent) > ${first}`); // live numbers move
			expect(await page.evaluate<string>(`document.querySelector("#service-tcp-server .rtt").textContent`)).toMatch(/^\d+\.\d ms$/);
			for (const service of ["udp-server", "ws-server", "tcp-client"])
				expect(Number(await page.evaluate<string>(`document.querySelector("#service-${service} .ok").textContent`))).toBeGreaterThan(0);
			// The device's log, line by line, and a new line while the page is open.
			await waitFor(`[...document.querySelectorAll("#log li")].some(li => li.textContent.includes("app: services up"))`);
			const lines = await page.evaluate<number>(`document.querySelectorAll("#log li").length`);
			await waitFor(`document.querySelectorAll("#log li").length > ${lines}`);
			// The filter: only lines with "udp" stay visible, and some do.
			const visible = await page.evaluate<string[]>(`(() => {
				const filter = document.getElementById("filter");
				filter.value = "udp";
				filter.dispatchEvent(new Event("input"));
				return [...document.querySelectorAll("#log li:not(.hidden)")].map(li => li.textContent);
			})()`);
			expect(visible.length).toBeGreaterThan(0);
			expect(visible.filter(line => !/udp/i.test(line))).toEqual([]);
			// The overall status, the failed column as numbers, throughput and round trip over time.
			expect(await page.evaluate<string>(`document.getElementById("overall").textContent`)).toMatch(/^passing: every service answered in round \d+$/);
			expect(await page.evaluate<string>(`document.querySelector("#service-tcp-server .failed").textContent`)).toBe("0");
			await waitFor(
				`document.querySelectorAll("#chart-throughput polyline").length >= 3 && document.querySelector("#chart-rtt polyline[data-service=tcp-server]")?.getAttribute("points").split(" ").length >= 2`,
			);
			// Stopped: the page says so instead of "live" or retrying.
			dashboard.kill("SIGTERM");
			await waitFor(`document.getElementById("connection").textContent === "stopped" && document.getElementById("overall").textContent === "stopped"`);
		} finally {
			await page?.close();
			dashboard.kill("SIGTERM");
		}
		expect(await exited, stderr).toBe(0);
	}, 120_000);
});

describe.runIf(!!chromium && tiers.some(t => t.target === "sim"))("host-harness dashboard --heap on the simulator, in headless Chromium", () => {
	it("shows the XS heap figures its debug build reports", async () => {
		const config = await freeServicePorts();
		const dashboard = spawn(
			process.execPath,
			[
				path.join(projectRoot, "build/node/host-harness/cli.js"),
				"dashboard",
				"--target",
				"sim",
				"--heap",
				"--dashboard-port",
				"0",
				...Object.entries(config).flatMap(([k, v]) => ["--config", `${k}=${v}`]),
			],
			{ cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] },
		);
		let stderr = "";
		dashboard.stderr.on("data", (d: Buffer) => {
			stderr += d;
		});
		const exited = new Promise<number | null>(resolve => dashboard.once("exit", code => resolve(code)));
		let page: HeadlessPage | undefined;
		try {
			const end = Date.now() + 30_000;
			while (!/^dashboard: (http:\/\/\S+)$/m.test(stderr) && Date.now() < end && dashboard.exitCode === null) await sleep(50);
			page = await HeadlessPage.open(chromium!, /^dashboard: (http:\/\/\S+)$/m.exec(stderr)![1]);
			const until = Date.now() + 120_000;
			let heap = "";
			while (!/Chunk used: \d+ \/ \d+ bytes, Slot used: \d+ \/ \d+ bytes/.test(heap) && Date.now() < until) {
				await sleep(500);
				heap = await page.evaluate<string>(`document.getElementById("heap")?.textContent ?? ""`);
			}
			expect(heap).toMatch(/Chunk used: \d+ \/ \d+ bytes, Slot used: \d+ \/ \d+ bytes, Stack used: \d+ \/ \d+ bytes, Garbage collections: \d+/);
		} finally {
			await page?.close();
			dashboard.kill("SIGTERM");
		}
		expect(await exited, stderr).toBe(0);
	}, 180_000);
});
