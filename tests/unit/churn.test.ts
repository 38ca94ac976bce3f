// The churn's plan and command line (host-harness/bench/churn.ts,
// churn-cases.ts, memory.ts): every service with its ends, about as many
// connections as asked with each case at least once, and `bench memory
// --churn N [--target sim|lwip]`. The churn itself: tests/device/churn.test.ts.
import { describe, expect, it } from "vitest";
import { planRound } from "../../host-harness/bench/churn.js";
import { churnCases } from "../../host-harness/bench/churn-cases.js";
import { parseMemoryArgs } from "../../host-harness/bench/memory-command.js";

const limits = { tcpMaxClients: 2, tcpBacklog: 1 };

describe("the churn's cases and plan", () => {
	it("covers every service, and every route with each way a WebSocket connection ends", () => {
		const cases = churnCases({ ...limits, slowConsumers: false });
		expect(new Set(cases.map(c => c.service))).toEqual(new Set(["echo route", "broadcast route", "log route", "page", "TCP echo", "UDP echo"]));
		for (const service of ["echo route", "broadcast route", "log route"])
			expect(cases.filter(c => c.service === service).map(c => c.end)).toEqual(
				expect.arrayContaining([
					"Close 1000 from the client",
					"Close without a code",
					"FIN without a Close",
					"unmasked frame (1002)",
					"heartbeat loss (never pongs)",
					"server-side Close never answered (closeTimeout)",
				]),
			);
		expect(cases.filter(c => c.end === "message too big (1009)").map(c => c.service)).toEqual(["broadcast route", "log route"]);
		expect(cases.find(c => c.end.startsWith("backlog"))?.connections).toBe(5);
		expect(churnCases({ ...limits, slowConsumers: true }).length).toBe(cases.length + 1);
	});

	it("plans about the connections asked for, each case at least once", () => {
		const cases = churnCases({ ...limits, slowConsumers: false });
		for (const asked of [0, 1000, 10_000]) {
			const plan = planRound(cases, asked);
			expect(plan.every(p => p.runs >= 1)).toBe(true);
			const connections = plan.reduce((sum, p) => sum + p.runs * p.churnCase.connections, 0);
			if (asked) expect(Math.abs(connections - asked) / asked).toBeLessThan(0.1);
			else expect(plan.map(p => p.runs)).toEqual(cases.map(() => 1));
		}
	});

	it("reads bench memory --churn N, and --target lwip only with it", () => {
		expect(parseMemoryArgs(["memory", "--churn", "10000"])).toMatchObject({ churn: 10000, target: "sim" });
		expect(parseMemoryArgs(["memory", "--churn=200", "--target", "lwip"])).toMatchObject({ churn: 200, target: "lwip" });
		expect(parseMemoryArgs(["memory"])).not.toHaveProperty("churn");
		expect(() => parseMemoryArgs(["memory", "--target", "lwip"])).toThrow(/--churn/);
		expect(() => parseMemoryArgs(["memory", "--churn", "0"])).toThrow(/positive whole number/);
		expect(() => parseMemoryArgs(["memory", "--target", "node"])).toThrow(/--target sim/);
	});
});
