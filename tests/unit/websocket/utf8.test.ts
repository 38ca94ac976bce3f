// websocket/utf8 under Node: the host twin of the native module
// (host-harness/node-host/utf8.ts), which vitest and the Node-hosted device
// load in place of websocket/utf8.c. The same check bench xs runs on XS
// against the C code (host-harness/bench/xs/utf8-check.ts): feed by feed
// against the last JS validator, and every argument validate() must refuse.
import { describe, expect, it } from "vitest";
import { validate } from "websocket/utf8";
import { Utf8Validator } from "websocket/validation";
import { Utf8Validator as LastJsValidator } from "../../../host-harness/bench/xs/js-validation.js";
import { checkUtf8, type ValidatorLike } from "../../../host-harness/bench/xs/utf8-check.js";
import { validate as twin } from "../../../host-harness/node-host/utf8.js";

const detach = (buffer: ArrayBuffer) => void structuredClone(buffer, { transfer: [buffer] });

describe("websocket/utf8 on the Node host (the twin of utf8.c)", () => {
	it("is the twin under vitest, not a file of websocket/", () => {
		expect(validate).toBe(twin);
	});

	it("agrees with the last JS validator feed by feed, and refuses what utf8.c refuses", () => {
		const result = checkUtf8(validate, new Utf8Validator(), new LastJsValidator(), detach);
		expect(result.mismatches).toEqual([]);
		expect(result.checked).toBeGreaterThan(100_000);
	}, 60_000);

	it("the check finds a validator that accepts everything", () => {
		const lax: ValidatorLike = { feed: () => true, end: () => true, reset() {} };
		expect(checkUtf8(validate, lax, new LastJsValidator()).mismatches.length).toBeGreaterThan(0);
	});

	it("the check finds a validate() that reads outside its view", () => {
		const unbounded = ((bytes: Uint8Array, start: number, end: number, state: number) =>
			twin(new Uint8Array(bytes.buffer), start + bytes.byteOffset, end + bytes.byteOffset, state)) as unknown as typeof validate;
		expect(checkUtf8(unbounded, new Utf8Validator(), new LastJsValidator()).mismatches.some(m => /view/.test(m))).toBe(true);
	});

	it("a detached buffer, as a view or itself, is a TypeError even for an empty range (as on XS)", () => {
		const bytes = new Uint8Array(8);
		detach(bytes.buffer);
		expect(() => validate(bytes, 0, 0, 0)).toThrow(TypeError);
		expect(() => validate(bytes.buffer, 0, 0, 0)).toThrow(TypeError);
		expect(() => new Utf8Validator().feed(bytes, 0, 0)).toThrow(TypeError);
	});
});
