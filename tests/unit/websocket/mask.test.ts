// websocket/mask under Node: the host twin of the native module
// (host-harness/node-host/mask.ts), which vitest and the Node-hosted device
// load in place of websocket/mask.c. The same check bench xs runs on XS
// against the C code (host-harness/bench/xs/mask-check.ts).
import { describe, expect, it } from "vitest";
import { unmask } from "websocket/mask";
import { checkMask } from "../../../host-harness/bench/xs/mask-check.js";
import { unmask as twin } from "../../../host-harness/node-host/mask.js";

describe("websocket/mask on the Node host (the twin of mask.c)", () => {
	it("is the twin under vitest, not a file of websocket/", () => {
		expect(unmask).toBe(twin);
	});

	it("agrees with a byte-at-a-time reference at every alignment, and refuses what mask.c refuses", () => {
		const result = checkMask(unmask);
		expect(result.mismatches).toEqual([]);
		expect(result.checked).toBeGreaterThan(10_000);
	});

	it("the check finds an unmask that leaves the last byte alone", () => {
		const short = (bytes: ArrayBuffer | Uint8Array, start: number, end: number, key: number) => twin(bytes, start, Math.max(start, end - 1), key);
		expect(checkMask(short).mismatches.length).toBeGreaterThan(0);
	});
});
