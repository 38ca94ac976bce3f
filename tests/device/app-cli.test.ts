// A user's app through the harness's own commands, per host tier:
// `npm run -s device -- --app <dir>` builds and boots the JavaScript fixture
// (tests/fixtures/user-app-js), prints its `services up` line as "services",
// and the app is judged through real sockets (its suite); `check --app`
// judges what the harness can know of any app; `npm start --app` shows it
// running; `logs --app` runs its debug build on the simulator and prints
// its log through the xsbug protocol; and on the lan tiers (a network
// namespace) the app is reached at its own address.

import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appBuildDir, findApp } from "../../host-harness/device/app.js";
import { whyNoNamespaces } from "../../host-harness/lib/netns.js";
import { freeUdpPort } from "../../host-harness/lib/ports.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { nextMessage, openWs } from "../../host-harness/oracle/ws-echo.js";
import { spawn } from "./child-processes.js";
import { tiers } from "./device-under-test.js";
import { runCommand } from "./run-command.js";

const fixture = path.join(projectRoot, "tests", "fixtures", "user-app-js");
const cli = path.join(projectRoot, "build", "node", "host-harness", "cli.js");
const harness = path.join(projectRoot, "host-harness", "bin.mjs");

/** The fixture's `services up` line: each service's kind and port (docs/own-app.md). */
interface FixtureServices {
	address: string;
	lines: { tcp: number };
	count: { ws: number; path: string };
	sizes: { udp: number };
}

interface Booted {
	stop(): Promise<number | null>;
	line: { target: string; services: FixtureServices };
	stderr: () => string;
}

/** Start `device --app` and resolve with its one line of JSON. */
function boot(args: string[], timeoutMs: number): Promise<Booted> {
	const child = spawn(process.execPath, [cli, "device", ...args], { cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] });
	let stdout = "";
	let stderr = "";
	child.stderr.on("data", (d: Buffer) => {
		stderr += d;
	});
	const exited = new Promise<number | null>(resolve => child.once("exit", code => resolve(code)));
	return new Promise<Booted>((resolve, reject) => {
		const timer = setTimeout(() => {
			child.kill("SIGTERM");
			reject(new Error(`no line within ${timeoutMs} ms:\n${stderr}`));
		}, timeoutMs);
		child.stdout.on("data", (d: Buffer) => {
			stdout += d;
			if (stdout.includes("\n")) {
				clearTimeout(timer);
				resolve({
					line: JSON.parse(stdout.split("\n")[0]),
					stderr: () => stderr,
					stop: () => {
						child.kill("SIGTERM");
						return exited;
					},
				});
			}
		});
		void exited.then(code => {
			clearTimeout(timer);
			reject(new Error(`exited ${code} before its line:\n${stderr}`));
		});
	});
}

/** Send lines to the reverse-lines service and collect the answer until `count` lines came back. */
function lines(host: string, port: number, text: string, count: number): Promise<string> {
	return new Promise((resolve, reject) => {
		const socket = net.connect(port, host);
		let got = "";
		const timer = setTimeout(() => {
			socket.destroy();
			reject(new Error(`only "${got}" within 10 s`));
		}, 10_000);
		socket.on("connect", () => socket.write(text));
		socket.on("data", d => {
			got += d.toString("latin1");
			if (got.split("\n").length > count) {
				clearTimeout(timer);
				socket.end();
				resolve(got);
			}
		});
		socket.on("error", e => {
			clearTimeout(timer);
			reject(e);
		});
	});
}

/** Send one datagram and resolve with the answer as text. */
function datagram(host: string, port: number, payload: Buffer): Promise<string> {
	return new Promise((resolve, reject) => {
		const socket = dgram.createSocket("udp4");
		const timer = setTimeout(() => {
			socket.close();
			reject(new Error("no answer within 10 s"));
		}, 10_000);
		socket.once("message", answer => {
			clearTimeout(timer);
			socket.close();
			resolve(answer.toString());
		});
		socket.once("error", e => {
			clearTimeout(timer);
			socket.close();
			reject(e);
		});
		socket.send(payload, port, host);
	});
}

/** The JavaScript fixture's own suite, against wherever it runs. */
function fixtureSuite(reach: () => { host: string; services: FixtureServices }) {
	it("answers each line reversed, lines split across writes and many in one", async () => {
		const { host, services } = reach();
		expect(await lines(host, services.lines.tcp, "hello\nkit 42\n", 2)).toBe("olleh\n24 tik\n");
		const many = Array.from({ length: 50 }, (_, i) => `line ${i}`);
		expect(await lines(host, services.lines.tcp, `${many.join("\n")}\n`, 50)).toBe(`${many.map(l => [...l].reverse().join("")).join("\n")}\n`);
	});

	it("answers each datagram on its UDP service with its size", async () => {
		const { host, services } = reach();
		expect(await datagram(host, services.sizes.udp, Buffer.from("hello, kit"))).toBe("10");
		expect(await datagram(host, services.sizes.udp, Buffer.alloc(1000))).toBe("1000");
	});

	it("answers each WebSocket message on /count with its size; 404 elsewhere", async () => {
		const { host, services } = reach();
		const socket = await openWs(`ws://${host}:${services.count.ws}${services.count.path}`);
		try {
			socket.send("hello, kit");
			expect((await nextMessage(socket)).data.toString()).toBe("10");
			socket.send(Buffer.alloc(3000));
			expect((await nextMessage(socket)).data.toString()).toBe("3000");
		} finally {
			socket.terminate();
		}
		await expect(openWs(`ws://${host}:${services.count.ws}/elsewhere`)).rejects.toThrow(/404/);
	});
}

for (const tier of tiers.filter(t => t.target === "node" || t.target === "sim")) {
	describe(`device --app (JavaScript app) on ${tier.target}`, () => {
		let booted: Booted | undefined;
		beforeAll(async () => {
			booted = await boot(
				[
					"--target",
					tier.target,
					"--app",
					fixture,
					"--config",
					"linesPort=0",
					"--config",
					"countPort=0",
					"--config",
					`sizesPort=${await freeUdpPort()}`,
					"--quiet",
				],
				240_000,
			);
		}, 250_000);
		afterAll(async () => {
			expect(await booted?.stop()).toBe(0);
		});

		it("prints the app's services line as it logged it, each service's kind and port", () => {
			expect(booted!.line.target).toBe(tier.target);
			expect(booted!.line.services).toEqual({
				address: expect.any(String),
				lines: { tcp: expect.any(Number) },
				count: { ws: expect.any(Number), path: "/count" },
				sizes: { udp: expect.any(Number) },
			});
			expect(booted!.line.services.lines.tcp).toBeGreaterThan(0);
		});

		fixtureSuite(() => ({ host: "127.0.0.1", services: booted!.line.services }));
	});

	describe(`check --app on ${tier.target}`, () => {
		it("passes the JavaScript app, each service probed as its kind (TCP, WebSocket, UDP), and refuses a folder without a manifest", async () => {
			const sizesPort = await freeUdpPort();
			const ok = await runCommand(
				process.execPath,
				[
					harness,
					"check",
					"--app",
					fixture,
					"--target",
					tier.target,
					"--json",
					"--config",
					"linesPort=0",
					"--config",
					"countPort=0",
					"--config",
					`sizesPort=${sizesPort}`,
				],
				{ cwd: projectRoot, encoding: "utf8", timeout: 240_000 },
			);
			const report = JSON.parse(ok.stdout) as { passed: number; failed: number; cases: { name: string; state: string }[] };
			expect(report.cases.map(c => `${c.state} ${c.name}`)).toEqual([
				"passed user-app-js boots on " + tier.target + " and logs its services up",
				expect.stringMatching(/^passed service lines \(TCP, port \d+\) accepts a TCP connection$/),
				expect.stringMatching(/^passed service count \(WebSocket, port \d+, \/count\) answers a WebSocket handshake$/),
				// "xs-netkit check\n", 16 bytes: its size as text, "16"
				`passed service sizes (UDP, port ${sizesPort}) takes a datagram: answered 2 bytes`,
				"passed user-app-js logged no error and no exception",
			]);
			expect(ok.status).toBe(0);
			const missing = await runCommand(process.execPath, [harness, "check", "--app", path.join(projectRoot, "tests"), "--target", tier.target], {
				cwd: projectRoot,
				encoding: "utf8",
			});
			expect(missing.status).toBe(2);
			expect(missing.stderr).toMatch(/no manifest\.json/);
		}, 250_000);
	});
}

describe.runIf(tiers.some(t => t.target === "node"))("device --target node --app: an app that does not type-check", () => {
	it("is refused with the compiler's message and exit 1, as the simulator's build refuses it, and never boots", async () => {
		// The TypeScript fixture with one call misspelt.
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xsnk-typo-"));
		try {
			fs.cpSync(path.join(projectRoot, "tests", "fixtures", "user-app"), dir, { recursive: true });
			const shout = path.join(dir, "services", "shout.ts");
			const misspelt = fs.readFileSync(shout, "utf8").replace("connection.sendBinary(data);", 'connection.sendTxt("binary");');
			fs.writeFileSync(shout, misspelt);
			// Where the compiler points: the misspelt call's line, and the column of its name (1-based).
			const lines = misspelt.split("\n");
			const line = lines.findIndex(text => text.includes("sendTxt"));
			const at = `${line + 1},${lines[line].indexOf("sendTxt") + 1}`;
			const run = await runCommand(process.execPath, [cli, "device", "--target", "node", "--app", dir, "--quiet"], {
				cwd: projectRoot,
				encoding: "utf8",
				timeout: 60_000,
			});
			expect(run.status).toBe(1);
			expect(run.stdout).toBe("");
			expect(run.stderr).toBe(
				`${dir} does not type-check (the kit's tsc, as the simulator's build checks it; the build stops here too):\n` +
					`services/shout.ts(${at}): error TS2551: Property 'sendTxt' does not exist on type 'WebSocketConnection'. Did you mean 'sendText'?\n`,
			);
		} finally {
			fs.rmSync(path.dirname(appBuildDir(findApp(dir), "node")), { recursive: true, force: true });
			fs.rmSync(dir, { recursive: true, force: true });
		}
	}, 70_000);
});

for (const tier of tiers.filter(t => t.target === "node" || t.target === "sim")) {
	describe(`npm start --app on ${tier.target}`, () => {
		it("boots the app, shows its log and its services line, and stops after --duration", async () => {
			const run = await runCommand(
				process.execPath,
				[
					cli,
					"start",
					"--app",
					fixture,
					"--target",
					tier.target,
					"--duration",
					"2",
					"--config",
					"linesPort=0",
					"--config",
					"countPort=0",
					"--config",
					`sizesPort=${await freeUdpPort()}`,
				],
				{ cwd: projectRoot, encoding: "utf8", timeout: 240_000 },
			);
			expect(run.status, run.stderr).toBe(0);
			expect(run.stdout).toMatch(
				/\[harness\]\s+services up: \{"address":"[\d.]+","lines":\{"tcp":\d+\},"count":\{"ws":\d+,"path":"\/count"\},"sizes":\{"udp":\d+\}\}/,
			);
			expect(run.stdout).toMatch(/\[device\]\s+I \(\d+\) reverse-lines: Socket listening on port \d+/);
			expect(run.stdout).toMatch(/stopped user-app-js/);
		}, 250_000);
	});
}

describe.runIf(tiers.some(t => t.target === "sim"))(
	"host-harness logs --app: a debug build of the app on the simulator, its log through the xsbug protocol",
	() => {
		it("prints the app's log lines as they come, and stops the app on SIGINT", async () => {
			const child = spawn(process.execPath, [harness, "logs", "--app", fixture, "--port", "0", "--no-color"], {
				cwd: projectRoot,
				stdio: ["ignore", "pipe", "pipe"],
			});
			let stdout = "";
			let stderr = "";
			child.stderr.on("data", (d: Buffer) => {
				stderr += d;
			});
			const exited = new Promise<number | null>(resolve => child.once("exit", code => resolve(code)));
			await new Promise<void>((resolve, reject) => {
				const timer = setTimeout(() => reject(new Error(`no services line within 240 s:\n${stdout}\n${stderr}`)), 240_000);
				child.stdout.on("data", (d: Buffer) => {
					stdout += d;
					if (/app: services up/.test(stdout)) {
						clearTimeout(timer);
						resolve();
					}
				});
			});
			expect(stdout).toMatch(
				/\d\d:\d\d:\d\d\.\d{3} \[[^\]]+\] I \(\d+\) app: services up \{"address":"[\d.]+","lines":\{"tcp":7080\},"count":\{"ws":7081,"path":"\/count"\},"sizes":\{"udp":7082\}\}/,
			);
			child.kill("SIGINT");
			expect(await exited).toBe(0);
		}, 250_000);
	},
);

const noNamespaces = whyNoNamespaces();
const lanTargets = tiers.filter(t => t.target === "node" || t.target === "sim").map(t => t.target);
if (noNamespaces) console.log(`device --app --netns skipped: ${noNamespaces}`);

for (const target of noNamespaces ? [] : lanTargets)
	describe(`device --app --netns on ${target}: the app at its own address, as on a LAN`, () => {
		let booted: Booted | undefined;
		beforeAll(async () => {
			booted = await boot(["--target", target, "--app", fixture, "--netns", "--quiet"], 240_000);
		}, 250_000);
		afterAll(async () => {
			expect(await booted?.stop()).toBe(0);
		});

		it("serves on its manifest's ports at an address of 198.18.0.0/15", () => {
			expect(booted!.line.services).toEqual({
				address: expect.stringMatching(/^198\.(18|19)\./),
				lines: { tcp: 7080 },
				count: { ws: 7081, path: "/count" },
				sizes: { udp: 7082 },
			});
		});

		fixtureSuite(() => ({ host: String(booted!.line.services.address), services: booted!.line.services }));
	});
