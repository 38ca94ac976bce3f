// host-harness as people use it: --help everywhere, and `check` running the
// oracle suites against a device with one line per case and a JSON form.

import { once } from "node:events";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { startDevice } from "../../host-harness/device/targets.js";
import { freeServicePorts, freeTcpPort, freeUdpPort } from "../../host-harness/lib/ports.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { spawn } from "./child-processes.js";
import { tiers } from "./device-under-test.js";
import { runCommand } from "./run-command.js";

const cli = (...args: string[]) =>
	runCommand(process.execPath, [path.join(projectRoot, "build/node/host-harness/cli.js"), ...args], {
		cwd: projectRoot,
		encoding: "utf8",
		timeout: 120_000,
		env: { ...process.env, TARGETS: undefined },
	});

describe("host-harness CLI", () => {
	it("lists its commands and answers --help for each in one format: usage, options, examples", async () => {
		const help = await cli("--help");
		expect(help.status).toBe(0);
		for (const command of ["device", "start", "check", "serve", "bench", "conformance", "logs", "wifi", "fuzz", "soak"])
			expect(help.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
		for (const command of [
			["device"],
			["start"],
			["check"],
			["wifi"],
			["serve"],
			["bench"],
			["bench", "memory"],
			["conformance"],
			["logs"],
			["fuzz"],
			["soak"],
		]) {
			const out = await cli(...command, "--help");
			expect(out.status, out.stderr).toBe(0);
			expect(out.stderr).toBe("");
			expect(out.stdout, command.join(" ")).toMatch(/^usage: /);
			expect(out.stdout, command.join(" ")).toMatch(/^options:$/m);
			expect(out.stdout, command.join(" ")).toMatch(/^examples:$/m);
		}
		const version = await cli("--version");
		expect(version.status).toBe(0);
		expect(version.stdout).toMatch(/^host-harness \d+\.\d+\.\d+\n$/);
		// Every command answers --version too, and the dashboard has its own --help.
		expect((await cli("check", "--version")).stdout).toBe(version.stdout);
		const dashboard = await cli("dashboard", "--help");
		expect(dashboard.stdout).toMatch(/^usage: host-harness dashboard /);
	});

	it("an argument error names the flag and its value, suggests the nearest word, and exits 2 with the usage on stderr only", async () => {
		const cases: Array<[string[], RegExp]> = [
			[["nonsense"], /^unknown command "nonsense"\n/],
			[["chek"], /^unknown command "chek" \(did you mean "check"\?\)/],
			[[], /^a command is needed/],
			[["check"], /^which device\? --target node\|sim .* or --device <host> .* is required/],
			[["check", "--target", "nod"], /^--target must be node or sim \(esp32-link with --app\), not "nod" \(did you mean "node"\?\)/],
			[["check", "--target", "node", "--only", "tpc"], /^--only takes tcp, udp, ws, wifi, faults, not "tpc" \(did you mean "tcp"\?\)/],
			[["check", "--target", "node", "--jsn"], /^unknown argument "--jsn" \(did you mean "--json"\?\)/],
			[["serve", "--tcp-port", "abc"], /^--tcp-port takes a port number 0\.\.65535, not "abc"/],
			[["serve", "--ws-port", "70000"], /^--ws-port takes a port number 0\.\.65535, not "70000"/],
			[["start", "--frob"], /^unknown argument "--frob"/],
			[["start", "--only", "udpp"], /^--only takes tcp, udp, ws, clients, not "udpp" \(did you mean "udp"\?\)/],
			[["start", "--duration", "soon"], /^--duration takes a number of seconds, not "soon"/],
			[["device", "--target", "sm"], /^--target must be node, sim or lwip, not "sm" \(did you mean "sim"\?\)/],
			[["device", "--target", "node", "--config", "tcpPort=99999"], /--config tcpPort=99999: port 99999 is outside 0\.\.65535/],
			[["conformance", "--urll", "ws://127.0.0.1:1/"], /^unknown argument "--urll" \(did you mean "--url"\?\)/],
			[["bench", "udp", "--target", "node", "--config", "udpPort=abc"], /^--config udpPort=abc: expected a whole number, got "abc"/],
			[["start", "--config", "wsMaxClients=0"], /^--config wsMaxClients=0: must be at least 1, got 0/],
			[["wifi", "stauts", "--device", "127.0.0.1"], /^wifi takes status or forget, not "stauts" \(did you mean "status"\?\)/],
			[["bench", "tpc"], /^unknown workload "tpc": tcp, udp, ws, memory, tls-memory, tls-server, routes, cpu or xs \(did you mean "tcp"\?\)/],
			[["check", "--device"], /^--device needs a value: it takes the board's address or mDNS name/],
			[["ws", "ws://127.0.0.1:99999/"], /^<url> has a port outside 1\.\.65535/],
		];
		for (const [args, message] of cases) {
			const out = await cli(...args);
			expect(out.status, `${args.join(" ")}\n${out.stderr}`).toBe(2);
			expect(out.stdout, args.join(" ")).toBe("");
			expect(out.stderr, args.join(" ")).toMatch(message);
			// Three lines: the error, the usage line, where the rest is (the error stays on screen).
			expect(out.stderr.split("\n").filter(Boolean), args.join(" ")).toHaveLength(3);
			expect(out.stderr, args.join(" ")).toMatch(/\nusage: .*\nsee: (host-harness( \S+)?|npm start --|npm run -s device --) --help\n$/);
			expect(out.stderr, args.join(" ")).not.toMatch(/^\s+at /m); // no stack
		}
	});

	it("an unknown config key is warned about with the nearest known key, and the device still boots", async () => {
		const ports = await freeServicePorts();
		const device = spawn(
			process.execPath,
			[
				path.join(projectRoot, "build/node/host-harness/cli.js"),
				"device",
				"--target",
				"node",
				"--quiet",
				...Object.entries(ports).map(([k, v]) => `--config=${k}=${v}`),
				"--config",
				"tcpMaxClient=3",
			],
			{ cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] },
		);
		let stdout = "",
			stderr = "";
		device.stdout.on("data", (d: Buffer) => {
			stdout += d;
		});
		device.stderr.on("data", (d: Buffer) => {
			stderr += d;
		});
		const exited = new Promise<number | null>(resolve => device.once("exit", code => resolve(code)));
		const end = Date.now() + 60_000;
		while (!stdout.includes("\n") && Date.now() < end && device.exitCode === null) await new Promise(r => setTimeout(r, 50));
		device.kill("SIGTERM");
		expect(await exited, stderr).toBe(0);
		expect(stderr).toMatch(/^warning: --config tcpMaxClient: no such config key \(did you mean "tcpMaxClients"\?\); the device ignores it$/m);
		expect(JSON.parse(stdout)).toMatchObject({ target: "node", tcp: { port: Number(ports.tcpPort) } });
	}, 90_000);

	it("an expected failure is one line on stderr and exit 1, without a stack: a port taken, the simulator missing", async () => {
		const taken = net.createServer();
		await new Promise<void>(resolve => taken.listen(0, "0.0.0.0", () => resolve()));
		try {
			const port = (taken.address() as net.AddressInfo).port;
			const out = await cli("serve", "--tcp-port", String(port), "--ws-port", "0");
			expect(out.status).toBe(1);
			expect(out.stdout).toBe("");
			expect(out.stderr).toBe(`serve: TCP echo peer: port ${port} is in use: stop what holds it or choose another port (--tcp-port)\n`);
			// A device whose port is taken says which port, not only that it exited.
			const device = await cli("device", "--target", "node", "--config", `tcpPort=${port}`);
			expect(device.status).not.toBe(0);
			expect(device.stderr).toMatch(
				new RegExp(`exited \\(0\\) before its services were up: app: TCP echo server failed to start: cannot listen on port ${port}: `),
			);
			// …in one line after the device's own log, which it does not repeat.
			const after = device.stderr.split("\n").filter(line => line && !line.startsWith("[device] "));
			expect(after, device.stderr).toHaveLength(1);
			// The dashboard's port too: one line, no "Unhandled 'error' event" stack.
			const dashboard = await cli("dashboard", "--target", "node", "--dashboard-port", String(port));
			expect(dashboard.status).toBe(1);
			expect(dashboard.stderr).toBe(`dashboard: port ${port} for the dashboard is in use: choose another with --dashboard-port\n`);
		} finally {
			taken.close();
		}
		// A board that answers on none of its ports: one line, before any case.
		const nobody = await freeTcpPort();
		const unreachable = await cli("check", "--device", "127.0.0.1", "--config", `tcpPort=${nobody}`, "--config", `wsPort=${nobody}`);
		expect(unreachable.status).toBe(1);
		expect(unreachable.stderr).toBe(
			`check: cannot reach 127.0.0.1: tcp 127.0.0.1:${nobody}: connect ECONNREFUSED; ws 127.0.0.1:${nobody}: connect ECONNREFUSED\n`,
		);
		// --target node says nothing of the tiers it was not asked for.
		const node = await cli("check", "--target", "node", "--only", "udp");
		expect(node.stderr).not.toMatch(/board tier skipped/);
		const sim = await runCommand(process.execPath, [path.join(projectRoot, "build/node/host-harness/cli.js"), "check", "--target", "sim"], {
			cwd: projectRoot,
			encoding: "utf8",
			timeout: 60_000,
			env: { ...process.env, TARGETS: undefined, MODDABLE: "/nonexistent" },
		});
		expect(sim.status).toBe(1);
		expect(sim.stdout).toBe("");
		expect(sim.stderr).toBe("check: the simulator is unavailable here: no Moddable SDK at /nonexistent ($MODDABLE); use --target node\n");
	});

	it("check runs the suites against a device and reports every case; with --json stdout holds the JSON alone", async () => {
		const out = await cli("check", "--target", "node", "--only", "udp", "--json");
		expect(out.status, out.stderr).toBe(0);
		const report = JSON.parse(out.stdout);
		expect(report.cases.filter((c: { state: string }) => c.state === "failed")).toEqual([]);
		expect(report.passed).toBeGreaterThanOrEqual(8); // smoke and UDP cases
		expect(report.cases.map((c: { name: string }) => c.name)).toContain("UDP echo server on 'node' > echoes a 1472-byte datagram to its sender unchanged");
		expect(out.stderr).toMatch(/^device tiers running: node$/m); // the suites' notes, on stderr
	}, 120_000);

	it("serve runs the peers a device's clients use, and its UDP sender drives the device's server", async () => {
		const udpPort = await freeUdpPort();
		const serve = spawn(
			process.execPath,
			[path.join(projectRoot, "build/node/host-harness/cli.js"), "serve", "--tcp-port", "0", "--ws-port", "0", "--udp", `127.0.0.1:${udpPort}`],
			{ cwd: projectRoot },
		);
		let out = "";
		serve.stdout.on("data", (d: Buffer) => {
			out += d;
		});
		const exited = new Promise<number | null>(resolve => serve.once("exit", code => resolve(code)));
		const until = async (pattern: RegExp, ms = 20_000) => {
			const end = Date.now() + ms;
			while (!pattern.test(out)) {
				if (Date.now() > end) throw new Error(`serve never printed ${pattern}:\n${out}`);
				await new Promise(r => setTimeout(r, 50));
			}
			return pattern.exec(out)!;
		};
		const tcpPort = Number((await until(/TCP echo peer +on port (\d+)/))[1]);
		const wsPort = Number((await until(/WebSocket echo peer on port (\d+)/))[1]);
		const device = await startDevice({
			target: "node",
			config: {
				tcpPort: String(await freeTcpPort()),
				udpPort: String(udpPort),
				wsPort: String(await freeTcpPort()),
				tcpClient: "true",
				tcpClientHost: "127.0.0.1",
				tcpClientPort: String(tcpPort),
				wsClient: "true",
				wsClientUri: `ws://127.0.0.1:${wsPort}/`,
				wsClientHelloInterval: "100",
			},
		});
		try {
			await until(/\[tcp\] 127\.0\.0\.1:\d+ greeted: "Hello World!"/);
			await until(/\[tcp\] 127\.0\.0\.1:\d+: \d+ bytes, echo matches/);
			await until(/\[ws\] 127\.0\.0\.1:\d+: "hello 0000" echoed/);
			await until(/\[udp\] 127\.0\.0\.1:\d+: \d+ bytes, echo matches/);
			expect(out).not.toMatch(/DIFFERS/);
		} finally {
			await device.stop();
			serve.kill("SIGTERM");
		}
		expect(await exited).toBe(0);
	}, 60_000);

	it("bench measures the device against the reference in the same run and gives ratios", async () => {
		const out = await cli("bench", "udp", "--target", "node", "--duration", "1", "--samples", "200", "--json");
		expect(out.status, out.stderr).toBe(0);
		const report = JSON.parse(out.stdout); // alone on stdout
		expect(out.stderr).toMatch(/^bench: device +.+: \d+/m); // progress, a line per phase when piped
		const text = JSON.stringify(report);
		expect(text).toMatch(/"ratio"/);
		expect(text).toMatch(/reference/);
	}, 120_000);

	it("conformance runs the WebSocket set against a device's server", async () => {
		const device = await startDevice({ target: "node", config: await freeServicePorts() });
		try {
			const out = await runCommand(
				process.execPath,
				[path.join(projectRoot, "build/node/host-harness/cli.js"), "conformance", "--url", device.endpoints.ws!, "--only", "1"],
				{ cwd: projectRoot, encoding: "utf8", timeout: 120_000 },
			);
			expect(out.status, out.stdout.slice(-2000)).toBe(0);
			// A passing run: a line per category and the total, no row.
			expect(out.stdout).toMatch(/^1 Framing: 53\/53 passed$/m);
			expect(out.stdout).toMatch(/^\d+\/\d+ cases passed, 0 failed/m);
			expect(out.stdout).not.toMatch(/ (OK|FAILED|NON-STRICT) +\d+ ms$/m);
		} finally {
			await device.stop();
		}
	}, 120_000);
});

describe("host-harness conformance progress", () => {
	it("reports n/501 on stderr every few seconds when piped, and stops with one line when the server goes away", async () => {
		const device = await startDevice({ target: "node", config: await freeServicePorts() });
		const run = spawn(process.execPath, [path.join(projectRoot, "build/node/host-harness/cli.js"), "conformance", "--url", device.endpoints.ws!, "--json"], {
			cwd: projectRoot,
			stdio: ["ignore", "pipe", "pipe"],
		});
		let stdout = "",
			stderr = "";
		run.stdout.on("data", (d: Buffer) => {
			stdout += d;
		});
		run.stderr.on("data", (d: Buffer) => {
			stderr += d;
		});
		const exited = new Promise<number | null>(resolve => run.once("exit", code => resolve(code)));
		try {
			const end = Date.now() + 60_000;
			while (!/^conformance: \d+\/501 cases, \d+ failed, \d+ s$/m.test(stderr) && Date.now() < end && run.exitCode === null)
				await new Promise(r => setTimeout(r, 100));
			expect(stderr).toMatch(/^conformance: \d+\/501 cases, 0 failed, \d+ s$/m);
		} finally {
			await device.stop(); // the server goes away mid-run
		}
		expect(await exited).toBe(1);
		expect(stdout).toBe("");
		const lines = stderr.trim().split("\n");
		expect(lines.filter(line => !line.startsWith("conformance: "))).toEqual([]);
		expect(lines.at(-1)).toMatch(
			/^conformance: the server at ws:\/\/127\.0\.0\.1:\d+\/ws went away during case [\d.]+ \(\d+\/501\): connect ECONNREFUSED; stopped after \d+ of 501 cases \(\d+ failed\)$/,
		);
	}, 120_000);

	it("says at once when no server answers at the URL", async () => {
		const port = await freeTcpPort();
		const out = await cli("conformance", "--url", `ws://127.0.0.1:${port}/ws`);
		expect(out.status).toBe(1);
		expect(out.stdout).toBe("");
		expect(out.stderr).toBe(`conformance: no server at ws://127.0.0.1:${port}/ws: connect ECONNREFUSED; stopped after 0 of 501 cases (0 failed)\n`);
	});
});

describe("host-harness conformance report and comparison", () => {
	it("--compare grades several servers side by side and --report writes the HTML page with grades, rules, wire logs and the Autobahn mapping", async () => {
		const device = await startDevice({ target: "node", config: await freeServicePorts() });
		const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", path: "/" });
		wss.on("connection", ws => {
			ws.on("error", () => {});
			ws.on("message", (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
		});
		await once(wss, "listening");
		const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "xsnk-conf-")), "compare.html");
		try {
			const wsUrl = `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}/`;
			// Not spawnSync: the ws server runs in this process and must answer meanwhile.
			const cliAsync = (...args: string[]) =>
				new Promise<{ status: number | null; stdout: string; stderr: string }>(resolve => {
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
				});
			const out = await cliAsync(
				"conformance",
				"--compare",
				`ours=${device.endpoints.ws}`,
				`ws=${wsUrl}`,
				"--only",
				"1.1,6.4,7.9",
				"--fail-fast",
				"300",
				"--report",
				report,
			);
			expect(out.status, out.stderr).toBe(0); // NON-STRICT does not fail the run without --strict
			expect(out.stdout).toMatch(/^ +ours +ws +$/m);
			expect(out.stdout).toMatch(/^OK +22 +18 +$/m);
			expect(out.stdout).toMatch(/^NON-STRICT +0 +4 +$/m);
			expect(out.stdout).toMatch(/^INFORMATIONAL +2 +2 +$/m);
			expect(out.stdout).toMatch(/^FAILED +0 +0 +$/m);
			expect(out.stdout).toMatch(/^ {2}6\.4\.1 +3 fragments: .* OK +NON-STRICT/m);
			expect(out.stderr).toMatch(new RegExp(`^conformance: report written to ${report.replace(/[.]/g, "\\.")}$`, "m"));
			const html = fs.readFileSync(report, "utf8");
			expect(html).toContain("<th>ours</th><th>ws</th>");
			for (const grade of ["OK", "NON-STRICT", "INFORMATIONAL", "FAILED"]) expect(html).toMatch(new RegExp(`<dt class="\\w+">${grade}</dt><dd>.{40,}</dd>`));
			expect(html).toMatch(/<tr id="case-6\.4\.1">(?:(?!<\/tr>)[\s\S])*<td class="ok"><b>OK<\/b>(?:(?!<\/tr>)[\s\S])*<td class="nonstrict"><b>NON-STRICT<\/b>/);
			expect(html).toMatch(/<details><summary>wire log<\/summary><pre>[^<]*→ {2}TEXT \(FIN 0\) \d+ B/);
			expect(html).toMatch(/<td>7\.9\.11, 7\.9\.12<\/td><td>7\.13\.1, 7\.13\.2<\/td>/);
			const strict = await cliAsync("conformance", "--url", wsUrl, "--only", "6.4", "--fail-fast", "300", "--strict");
			expect(strict.status).toBe(1);
			expect(strict.stdout).toMatch(/0\/4 cases passed, 4 failed \(OK 0, NON-STRICT 4, INFORMATIONAL 0, FAILED 0\)/);
		} finally {
			wss.close();
			await device.stop();
			fs.rmSync(path.dirname(report), { recursive: true, force: true });
		}
	}, 120_000);
});

describe("host-harness ws", () => {
	/** The CLI with this stdin, asynchronously (the device answers from another process, but keep the event loop free anyway). */
	const ws = (args: string[], input = "") =>
		new Promise<{ status: number | null; stdout: string; stderr: string }>(resolve => {
			const child = spawn(process.execPath, [path.join(projectRoot, "build/node/host-harness/cli.js"), "ws", ...args], { cwd: projectRoot });
			let stdout = "",
				stderr = "";
			child.stdout.on("data", (d: Buffer) => {
				stdout += d;
			});
			child.stderr.on("data", (d: Buffer) => {
				stderr += d;
			});
			child.once("exit", status => resolve({ status, stdout, stderr }));
			child.stdin.end(input);
		});

	it("one-shot --send/--expect for scripts: exit 0 when every message matched, 1 naming what came instead", async () => {
		const device = await startDevice({ target: "node", config: await freeServicePorts() });
		try {
			const url = device.endpoints.ws!;
			const good = await ws([url, "--ping", "probe", "--send", "hello", "--send", "second one", "--expect", "hello", "--expect", "/^second/"]);
			expect(good.status, good.stderr).toBe(0);
			expect(good.stdout.split("\n").filter(Boolean)).toEqual(["< PONG 5 B probe", "< TEXT 5 B hello", "< TEXT 10 B second one", "< CLOSE 1000"]);
			expect(good.stderr).toMatch(/^> PING 5 B$/m);
			expect(good.stderr).toMatch(/^closed: the server's Close 1000, TCP closed$/m);
			const bad = await ws([url, "--send", "hello", "--expect", "goodbye", "--timeout", "2000"]);
			expect(bad.status).toBe(1);
			expect(bad.stderr).toMatch(/^ws: --expect "goodbye": got "hello"$/m);
			const binary = await ws([url, "--binary", "--send", "AB", "--expect", "AB"]);
			expect(binary.status, binary.stderr).toBe(0);
			expect(binary.stdout).toMatch(/^< BINARY 2 B 41 42$/m);
		} finally {
			await device.stop();
		}
	}, 60_000);

	it("interactive: each typed line is sent, each frame shown with opcode, length and close code; /ping and /close work", async () => {
		const device = await startDevice({ target: "node", config: await freeServicePorts() });
		try {
			const out = await ws([device.endpoints.ws!], "first line\n/ping are you there\n/close 1001 going away\n");
			expect(out.status, out.stderr).toBe(0);
			expect(out.stdout.split("\n").filter(Boolean)).toEqual(["< TEXT 10 B first line", "< PONG 13 B are you there", "< CLOSE 1001"]);
			expect(out.stderr).toMatch(/^> CLOSE 1001 going away$/m);
		} finally {
			await device.stop();
		}
	}, 60_000);

	it("an argument error or a server that is not there is one line, with exit 2 or 1", async () => {
		const wrong = await ws(["ws://127.0.0.1:1/", "--sned", "x"]);
		expect(wrong.status).toBe(2);
		expect(wrong.stderr).toMatch(/^unknown argument "--sned" \(did you mean "--send"\?\)/);
		const port = await freeTcpPort();
		const gone = await ws([`ws://127.0.0.1:${port}/`, "--send", "x", "--expect", "x"]);
		expect(gone.status).toBe(1);
		expect(gone.stderr).toBe(`ws: cannot connect to ws://127.0.0.1:${port}/: connect ECONNREFUSED 127.0.0.1:${port}\n`);
		const badPort = await ws(["ws://127.0.0.1:99999/"]);
		expect(badPort.status).toBe(2);
		expect(badPort.stderr.split("\n")[0]).toBe(`<url> has a port outside 1..65535, not "ws://127.0.0.1:99999/"`);
	});

	it("refuses an unknown /command instead of sending it, sends //text as /text, and exits 1 when the server went without a Close", async () => {
		const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
		await once(server, "listening");
		const received: string[] = [];
		server.on("connection", socket =>
			socket.on("message", data => {
				received.push(data.toString());
				if (received.length === 2) socket.terminate(); // vanish: no Close frame
			}),
		);
		try {
			const out = await ws([`ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/`], "/foo\n//foo\nlast\n");
			expect(received).toEqual(["/foo", "last"]);
			expect(out.stderr).toMatch(/^unknown command \/foo: \/ping \[text\], \/close \[code \[reason\]\], \/quit; \/\/text sends \/text$/m);
			expect(out.stderr).toMatch(/^closed: no Close from the server, TCP closed$/m);
			expect(out.status).toBe(1);
		} finally {
			server.close();
		}
	}, 30_000);

	it("Ctrl-C closes with 1001 (going away) and exits 130", async () => {
		const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
		await once(server, "listening");
		const codes: number[] = [];
		server.on("connection", socket => socket.on("close", code => codes.push(code)));
		try {
			const child = spawn(
				process.execPath,
				[path.join(projectRoot, "build/node/host-harness/cli.js"), "ws", `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/`],
				{ cwd: projectRoot, stdio: ["pipe", "pipe", "pipe"] },
			);
			let stderr = "";
			// Ctrl-C the moment "connected to" is read, as a script (or a quick hand) would: the command
			// must already catch it then, not die of the signal's default action.
			child.stderr.on("data", (d: Buffer) => {
				const before = /^connected to /m.test(stderr);
				stderr += d;
				if (!before && /^connected to /m.test(stderr)) child.kill("SIGINT");
			});
			const exited = new Promise<number | null>(resolve => child.once("exit", status => resolve(status)));
			expect(await exited, stderr).toBe(130);
			expect(stderr).toMatch(/^> CLOSE 1001$/m);
			expect(codes).toEqual([1001]);
		} finally {
			server.close();
		}
	}, 30_000);
});

describe.runIf(tiers.some(t => t.target === "sim"))("host-harness logs on the simulator", () => {
	it("prints a debug build's log lines with time and tag, and stops cleanly", async () => {
		const port = await freeTcpPort();
		const logs = spawn(
			process.execPath,
			[path.join(projectRoot, "build/node/host-harness/cli.js"), "logs", "--port", String(port), "--host", "127.0.0.1", "--tag", "app,wifi"],
			{ cwd: projectRoot },
		);
		let out = "";
		logs.stdout.on("data", (d: Buffer) => {
			out += d;
		});
		const exited = new Promise<number | null>(resolve => logs.once("exit", code => resolve(code)));
		await new Promise(r => setTimeout(r, 500));
		const device = await startDevice({ target: "sim", config: await freeServicePorts(), xsbugPort: port });
		try {
			const end = Date.now() + 20_000;
			while (!/app: services up/.test(out) && Date.now() < end) await new Promise(r => setTimeout(r, 100));
			expect(out).toMatch(/^\d\d:\d\d:\d\d\.\d{3} \[[\w.-]+\] I \(\d+\) app: services up \{/m);
			expect(out).toMatch(/\[[\w.-]+\] I \(\d+\) wifi: got IP/);
			expect(out).not.toMatch(/ (tcp-server|udp-server|ws-server): /); // --tag app,wifi
			expect(out).not.toMatch(/\x1b\[/); // no colours when piped
		} finally {
			await device.stop();
			logs.kill("SIGTERM");
		}
		expect(await exited).toBe(0);
	}, 120_000);

	it("check --device --logs judges a board by its log too: here the simulator's debug build stands in for the board", async () => {
		const logsPort = await freeTcpPort();
		const config = await freeServicePorts();
		const check = spawn(
			process.execPath,
			[
				path.join(projectRoot, "build/node/host-harness/cli.js"),
				"check",
				"--device",
				"127.0.0.1",
				...Object.entries(config).flatMap(([k, v]) => ["--config", `${k}=${v}`]),
				"--logs",
				String(logsPort),
				"--only",
				"udp",
			],
			{ cwd: projectRoot, env: { ...process.env, TARGETS: undefined, DEVICE_KNOBS: "sim" } },
		);
		let out = "";
		check.stdout.on("data", (d: Buffer) => {
			out += d;
		});
		check.stderr.on("data", (d: Buffer) => {
			out += d;
		});
		const exited = new Promise<number | null>(resolve => check.once("exit", code => resolve(code)));
		while (!/waiting for the board's debug build/.test(out)) await new Promise(r => setTimeout(r, 100));
		const board = await startDevice({ target: "sim", config, xsbugPort: logsPort });
		try {
			expect(await exited, out).toBe(0);
		} finally {
			await board.stop();
		}
		expect(out).toMatch(/PASS smoke on 'board' > logs each accepted peer/);
		expect(out).toMatch(/PASS UDP echo server on 'board' > logs each datagram's sender and size/);
		expect(out).toMatch(/check: \d+ passed, 0 failed/);
	}, 180_000);
});
