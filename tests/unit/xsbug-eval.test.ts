/*
 * XsbugLogServer.evaluate and its start program against a fake machine over
 * loopback that answers as xsDebug.c does: a <step/> breaks (the break's
 * <frames> name the frames by address), an <eval id path line/> at a break
 * answers <result>, go resumes. The programs are what the SDK's xsc makes
 * (host-harness/xsbug/compile.ts), when the SDK is installed; the real
 * machine reads them in tests/device/churn.test.ts.
 */

import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type Census, formatCensus, heldBeyondIdle } from "../../host-harness/bench/census.js";
import { findSdk } from "../../host-harness/lib/sdk.js";
import { compileProgram } from "../../host-harness/xsbug/compile.js";
import { XsbugLogServer } from "../../host-harness/xsbug/log-server.js";
import { commands, resultOf, XsbugParser } from "../../host-harness/xsbug/protocol.js";

const message = (body: string) => `\r\n<xsbug>${body}</xsbug>\r\n`;
const breakMessage = (reason: string) =>
	message(`<frames><frame name="(host)" value="@5A0"/><frame name="main" value="@5C0"/></frames><break># Break: ${reason}!\n</break>`);

interface Command {
	name: string;
	attributes: Record<string, string>;
}

/** A machine that logs in and answers: a step with a break, an eval with `answer(path)` as the <result>'s inside. */
function fakeMachine(port: number, answer: (hex: string) => string): Promise<{ commands: Command[]; close(): void }> {
	return new Promise((resolve, reject) => {
		const socket = net.connect(port, "127.0.0.1");
		const received: Command[] = [];
		let pending = "";
		socket.on("error", reject);
		socket.on("data", chunk => {
			pending += chunk.toString();
			for (let end = pending.indexOf(">\r\n"); end >= 0; end = pending.indexOf(">\r\n")) {
				const text = pending.slice(0, end + 1).trim();
				pending = pending.slice(end + 3);
				const tag = /^<([\w-]+)/.exec(text);
				if (!tag) continue;
				const attributes = Object.fromEntries([...text.matchAll(/(\w+)="([^"]*)"/g)].map(m => [m[1], m[2]]));
				received.push({ name: tag[1], attributes });
				if (tag[1] === "step") socket.write(breakMessage("C: xsDebugger"));
				else if (tag[1] === "eval")
					socket.write(message(`<result line="${attributes.line}">${answer(attributes.path)}</result><local name="(host)" value="@5A0"></local>`));
			}
		});
		socket.once("connect", () => {
			socket.write(message(`<login name="fake" value="XS 17.7.0 64-bit LE 16-bit ID" flags="e"/>`));
			resolve({ commands: received, close: () => socket.destroy() });
		});
	});
}

describe("evaluating a program at a break through xsbug", () => {
	let server: XsbugLogServer | undefined;
	let machine: { commands: Command[]; close(): void } | undefined;

	afterEach(async () => {
		machine?.close();
		await server?.close();
		server = machine = undefined;
	});

	it("sends <eval> in the break's innermost frame, resolves with the value, and only then lets the machine go", async () => {
		server = new XsbugLogServer({ breakOnExceptions: false });
		const port = await server.start(0, "127.0.0.1");
		machine = await fakeMachine(port, () => `<property name="(return)" value="'{&#34;servers&#34;:[]}'"/>`);
		await server.waitForMachine(5000);
		const result = await server.evaluate(new Uint8Array([0x00, 0xab, 0x10]), undefined, 5000);
		expect(result).toEqual({ ok: true, value: '{"servers":[]}' });
		const fake = machine;
		await expect.poll(() => fake.commands.map(c => c.name), { timeout: 2000 }).toEqual(["clear-breakpoint", "go", "step", "eval", "go"]);
		expect(fake.commands[3].attributes).toEqual({ id: "@5A0", path: "00AB10", line: "0" });
	});

	it("rejects with the exception the program threw, and lets the machine go", async () => {
		server = new XsbugLogServer({ breakOnExceptions: false });
		const port = await server.start(0, "127.0.0.1");
		machine = await fakeMachine(port, () => "# ReferenceError: get xsNetkitCensus: undefined variable!");
		await server.waitForMachine(5000);
		expect(await server.evaluate(new Uint8Array([1]), undefined, 5000)).toEqual({
			ok: false,
			exception: "ReferenceError: get xsNetkitCensus: undefined variable",
		});
		const fake = machine;
		await expect.poll(() => fake.commands.at(-1)?.name, { timeout: 2000 }).toBe("go");
	});

	it("runs the start program at the break on start, before anything else", async () => {
		server = new XsbugLogServer({ breakOnExceptions: false, startProgram: new Uint8Array([0xca, 0xfe]) });
		const port = await server.start(0, "127.0.0.1");
		machine = await fakeMachine(port, () => `<property name="(return)" value="0"/>`);
		const found = await server.waitForMachine(5000);
		// The machine breaks at its first line of JavaScript: here, when stepped.
		const fake = machine;
		await expect.poll(() => fake.commands.map(c => c.name), { timeout: 2000 }).toEqual(["clear-breakpoint", "set-all-breakpoints", "go"]);
		const evaluated = server.evaluate(new Uint8Array([1]), undefined, 5000);
		await evaluated;
		expect(fake.commands.filter(c => c.name === "eval").map(c => c.attributes.path)).toEqual(["CAFE", "01"]);
		expect(found.startResult).toEqual({ ok: true, value: "0" });
	});

	it("reads a result's string, number and exception as the machine writes them", () => {
		const parse = (text: string) => resultOf(new XsbugParser().feed(message(`<result line="0">${text}</result>`))[0]);
		expect(parse(`<property name="(return)" value="'a &#60;b&#62; &#39;c&#39;'"/>`)).toEqual({ ok: true, value: "a <b> 'c'" });
		expect(parse(`<property name="(return)" value="42"/>`)).toEqual({ ok: true, value: "42" });
		expect(parse("# Error: boom!")).toEqual({ ok: false, exception: "Error: boom" });
		expect(commands.evaluate("@1F", new Uint8Array([0, 255]))).toBe(`\r\n<eval id="@1F" path="00FF" line="0"/>\r\n`);
	});

	it.runIf("sdk" in findSdk())("compiles a program with the SDK's xsc into one XS_B atom of VERS, SYMB and CODE", () => {
		const code = compileProgram("JSON.stringify({ a: 1 });\n");
		const atom = (at: number) => ({ size: Buffer.from(code).readUInt32BE(at), type: Buffer.from(code.subarray(at + 4, at + 8)).toString("latin1") });
		expect(atom(0)).toEqual({ size: code.length, type: "XS_B" });
		expect(atom(8)).toEqual({ size: 12, type: "VERS" });
		expect(atom(20).type).toBe("SYMB");
		expect(atom(20 + atom(20).size).type).toBe("CODE");
		expect(() => compileProgram("this is not JavaScript")).toThrow(/xsc could not compile/);
	});
});

describe("the census of what the servers hold", () => {
	const census = (
		changes: Partial<{ sockets: number; count: number; lagging: number; following: boolean; served: number; logFollowed: boolean }> = {},
	): Census => ({
		servers: [
			{ kind: "TcpServer", port: 8080, served: changes.served ?? 0, waiting: 0 },
			{ kind: "UdpServer", port: 9000 },
			{
				kind: "WebSocketServer",
				port: 80,
				sockets: changes.sockets ?? 0,
				handshakes: 0,
				clients: 0,
				routes: [
					{ path: "/ws", count: changes.count ?? 0, lagging: changes.lagging ?? 0 },
					{ path: "/log", count: 0, lagging: 0, following: changes.following ?? false },
				],
			},
		],
		logFollowed: changes.logFollowed ?? false,
	});

	it("finds nothing held at idle, and names each set, count or follower that is not empty", () => {
		expect(heldBeyondIdle(census())).toEqual([]);
		expect(heldBeyondIdle(census({ sockets: 1, count: 2, lagging: 1, following: true, served: 1, logFollowed: true }))).toEqual([
			"TcpServer :8080 served 1",
			"WebSocketServer :80 sockets 1",
			"WebSocketServer :80 route /ws count 2",
			"WebSocketServer :80 route /ws lagging 1",
			"WebSocketServer :80 route /log still following the log",
			"modules/log still has a follower (followLog)",
		]);
		expect(formatCensus(census())).toBe(
			"TcpServer :8080 served 0 waiting 0; UdpServer :9000; WebSocketServer :80 sockets 0 handshakes 0 clients 0, routes /ws 0, /log 0; log not followed",
		);
	});
});
