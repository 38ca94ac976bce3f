/*
 * 7 Close Handling (RFC 6455 5.5.1, 7.1, 7.4): a Close is answered with a
 * Close ("typically echoing the status code it received") and then the
 * server closes TCP (7.1.1); nothing after a Close is processed. The body
 * is empty, or a 2-byte code and a UTF-8 reason, 125 bytes at most (5.5):
 * a 1-byte body or a code that may not be sent (7.4.1: 1004-1006, 1015;
 * 7.4.2: 0-999, 1016-2999, 5000+) fails with 1002, a reason that is not
 * UTF-8 with 1007 (8.1).
 */
import { ascii, binary, type Case, pattern, type SuiteOptions, send, sendClose, text } from "../case.js";
import { closeBody, frame, Op } from "../frames.js";
import { binaryFrame, collect, cont, fails, INVALID_PAYLOAD, PROTOCOL_ERROR, ping, textFrame } from "./common.js";

export const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
export const INVALID_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];

export function closeCases(options: SuiteOptions): Case[] {
	const { cases, add } = collect();
	const close = (code?: number, reason: string | Buffer = "") => frame(Op.CLOSE, closeBody(code, reason));

	add("7.1.1", "text, then close 1000: echo, then close 1000", [send(textFrame("Hello World!")), sendClose(1000)], {
		messages: [text("Hello World!")],
		close: 1000,
	});
	add("7.1.2", "two closes in one write: one answer", [{ send: [close(1000), close(1000)], closes: true }], { close: 1000 });
	add("7.1.3", "close, then ping: no pong", [{ send: [close(1000), ping("too late")], closes: true }], { close: 1000 });
	add("7.1.4", "close, then text: no echo", [{ send: [close(1000), textFrame("too late")], closes: true }], { close: 1000 });
	add("7.1.5", "text fragment, close, continuation: no echo", [{ send: [textFrame("frag", { fin: false }), close(1000), cont("ment")], closes: true }], {
		close: 1000,
	});
	const big = pattern(Math.min(options.scale === "small" ? 16384 : 262144, options.maxMessage ?? Infinity));
	add("7.1.6", `binary ${big.length} B, close, ping: echo, close, no pong`, [{ send: [binaryFrame(big), close(1000), ping("too late")], closes: true }], {
		messages: [binary(big)],
		close: 1000,
	});

	// 7.3: Close bodies.
	add("7.3.1", "close without a body: answered with 1000 or an empty close", [sendClose()], { close: [1000, null] });
	add("7.3.2", "close with a 1-byte body", [send(frame(Op.CLOSE, Buffer.from([0x03])))], fails(PROTOCOL_ERROR));
	add("7.3.3", "close 1000 without a reason", [sendClose(1000)], { close: 1000 });
	add("7.3.4", "close 1000 with a reason", [sendClose(1000, "Hello World!")], { close: 1000 });
	add("7.3.5", "close 1000 with a 123 B reason (125 B body, the maximum)", [sendClose(1000, ascii(123))], { close: 1000 });
	add("7.3.6", "close 1000 with a 124 B reason (126 B body, over 125)", [send(close(1000, ascii(124)))], fails(PROTOCOL_ERROR));

	// 7.5: the reason MUST be UTF-8.
	add("7.5.1", "close reason with a surrogate", [send(close(1000, Buffer.from("cebae1bdb9cf83cebcceb5eda080656469746564", "hex")))], fails(INVALID_PAYLOAD));
	add("7.5.2", "close reason ending inside a code point", [send(close(1000, Buffer.from("616263e282", "hex")))], fails(INVALID_PAYLOAD));
	add("7.5.3", "close reason with an overlong '/'", [send(close(1000, Buffer.from("c0af", "hex")))], fails(INVALID_PAYLOAD));

	// 7.7: codes an endpoint may send are echoed back.
	VALID_CODES.forEach((code, i) => add(`7.7.${i + 1}`, `close with valid code ${code}`, [sendClose(code)], { close: code }));
	// 7.9: codes that may not appear on the wire.
	INVALID_CODES.forEach((code, i) => add(`7.9.${i + 1}`, `close with invalid code ${code}`, [send(close(code))], fails(PROTOCOL_ERROR)));

	add("7.10.1", "close 1000 with a 123 B multi-byte reason (41 × €)", [sendClose(1000, "€".repeat(41))], { close: 1000 });
	add("7.10.2", "close 1000, written byte by byte", [{ send: close(1000, "bye"), chunk: 1, closes: true }], { close: 1000 });
	add("7.10.3", "close 1000 masked with the all-zero key", [{ send: frame(Op.CLOSE, closeBody(1000), { mask: new Uint8Array(4) }), closes: true }], {
		close: 1000,
	});
	add("7.10.4", "close 1000 with a reason holding a NUL (valid UTF-8)", [sendClose(1000, "a\u0000b")], { close: 1000 });
	add(
		"7.10.5",
		"close, then 100 binary frames of 1 KiB in the same write: ignored",
		[{ send: [close(1000), ...Array.from({ length: 100 }, () => binaryFrame(pattern(1024)))], closes: true }],
		{ close: 1000 },
	);
	add("7.10.6", "close 1001 going away", [sendClose(1001, "going away")], { close: 1001 });
	return cases;
}
