// `bench cpu` (host-harness/bench/cpu.ts): its command line, its arithmetic
// and table; and how lib/process-cpu.ts finds the process that runs a
// program past a launcher that forks it. The measurement itself needs a
// device and takes minutes (docs/platform-lwip.md).
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { type CpuResult, parseCpuArgs, renderCpu, summarizeWorkload, workloads } from "../../host-harness/bench/cpu.js";
import { cpuTicks, programName, programPid } from "../../host-harness/lib/process-cpu.js";

describe("bench cpu: its command line", () => {
	it("defaults to the lwip target, 10 s a workload, one message in flight, 2 rounds; takes each option", () => {
		expect(parseCpuArgs(["cpu"])).toEqual({ target: "lwip", seconds: 10, window: 1, rounds: 2, config: {}, json: false });
		expect(
			parseCpuArgs([
				"cpu",
				"--target",
				"sim",
				"--seconds",
				"2.5",
				"--messages",
				"500",
				"--window",
				"8",
				"--rounds",
				"3",
				"--config",
				"tcpChunk=4096",
				"--json",
			]),
		).toEqual({ target: "sim", seconds: 2.5, messages: 500, window: 8, rounds: 3, config: { tcpChunk: "4096" }, json: true });
		expect(parseCpuArgs(["cpu", "--help"])).toBe("help");
	});

	it("refuses another target, a count that is not a positive whole number, and what it does not know", () => {
		expect(() => parseCpuArgs(["cpu", "--target", "esp32"])).toThrow(/--target must be lwip, sim or node, not "esp32"/);
		expect(() => parseCpuArgs(["cpu", "--rounds", "0"])).toThrow(/positive whole number/);
		expect(() => parseCpuArgs(["cpu", "--messages", "1.5"])).toThrow(/positive whole number/);
		expect(() => parseCpuArgs(["cpu", "--seconds", "soon"])).toThrow(/positive number/);
		expect(() => parseCpuArgs(["cpu", "--duration", "5"])).toThrow(/unknown argument "--duration"/);
	});
});

describe("bench cpu: its figures", () => {
	it("sums the rounds: CPU per message from the ticks (100 a second), the rate from the wall time", () => {
		const [tcp64, tcp64k] = workloads(1);
		const small = summarizeWorkload(tcp64, [
			{ messages: 40_000, ms: 10_000, ticks: 300 },
			{ messages: 60_000, ms: 10_000, ticks: 500 },
		]);
		expect(small.messages).toBe(100_000);
		expect(small.cpuSeconds).toBe(8);
		expect(small.cpuUsPerMessage).toBe(80);
		expect(small.cpuShare).toBe(0.4);
		expect(small.messagesPerSecond).toBe(5000);
		const big = summarizeWorkload(tcp64k, [{ messages: 1000, ms: 5000, ticks: 500 }]);
		expect(big.cpuUsPerMessage).toBe(5000);
		expect(big.mbPerSecond).toBeCloseTo((1000 * 65536) / 1e6 / 5, 9);
		expect(summarizeWorkload(tcp64, [{ messages: 0, ms: 1000, ticks: 3 }]).cpuUsPerMessage).toBeNaN();
	});

	it("prints a row per workload with each round's CPU per message, and the idle rate above", () => {
		const list = workloads(4);
		const result: CpuResult = {
			kind: "cpu",
			target: "lwip",
			program: "mcsim (PID 1)",
			options: { target: "lwip", seconds: 10, window: 4, rounds: 2, config: {} },
			idleCpuMsPerSecond: 2.5,
			workloads: list.map(w =>
				summarizeWorkload(w, [
					{ messages: 1000, ms: 10_000, ticks: 100 },
					{ messages: 2000, ms: 10_000, ticks: 100 },
				]),
			),
		};
		const lines = renderCpu(result).trim().split("\n");
		expect(lines[0]).toMatch(/^device: lwip, mcsim \(PID 1\); idle: 2\.5 ms of CPU per second/);
		expect(lines.filter(line => line.startsWith("| TCP") || line.startsWith("| WebSocket"))).toHaveLength(4);
		expect(lines.find(line => line.startsWith("| TCP echo, 64 B, window 4 |"))).toMatch(
			/\| 3,000 \| 20\.0 s \| 2\.00 s \| 10 % \| 666\.7 µs \| 1,000\.0, 500\.0 \| 150 \|/,
		);
	});
});

describe("a process's CPU and its program", () => {
	it("reads the CPU ticks of this process, and finds a program a shell forked under it", async () => {
		expect(cpuTicks(process.pid)).toBeGreaterThanOrEqual(0);
		expect(programPid(process.pid, [programName(process.pid)])).toBe(process.pid);
		// The shell runs a second command after sleep, so it forks sleep instead of exec'ing it.
		const shell = spawn("sh", ["-c", "sleep 30; true"], { stdio: "ignore" });
		try {
			let found: number | undefined;
			for (let i = 0; i < 50 && found === undefined; i++) {
				try {
					found = programPid(shell.pid!, ["sleep"]);
				} catch {
					await new Promise(resolve => setTimeout(resolve, 20));
				}
			}
			expect(found).toBeDefined();
			expect(found).not.toBe(shell.pid);
			expect(programName(found!)).toBe("sleep");
			expect(() => programPid(shell.pid!, ["no-such-program"])).toThrow(/no no-such-program process at or under PID/);
		} finally {
			shell.kill();
		}
	});
});
