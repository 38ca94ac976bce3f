// The contract outside tools use: `npm run device -- --target node|sim`
// prints exactly one line of JSON with the endpoints once the services are
// up, and on SIGTERM stops everything it started and exits 0.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { whyNoNamespaces } from "../../host-harness/lib/netns.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { echoOnce } from "../../host-harness/oracle/tcp-echo.js";
import { spawn } from "./child-processes.js";
import { hostConfig, tiers } from "./device-under-test.js";

/** PIDs of every descendant of a process (from /proc). */
function descendants(pid: number): number[] {
	const children = new Map<number, number[]>();
	for (const entry of fs.readdirSync("/proc")) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
			const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
			children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
		} catch {
			// gone meanwhile
		}
	}
	const out: number[] = [];
	const walk = (p: number) => {
		for (const c of children.get(p) ?? []) {
			out.push(c);
			walk(c);
		}
	};
	walk(pid);
	return out;
}

/** Everything a child prints, as it arrives. */
function watchOutput(child: ReturnType<typeof spawn>) {
	const output = { stdout: "", stderr: "" };
	child.stdout?.on("data", (d: Buffer) => {
		output.stdout += d;
	});
	child.stderr?.on("data", (d: Buffer) => {
		output.stderr += d;
	});
	return output;
}

/** Resolve once the child printed its first line to stdout (the endpoint line). */
function firstLine(child: ReturnType<typeof spawn>, output: { stdout: string; stderr: string }, timeoutMs: number): Promise<void> {
	return new Promise<void>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no endpoint line within ${timeoutMs} ms; stderr:\n${output.stderr}`)), timeoutMs);
		child.stdout?.on("data", () => {
			if (output.stdout.includes("\n")) {
				clearTimeout(timer);
				resolve();
			}
		});
		child.once("exit", code => reject(new Error(`exited ${code} before printing; stderr:\n${output.stderr}`)));
	});
}

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

const hostTiers = tiers.filter(t => t.target !== "board");

describe.each(hostTiers)("npm run device -- --target $target", tier => {
	it("prints one JSON line with its endpoints, serves, and stops cleanly on SIGTERM", async () => {
		const config = await hostConfig();
		const args = [
			path.join(projectRoot, "build/node/host-harness/cli.js"),
			"device",
			"--target",
			tier.target,
			"--quiet",
			...Object.entries(config).flatMap(([k, v]) => ["--config", `${k}=${v}`]),
		];
		const cli = spawn(process.execPath, args, { cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] });
		const output = watchOutput(cli);
		const exited = new Promise<number | null>(resolve => cli.once("exit", code => resolve(code)));
		await firstLine(cli, output, 90_000);
		const lines = output.stdout.trim().split("\n");
		expect(lines).toHaveLength(1);
		const endpoints = JSON.parse(lines[0]);
		expect(endpoints).toMatchObject({
			target: tier.target,
			tcp: { host: "127.0.0.1", port: Number(config.tcpPort) },
			udp: { host: "127.0.0.1", port: Number(config.udpPort) },
		});
		expect((await echoOnce(endpoints.tcp, Buffer.from("through the CLI"))).toString()).toBe("through the CLI");
		if (tier.target === "sim")
			// the build's progress, on stderr even when piped
			expect(output.stderr).toMatch(/^built the app for the simulator in \d+ s$/m);

		const started = descendants(cli.pid!);
		expect(started.length).toBeGreaterThan(0);
		cli.kill("SIGTERM");
		expect(await exited).toBe(0);
		expect(output.stdout.trim().split("\n")).toHaveLength(1);
		expect(started.filter(alive)).toEqual([]);
	}, 120_000);
});

describe.runIf(hostTiers.some(t => t.target === "node"))("npm run -s device -- --target node", () => {
	it("through npm, stdout holds the JSON line alone: the device log and npm's own lines stay off it; SIGINT to npm's PID alone (a script's kill -INT) stops it all", async () => {
		const config = await hostConfig();
		const npm = spawn("npm", ["run", "-s", "device", "--", "--target", "node", ...Object.entries(config).map(([k, v]) => `${k}=${v}`)], {
			cwd: projectRoot,
			stdio: ["ignore", "pipe", "pipe"],
			detached: true,
		});
		const output = watchOutput(npm);
		const exited = new Promise<number | null>(resolve => npm.once("exit", code => resolve(code)));
		try {
			await firstLine(npm, output, 90_000);
			expect(output.stdout.trim().split("\n")).toHaveLength(1);
			expect(JSON.parse(output.stdout)).toMatchObject({ target: "node", tcp: { port: Number(config.tcpPort) } });
			expect(output.stderr).toMatch(/^\[device\] I \(\d+\) app: services up/m);
		} catch (e) {
			process.kill(-npm.pid!, "SIGTERM"); // npm and the harness under it: their own process group
			throw e;
		}
		process.kill(npm.pid!, "SIGINT"); // npm alone, as a script that started it would: npm hands it on
		expect(await exited, "npm ended").not.toBeNull();
		expect(output.stdout.trim().split("\n")).toHaveLength(1);
		const refused = await new Promise<boolean>(resolve => {
			const socket = net.connect(Number(config.tcpPort), "127.0.0.1");
			socket.once("connect", () => {
				socket.destroy();
				resolve(false);
			});
			socket.once("error", () => resolve(true));
		});
		expect(refused, "the device stopped with it").toBe(true);
	}, 120_000);
});

const noNamespaces = whyNoNamespaces();
if (noNamespaces) console.log(`device --netns case skipped: ${noNamespaces}`);

describe.runIf(!noNamespaces && tiers.some(t => t.target === "node"))("npm run device -- --target node --netns", () => {
	for (const signal of ["SIGTERM", "SIGINT"] as const) {
		it(`runs the device at its own address in a namespace of its own, and on ${signal} removes the namespace and its link`, async () => {
			const cli = spawn(process.execPath, [path.join(projectRoot, "build/node/host-harness/cli.js"), "device", "--target", "node", "--netns", "--quiet"], {
				cwd: projectRoot,
				stdio: ["ignore", "pipe", "pipe"],
			});
			const output = watchOutput(cli);
			const exited = new Promise<number | null>(resolve => cli.once("exit", code => resolve(code)));
			await firstLine(cli, output, 60_000);
			const endpoints = JSON.parse(output.stdout.trim());
			expect(endpoints.target, "what it runs on, though reached as a board is").toBe("node");
			expect(endpoints.tcp.host).toMatch(/^198\.(18|19)\.\d+\.\d+$/);
			expect(endpoints.tcp.port).toBe(8080);
			expect((await echoOnce(endpoints.tcp, Buffer.from("across the link"))).toString()).toBe("across the link");
			const ns = /namespace (xsnk-\w+)/.exec(output.stderr)?.[1];
			expect(ns).toBeDefined();
			const namespaces = () => spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout;
			const links = () => spawnSync("ip", ["-o", "link", "show"], { encoding: "utf8" }).stdout;
			expect(namespaces()).toContain(ns);
			const hostIf = ns!.replace("xsnk-", "xsnkh");
			expect(links()).toContain(hostIf);
			const started = descendants(cli.pid!);
			cli.kill(signal);
			expect(await exited).toBe(0);
			expect(namespaces()).not.toContain(ns);
			expect(links()).not.toContain(hostIf);
			expect(started.filter(alive)).toEqual([]);
		}, 90_000);
	}
});
