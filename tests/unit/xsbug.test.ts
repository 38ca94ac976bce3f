/*
 * host-harness logs: the xsbug protocol's debugger side.
 *
 * 1. The parser and command builders, on their own.
 * 2. A recorded session (tests/unit/fixtures/xsbug-session.txt: the bytes a
 *    debug build sent on the Moddable simulator, captured once) replayed by a
 *    fake machine over a loopback socket, cut into awkward TCP chunks, waiting
 *    like the machine does for the debugger's answer at login and at breaks.
 * 3. A real debug build on the simulator, when the SDK and Xvfb are here.
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type Display, startXvfb } from "../../host-harness/device/sim.js";
import { trackPid, untrackPid } from "../../host-harness/lib/pids.js";
import { findSdk, which } from "../../host-harness/lib/sdk.js";
import { parseLogsArgs } from "../../host-harness/logs/command.js";
import { type XsbugBreak, XsbugLogServer, type XsbugMachine } from "../../host-harness/xsbug/log-server.js";
import { breakOf, commands, decodeEntities, formatSamples, type XsbugElement, XsbugParser } from "../../host-harness/xsbug/protocol.js";

const fixture = fs.readFileSync(fileURLToPath(new URL("./fixtures/xsbug-session.txt", import.meta.url)));
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** The recorded stream cut after each "</xsbug>\r\n": one machine message each. */
function messagesOf(raw: Buffer): Buffer[] {
	const end = Buffer.from("</xsbug>\r\n");
	const messages: Buffer[] = [];
	let from = 0;
	for (let at = raw.indexOf(end); at >= 0; at = raw.indexOf(end, from)) {
		messages.push(raw.subarray(from, at + end.length));
		from = at + end.length;
	}
	if (from < raw.length) messages.push(raw.subarray(from));
	return messages;
}

/** Cut a message at these byte offsets. */
function cut(message: Buffer, offsets: number[]): Buffer[] {
	const points = [0, ...offsets.filter(o => o > 0 && o < message.length).sort((a, b) => a - b), message.length];
	return points.slice(1).map((end, i) => message.subarray(points[i], end));
}

/** Offsets inside the "hello" message that land mid-entity and mid-UTF-8 sequence. */
function awkwardOffsets(message: Buffer): number[] {
	const offsets: number[] = [];
	const entity = message.indexOf("&#6");
	if (entity >= 0) offsets.push(entity + 3); // "&#6" | "0;"
	const check = message.indexOf(Buffer.from("✓"));
	if (check >= 0) offsets.push(check + 1); // first byte of ✓ | the other two
	const tag = message.indexOf("<log");
	if (tag >= 0) offsets.push(tag + 2); // "<l" | "og>"
	offsets.push(Math.floor(message.length / 3), Math.floor((2 * message.length) / 3));
	return offsets;
}

interface FakeMachine {
	received(): string;
	close(): void;
	done: Promise<void>;
}

/**
 * Replay messages as a machine would: after its login and after each break
 * it waits for the debugger's go (or fails after waitMs), as xsDebug.c does.
 */
function replay(port: number, messages: Buffer[], chunker: (m: Buffer, i: number) => Buffer[], waitMs = 2000): FakeMachine {
	const socket = net.connect(port, "127.0.0.1");
	socket.setNoDelay(true);
	let received = "";
	socket.on("data", d => {
		received += d.toString("utf8");
	});
	const goes = () => received.match(/<go\/>\r\n/g)?.length ?? 0;
	const done = (async () => {
		await new Promise<void>((resolve, reject) => {
			socket.once("connect", resolve);
			socket.once("error", reject);
		});
		let expectedGoes = 0;
		for (const [i, message] of messages.entries()) {
			for (const chunk of chunker(message, i)) {
				socket.write(chunk);
				await sleep(2);
			}
			const text = message.toString("utf8");
			if (text.includes("<login") || text.includes("<break")) {
				expectedGoes++;
				const until = Date.now() + waitMs;
				while (goes() < expectedGoes) {
					if (Date.now() > until)
						throw new Error(
							`the debugger did not answer message ${i} (${text.includes("<login") ? "login" : "break"}) with go within ${waitMs} ms; received: ${JSON.stringify(received)}`,
						);
					await sleep(2);
				}
			}
		}
	})();
	return { received: () => received, close: () => socket.destroy(), done };
}

let servers: XsbugLogServer[] = [];
afterEach(async () => {
	await Promise.all(servers.map(s => s.close()));
	servers = [];
});

async function startServer(options: ConstructorParameters<typeof XsbugLogServer>[0] = {}): Promise<XsbugLogServer> {
	const server = new XsbugLogServer(options);
	servers.push(server);
	await server.start(0, "127.0.0.1");
	return server;
}

describe("xsbug protocol", () => {
	it("decodes the machine's numeric references and the named ones", () => {
		expect(decodeEntities("a &#60;b&#62; &#38; &#34;c&#34;&#10;")).toBe('a <b> & "c"\n');
		expect(decodeEntities("&lt;&gt;&amp;&quot;&apos;&#x263A;")).toBe("<>&\"'☺");
		expect(decodeEntities("AT&T &unknown; &#;")).toBe("AT&T &unknown; &#;");
	});

	it("parses the recorded stream the same whole or fed one byte at a time", () => {
		const whole = new XsbugParser().feed(fixture);
		const parser = new XsbugParser();
		const bytewise: XsbugElement[] = [];
		for (let i = 0; i < fixture.length; i++) bytewise.push(...parser.feed(fixture.subarray(i, i + 1)));
		expect(bytewise).toEqual(whole);
		expect(whole.every(m => m.name === "xsbug")).toBe(true);
		expect(whole.length).toBe(messagesOf(fixture).length);
		expect(whole[0].children[0]).toMatchObject({ name: "login", attributes: { name: "xsbug-demo", value: "XS 17.7.0 64-bit LE 16-bit ID" } });
		const logs = whole
			.flatMap(m => m.children)
			.filter(c => c.name === "log")
			.map(c => c.text);
		expect(logs[0]).toBe('hello <xs> & "friends" — héllo ✓\n');
		expect(parser.inMessage).toBe(false);
	});

	it("reads a break: its reason, where, and the stack from <frames>", () => {
		const breaks = new XsbugParser()
			.feed(fixture)
			.map(breakOf)
			.filter(b => b !== undefined);
		expect(breaks).toHaveLength(2);
		expect(breaks[0]).toMatchObject({ kind: "debugger", message: "debugger", line: 22 });
		expect(breaks[1]).toMatchObject({ kind: "exception", message: "RangeError: boom 3 <&>", line: 8 });
		expect(breaks[1].stack.map(f => [f.name, f.line])).toEqual([
			["explode", 8],
			["check", 12],
			["(anonymous-36)", 24],
			["(host)", undefined],
		]);
		expect(breaks[1].stack[0].path).toMatch(/xsbug-demo\/main\.js$/);
	});

	it("skips processing instructions and text between messages, keeps CDATA, recovers from a cut message", () => {
		const parser = new XsbugParser();
		const out = parser.feed(
			"junk\r\n<?xs.00000001?>\r\n<xsbug><log>a <![CDATA[<raw> & ]]>b &#38; c</log></xsbug>\r\n" +
				"\r\n<xsbug><log>cut off by a resta" + // the machine restarted mid-message
				"\r\n<xsbug><log>after 1 &lt; 2</log></xsbug>\r\n",
		);
		expect(out.map(m => m.children[0].text)).toEqual(["a <raw> & b & c", "after 1 < 2"]);
		expect(parser.feed("<xsbug><log>3 < 4 and 5<6</log></xsbug>").map(m => m.children[0].text)).toEqual(["3 < 4 and 5<6"]);
	});

	it("builds the commands the machine's parser accepts: CR LF around each, raw path attributes", () => {
		expect(commands.go()).toBe("\r\n<go/>\r\n");
		expect(commands.setAllBreakpoints({ exceptions: true })).toBe(
			'\r\n<set-all-breakpoints><breakpoint path="exceptions" line="0"/></set-all-breakpoints>\r\n',
		);
		expect(commands.setBreakpoint({ path: "/app/main.js", line: 12 })).toBe('\r\n<set-breakpoint path="/app/main.js" line="12"/>\r\n');
		expect(commands.clearBreakpoint({ path: "exceptions", line: 0 })).toBe('\r\n<clear-breakpoint path="exceptions" line="0"/>\r\n');
		expect(() => commands.setBreakpoint({ path: 'a"b', line: 1 })).toThrow(/quotes/);
	});

	it('formats samples, pairing " / " instruments with their totals', () => {
		expect(
			formatSamples(
				[
					{ name: "Chunk used", unit: " / " },
					{ name: "Chunk available", unit: " bytes" },
					{ name: "Timers", unit: " timers" },
				],
				[280, 32768, 1],
			),
		).toBe("Chunk used: 280 / 32768 bytes, Timers: 1 timers");
	});
});

describe("XsbugLogServer against a recorded simulator session", () => {
	it("prints the logs, reports the exception with its stack, and answers login and breaks with go", async () => {
		const server = await startServer();
		const machines: XsbugMachine[] = [];
		const breaks: XsbugBreak[] = [];
		server.on("machine", m => machines.push(m));
		server.on("break", b => breaks.push(b));
		const done = server.waitForLog(/^done$/, 10_000);
		const messages = messagesOf(fixture);
		const machine = replay(server.port, messages, m => {
			const text = m.toString("utf8");
			if (text.includes("héllo") || text.includes("rather long line")) return cut(m, awkwardOffsets(m).concat([40, 90, 150]));
			return cut(m, [Math.floor(m.length / 2)]);
		});
		await machine.done;
		await done;
		machine.close();

		expect(machines.map(m => [m.name, m.tag, m.version])).toEqual([["xsbug-demo", "xsbug-demo", "XS 17.7.0 64-bit LE 16-bit ID"]]);
		expect(server.logs.map(l => l.text)).toEqual([
			'hello <xs> & "friends" — héllo ✓',
			"part one, part two",
			"I (12) tcp-server: Socket listening on port 8080 with a rather long line so that it is likely to be cut into pieces somewhere along the way: 0123456789abcdefghijklmnopqrstuvwxyz 0123456789abcdefghijklmnopqrstuvwxyz",
			"tick 1",
			"tick 2",
			"tick 3",
			"caught boom 3 <&>",
			"tick 4",
			"tick 5",
			"done",
		]);
		expect(server.logs.every(l => l.machine.tag === "xsbug-demo" && l.time instanceof Date)).toBe(true);

		expect(server.exceptions).toHaveLength(1);
		const [exception] = server.exceptions;
		expect(exception).toMatchObject({ message: "RangeError: boom 3 <&>", source: "break", line: 8 });
		expect(exception.stack.map(f => `${f.name}:${f.line ?? ""}`)).toEqual(["explode:8", "check:12", "(anonymous-36):24", "(host):"]);
		expect(exception.stack[0].path).toMatch(/\/main\.js$/);

		expect(breaks.map(b => b.kind)).toEqual(["debugger", "exception"]);
		// Login: break on exceptions, then go; each break: go.
		expect(machine.received()).toBe(commands.setAllBreakpoints({ exceptions: true }) + commands.go() + commands.go() + commands.go());
		// The logs go on after each break: the machine was resumed.
		const texts = server.logs.map(l => l.text);
		expect(texts.indexOf("tick 4")).toBeGreaterThan(texts.indexOf("caught boom 3 <&>"));

		// Instrumentation: names from <instruments>, the latest <samples> by name.
		expect(server.samples("xsbug-demo")).toMatchObject({ "Chunk used": 280, "Chunk available": 32768, "Slot available": 65504, Timers: 0 });
		expect(server.formatSample(machines[0])).toContain("Chunk used: 280 / 32768 bytes");

		// Lines as printed: time stamp, [tag], text; the exception with its frames.
		const stamp = String.raw`\d\d:\d\d:\d\d\.\d{3}`;
		expect(server.lines).toEqual(
			expect.arrayContaining([
				expect.stringMatching(new RegExp(`^${stamp} \\[xsbug-demo\\] tick 1$`)),
				expect.stringMatching(new RegExp(`^${stamp} \\[xsbug-demo\\] # Exception: RangeError: boom 3 <&>$`)),
				expect.stringMatching(new RegExp(`^${stamp} \\[xsbug-demo\\]     at explode \\(.*/main\\.js:8\\)$`)),
				expect.stringMatching(new RegExp(`^${stamp} \\[xsbug-demo\\] # Break: debugger at .*/main\\.js:22 \\(resumed\\)$`)),
			]),
		);
	});

	it('tells machines of the same name apart, flushes a line left without \\n, and reports "# Exception:" logs', async () => {
		const server = await startServer({ breakOnExceptions: false, partialLineMs: 50 });
		const login = Buffer.from('\r\n<xsbug><login name="main" value="XS 17.7.0 32-bit LE 16-bit ID" flags="e"/></xsbug>\r\n');
		const one = replay(server.port, [login], m => [m]);
		await one.done;
		const two = replay(
			server.port,
			[
				login,
				Buffer.from('\r\n<xsbug><log path="/app/main.js" line="9"># Exception: Error: nope!\n</log></xsbug>\r\n'),
				Buffer.from("\r\n<xsbug><log>no line ending</log></xsbug>\r\n"),
			],
			m => [m],
		);
		await two.done;
		const exception = await server.waitForException(/nope/, 2000);
		expect(exception).toMatchObject({
			message: "Error: nope",
			source: "log",
			path: "/app/main.js",
			line: 9,
			stack: [{ name: "", path: "/app/main.js", line: 9 }],
		});
		const partial = await server.waitForLog("no line ending", 2000);
		expect(partial.machine.tag).toBe("main#2");
		expect(server.machines.map(m => m.tag)).toEqual(["main", "main#2"]);
		// Exceptions off: the login is answered by clearing break-on-exceptions, then go.
		expect(two.received()).toBe(commands.clearBreakpoint({ path: "exceptions", line: 0 }) + commands.go());
		one.close();
		two.close();
		await expect(server.waitForLog(/never/, 50)).rejects.toThrow(/no log matching \/never\/ within 50 ms/);
	});

	it("says what to do when the port is taken", async () => {
		const first = await startServer();
		const second = new XsbugLogServer();
		await expect(second.start(first.port, "127.0.0.1")).rejects.toThrow(/is xsbug .*already running\? quit it or use --port/);
	});

	it("parses the command line", () => {
		expect(parseLogsArgs([])).toEqual({ port: 5002, json: false, samples: false, breakOnExceptions: true });
		expect(parseLogsArgs(["--port", "5010", "--json", "--no-exception-stacks"])).toMatchObject({ port: 5010, json: true, breakOnExceptions: false });
		expect(parseLogsArgs(["--port=0"])).toMatchObject({ port: 0 });
		expect(parseLogsArgs(["--help"])).toBe("help");
		expect(() => parseLogsArgs(["--port", "x"])).toThrow(/--port needs a port number/);
		expect(() => parseLogsArgs(["--verbose"])).toThrow(/unknown argument/);
	});
});

/* A real debug build on the simulator. */

const sdk = findSdk();
const xvfb = which("Xvfb");
const simSkip = !("sdk" in sdk) ? sdk.missing : !xvfb ? "Xvfb is not installed (apt-get install xvfb)" : undefined;
if (simSkip) console.log(`xsbug simulator test skipped: ${simSkip}`);

const demo = `import Timer from "timer";

let count = 0;
trace("hello from the simulator: <&>\\n");
function explode(n) {
	throw new RangeError(\`boom \${n}\`);
}
function check(n) {
	try {
		explode(n);
	}
	catch (e) {
		trace(\`caught \${e.message}\\n\`);
	}
}
Timer.repeat(() => {
	count++;
	trace(\`tick \${count}\\n\`);
	if (count === 2)
		debugger;
	if (count === 3)
		check(count);
}, 100);
`;

describe.skipIf(simSkip !== undefined)("XsbugLogServer with a debug build on the simulator", () => {
	it("receives the traces with the machine's tag, reports the exception and keeps the app running after breaks", async () => {
		if (!("sdk" in sdk)) return;
		const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "xsbug-sim-"));
		let display: Display | undefined;
		let mcsim: ChildProcess | undefined;
		try {
			const app = path.join(tmp, "xsbugsim");
			fs.mkdirSync(app);
			fs.mkdirSync(path.join(tmp, "build"));
			fs.writeFileSync(path.join(app, "manifest.json"), JSON.stringify({ include: ["$(MODDABLE)/examples/manifest_base.json"], modules: { "*": ["./main"] } }));
			fs.writeFileSync(path.join(app, "main.js"), demo);
			const env = { ...process.env, MODDABLE: sdk.sdk.root, PATH: [sdk.sdk.bin, process.env.PATH ?? ""].join(path.delimiter) };
			const built = spawnSync(sdk.sdk.mcconfig, ["-d", "-m", "-p", "lin", "-o", path.join(tmp, "build"), "-t", "build"], {
				cwd: app,
				env,
				encoding: "utf8",
				maxBuffer: 64 * 1024 * 1024,
			});
			expect(built.status, `${built.stdout}${built.stderr}`.slice(-3000)).toBe(0);
			const library = path.join(tmp, "build", "bin", "lin", "mc", "debug", "xsbugsim", "mc.so");
			expect(fs.existsSync(library)).toBe(true);

			const server = await startServer();
			display = await startXvfb();
			mcsim = spawn(sdk.sdk.mcsim, [library], {
				env: { ...env, DISPLAY: display.display, XSBUG_HOST: "127.0.0.1", XSBUG_PORT: String(server.port) },
				stdio: "ignore",
			});
			trackPid(mcsim.pid);

			const machine = await server.waitForMachine(15_000);
			expect(machine.name).toBe("xsbugsim");
			await server.waitForLog("hello from the simulator: <&>", 10_000);
			const exception = await server.waitForException(/RangeError: boom 3/, 10_000);
			expect(exception.stack.map(f => f.name).slice(0, 2)).toEqual(["explode", "check"]);
			expect(exception.stack[0]).toMatchObject({ line: 6 });
			expect(exception.stack[0].path).toMatch(/xsbugsim\/main\.js$/);
			// Answered with go: the app runs on past both breaks.
			const later = await server.waitForLog(/^tick 6$/, 10_000);
			expect(later.machine.tag).toBe("xsbugsim");
			const texts = server.logs.map(l => l.text);
			expect(texts).toEqual(expect.arrayContaining(["tick 1", "tick 2", "tick 3", "caught boom 3", "tick 4"]));
			expect(machine.breaks).toBeGreaterThanOrEqual(2);
			expect(server.samples("xsbugsim")["Slot available"]).toBeGreaterThan(0);
		} finally {
			if (mcsim?.pid && mcsim.exitCode === null && mcsim.signalCode === null) {
				const gone = new Promise(resolve => mcsim!.once("exit", resolve));
				mcsim.kill("SIGTERM");
				await Promise.race([gone, sleep(3000)]);
				if (mcsim.exitCode === null && mcsim.signalCode === null) mcsim.kill("SIGKILL");
			}
			untrackPid(mcsim?.pid);
			await display?.stop();
			fs.rmSync(tmp, { recursive: true, force: true });
		}
	}, 60_000);
});
