// `host-harness new`: a fresh app each run, in TypeScript and with --js,
// written into build/new-app/ (git-ignored; removed and written again each
// run, at the same path, so that the simulator's build of the kit's modules
// for it is reused from the last run: a first run builds them, about a
// minute).
// What it writes; an editor's check of it (`tsc --noEmit -p <dir>`, the
// kit's tsc) that passes, and fails once a wrong kit call is written into
// its main; and its own suite (`npm test` in its folder, node:test on the
// kit's host-harness/testing) passing on the tiers this run has of node,
// sim and lwip (the app's own device over lwIP, in a namespace its suite
// makes), for the TypeScript and the JavaScript app alike (each has its own
// build folders: a first run builds them, a minute or so each).

import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../host-harness/lib/project.js";
import { spawn } from "./child-processes.js";
import { tiers } from "./device-under-test.js";

const harness = path.join(projectRoot, "host-harness", "bin.mjs");
const tsc = path.join(projectRoot, "node_modules", ".bin", "tsc");
const appTiers = tiers.map(t => t.name).filter(name => name === "node" || name === "sim" || name === "lwip");
if (!appTiers.includes("sim")) console.log("new app on the simulator skipped: the sim tier is not running (TARGETS, the SDK, Xvfb)");
if (!appTiers.includes("lwip")) console.log("new app on lwip skipped: the lwip tier is not running (TARGETS, root, lwip/install.sh)");

/** A command's exit status and output; never blocking the test's process (vitest talks to it meanwhile). */
function run(
	command: string,
	args: string[],
	options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
		let stdout = "";
		let stderr = "";
		child.stdout.on("data", (d: Buffer) => {
			stdout += d;
		});
		child.stderr.on("data", (d: Buffer) => {
			stderr += d;
		});
		const timer = setTimeout(() => child.kill("SIGTERM"), options.timeoutMs ?? 60_000);
		child.once("error", reject);
		child.once("close", status => {
			clearTimeout(timer);
			resolve({ status, stdout, stderr });
		});
	});
}

/** The app's own suite as `npm test` runs it, on these targets; XSNETKIT unset, so the paths the app was written with are the ones used. */
async function npmTest(dir: string, targets: string[]) {
	const env: NodeJS.ProcessEnv = { ...process.env, TARGETS: targets.join(","), XSNETKIT: undefined };
	const result = await run("npm", ["test"], { cwd: dir, env, timeoutMs: 460_000 });
	// node:test's summary: "# pass 4" (TAP, Node 20's reporter off a terminal) or "ℹ pass 4" (spec).
	const count = (name: string) => Number(new RegExp(`^(?:#|ℹ) ${name} (\\d+)$`, "m").exec(result.stdout)?.[1] ?? -1);
	return { status: result.status, pass: count("pass"), fail: count("fail"), output: `${result.stdout}${result.stderr}` };
}

for (const js of [false, true]) {
	const main = js ? "main.js" : "main.ts";

	describe(`host-harness new${js ? " --js" : ""}: a fresh app`, () => {
		const dir = path.join(projectRoot, "build", "new-app", js ? "greeter-js" : "greeter");
		beforeAll(() => {
			fs.rmSync(dir, { recursive: true, force: true });
		});
		afterAll(() => {
			fs.rmSync(dir, { recursive: true, force: true });
		});

		it("writes its manifest, main, editor setup, package.json and suite, reaching the kit by a relative path; refuses a folder that holds anything", async () => {
			const made = await run(process.execPath, [harness, "new", dir, ...(js ? ["--js"] : [])]);
			expect(made.status, made.stderr).toBe(0);
			expect(made.stdout).toBe("");
			expect(fs.readdirSync(dir).sort()).toEqual([main, "manifest.json", "package.json", "test", "tsconfig.json"].sort());
			const kit = path.relative(dir, projectRoot);
			const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
			expect(manifest.build["XSNETKIT ?="]).toBe(`./${kit}`);
			expect(manifest.include).toContain("$(XSNETKIT)/websocket/manifest.json");
			const source = fs.readFileSync(path.join(dir, main), "utf8");
			expect(source).toMatch(/joinNetwork\(\{/);
			expect(source).toMatch(/server\.post\("\/settings"/);
			expect(source).toMatch(/services up/);
			const again = await run(process.execPath, [harness, "new", dir]);
			expect([again.status, again.stderr.trim()]).toEqual([1, `new: ${dir} is not an empty folder: nothing written`]);
		});

		it("passes an editor's check (tsc --noEmit -p <dir>), and fails it on a wrong kit call", async () => {
			const clean = await run(tsc, ["--noEmit", "-p", dir]);
			expect(`${clean.stdout}${clean.stderr}`.trim()).toBe("");
			expect(clean.status).toBe(0);
			const file = path.join(dir, main);
			const source = fs.readFileSync(file, "utf8");
			try {
				fs.writeFileSync(file, `${source}server.get("/wrong", 42);\njoinNetwork({ strat() {} });\n`);
				const wrong = await run(tsc, ["--noEmit", "-p", dir]);
				expect(wrong.status).not.toBe(0);
				expect(wrong.stdout).toMatch(new RegExp(`${main.replace(".", "\\.")}\\(\\d+,\\d+\\): error TS2345`)); // 42 is no route
				expect(wrong.stdout).toMatch(/'strat' does not exist in type 'NetworkOptions'/);
			} finally {
				fs.writeFileSync(file, source);
			}
		});

		it(`passes its own suite (npm test) on ${appTiers.join(", ")}`, async () => {
			const suite = await npmTest(dir, appTiers);
			expect(suite.fail, suite.output).toBe(0);
			expect(suite.pass, suite.output).toBe(4 * appTiers.length);
			expect(suite.status).toBe(0);
		}, 480_000); // a first run builds the app for the simulator and for lwIP: minutes on a busy machine
	});
}
