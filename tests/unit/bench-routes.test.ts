// `bench routes` (host-harness/bench/routes.ts): its command line and its
// tables; and the targets an app's own suite boots (host-harness/testing:
// appTargets), lwip among them when asked. The bench itself runs on the
// simulator's debug build (docs/measurements.md).
import { describe, expect, it } from "vitest";
import { parseRoutesArgs, type RoutesResult, renderRoutes, routeKinds } from "../../host-harness/bench/routes.js";
import { appTargets } from "../../host-harness/testing.js";

describe("bench routes: its command line", () => {
	it("defaults to 16 routes a kind, 4 clients, the esp32 bytecode, tables; takes each option", () => {
		expect(parseRoutesArgs(["routes", "--target", "sim"])).toEqual({ routes: 16, clients: 4, bytecode: true, json: false });
		expect(parseRoutesArgs(["routes", "--routes", "8", "--clients", "2", "--no-bytecode", "--json"])).toEqual({
			routes: 8,
			clients: 2,
			bytecode: false,
			json: true,
		});
		expect(parseRoutesArgs(["routes", "--help"])).toBe("help");
	});

	it("refuses another target, a count that is not a positive whole number, and what it does not know", () => {
		expect(() => parseRoutesArgs(["routes", "--target", "node"])).toThrow(/--target sim/);
		expect(() => parseRoutesArgs(["routes", "--routes", "0"])).toThrow(/positive whole number/);
		expect(() => parseRoutesArgs(["routes", "--clients", "x"])).toThrow(/positive whole number/);
		expect(() => parseRoutesArgs(["routes", "--rounds", "2"])).toThrow(/unknown argument "--rounds"/);
	});
});

describe("bench routes: its tables", () => {
	const cost = (slots: number, chunk: number) => ({ slots, chunk, keys: 0, boardBytes: slots * 16 + chunk });
	const zero = { slots: 0, chunk: 0, keys: 0 };
	const result: RoutesResult = {
		kind: "routes",
		target: "sim",
		machine: "XS 17.7.0 64-bit LE 16-bit ID",
		options: { routes: 16, clients: 4, bytecode: true, json: false },
		bytecode: { httpRoutesModule: 6000, serverModule: 13000, perRoute: { static: 70, handler: 72, post: 92, params: 94 } },
		idle: { slots: 376, chunk: 920, keys: 0, collections: 2, agreed: true },
		perRoute: { static: cost(29, 104), handler: cost(24, 104), post: cost(23, 99), params: cost(22, 361) },
		inFlight: { head: cost(52, 2212), body: cost(71, 674) },
		after: { head: zero, body: zero, everyKind: { ...zero, slots: 3 } },
	};

	it("gives the bytecode, each kind's route and the requests, in board bytes too; what is left after shows as it is", () => {
		const text = renderRoutes(result);
		expect(text).toContain("| websocket/http-routes (the HTTP routes module) | 6000 |");
		for (const kind of routeKinds)
			expect(text).toMatch(new RegExp(`per route: .*\\| ${result.perRoute[kind].slots} \\| ${result.perRoute[kind].slots * 16} B \\|`));
		expect(text).toContain("| per request in flight: its head not all come | 52 | 832 B | 2212 |");
		expect(text).toContain("| left after requests of every kind (and a 404) were answered and closed | 3 | 48 B | 0 |");
	});

	it("leaves the bytecode table out when it was not measured", () => {
		expect(renderRoutes({ ...result, bytecode: undefined })).not.toContain("esp32 bytecode");
	});
});

describe("an app's suite: its targets (appTargets)", () => {
	it("TARGETS narrows them: node alone says nothing of sim or lwip", () => {
		expect(appTargets({ ...process.env, TARGETS: "node" })).toEqual({ targets: ["node"], skipped: [] });
	});

	it("lwip when asked: a target, or one line saying why it cannot run here", () => {
		const { targets, skipped } = appTargets({ ...process.env, TARGETS: "node,lwip" });
		expect(targets[0]).toBe("node");
		if (targets.includes("lwip")) expect(skipped).toEqual([]);
		else expect(skipped).toEqual([expect.stringMatching(/^lwip tier skipped: .+/)]);
	});
});
