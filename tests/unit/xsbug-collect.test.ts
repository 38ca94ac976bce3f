/*
 * XsbugLogServer.collectGarbage against a fake machine over loopback that
 * answers as the simulator's debug build does: <step/> while idle breaks at
 * once with "C: xsDebugger", the break preceded by the sample its onBreak
 * takes after a full collection; a step read while JavaScript runs breaks
 * with "step" at the next line instead. (The real simulator: tests/device/
 * sim-memory.test.ts.)
 */

import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { slotSizeOf } from "../../host-harness/bench/heap.js";
import { XsbugLogServer } from "../../host-harness/xsbug/log-server.js";

const message = (body: string) => `\r\n<xsbug>${body}</xsbug>\r\n`;
const instruments = message(
	["Chunk used", "Chunk available", "Slot used", "Slot available"]
		.map((name, i) => `<instrument name="${name}" value="${i % 2 ? " bytes" : " / "}"/>`)
		.join("")
		.replace(/^/, "<instruments>") + "</instruments>",
);
const samples = (chunk: number, slots: number) => message(`<samples>${chunk},32768,${slots * 32},65536</samples>`);
const breakMessage = (reason: string) => message(`<frames><frame name="(host)" value="@1"/></frames><break># Break: ${reason}!\n</break>`);

interface FakeMachine {
	/** Commands received, in order, by name. */
	commands: string[];
	close(): void;
}

/** A machine that logs in, then answers each <step/> with the next of `answers` (its messages), each time once the previous go came. */
function fakeMachine(port: number, answers: string[][]): Promise<FakeMachine> {
	return new Promise((resolve, reject) => {
		const socket = net.connect(port, "127.0.0.1");
		const commands: string[] = [];
		let pending = "";
		socket.on("error", reject);
		socket.on("data", chunk => {
			pending += chunk.toString();
			for (let end = pending.indexOf("/>\r\n"); end >= 0; end = pending.indexOf("/>\r\n")) {
				const name = /<([\w-]+)/.exec(pending.slice(0, end))?.[1] ?? "?";
				pending = pending.slice(end + 4);
				commands.push(name);
				if (name === "step") {
					const answer = answers.shift();
					if (answer) socket.write(answer.join(""));
				}
			}
		});
		socket.once("connect", () => {
			socket.write(message(`<login name="fake" value="XS 17.7.0 64-bit LE 16-bit ID" flags="e"/>`) + instruments + samples(9000, 4000));
			resolve({ commands, close: () => socket.destroy() });
		});
	});
}

describe("forcing a garbage collection through xsbug", () => {
	let server: XsbugLogServer | undefined;
	let machine: FakeMachine | undefined;

	afterEach(async () => {
		machine?.close();
		await server?.close();
		server = machine = undefined;
	});

	it("returns the sample of an idle break, stepping again when the step broke in running code", async () => {
		server = new XsbugLogServer({ breakOnExceptions: false });
		const port = await server.start(0, "127.0.0.1");
		machine = await fakeMachine(port, [
			[samples(7000, 4100), breakMessage("step")],
			[samples(5240, 4234), breakMessage("C: xsDebugger")],
		]);
		await server.waitForMachine(5000);
		const collected = await server.collectGarbage("fake", 5000);
		expect(collected.breakMessage).toBe("C: xsDebugger");
		expect(collected.values).toMatchObject({ "Chunk used": 5240, "Slot used": 4234 * 32 });
		const fake = machine;
		await expect.poll(() => fake.commands.filter(c => c === "step" || c === "go"), { timeout: 2000 }).toEqual(["go", "step", "go", "step", "go"]);
		expect(slotSizeOf(collected.machine.version)).toBe(32);
	});

	it("rejects when the break comes without a sample (a build without instrumentation)", async () => {
		server = new XsbugLogServer({ breakOnExceptions: false });
		const port = await server.start(0, "127.0.0.1");
		machine = await fakeMachine(port, [[breakMessage("C: xsDebugger")]]);
		await server.waitForMachine(5000);
		await expect(server.collectGarbage(undefined, 5000)).rejects.toThrow(/without sending a sample/);
	});

	it("rejects when the machine never breaks", async () => {
		server = new XsbugLogServer({ breakOnExceptions: false });
		const port = await server.start(0, "127.0.0.1");
		machine = await fakeMachine(port, []);
		await server.waitForMachine(5000);
		await expect(server.collectGarbage(undefined, 2000)).rejects.toThrow(/no idle break within 2000 ms/);
		expect(machine.commands.filter(c => c === "step").length).toBeGreaterThanOrEqual(2); // stepped again
	});
});
