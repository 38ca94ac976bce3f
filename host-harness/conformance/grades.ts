/*
 * Autobahn's grades for a conformance result, the rule behind each, the
 * cases graded INFORMATIONAL (where Autobahn records behaviour rather than
 * judging it), and how our case ids map to Autobahn|Testsuite's where they
 * differ. The report (html-report.ts), the text table and --json all use
 * these; docs/conformance.md quotes the mapping.
 */

export type Grade = "OK" | "NON-STRICT" | "INFORMATIONAL" | "FAILED";

/** The rule each grade stands for, as the report prints it. */
export const gradeRules: Record<Grade, string> = {
	OK: "every expectation met: exactly the messages and pongs expected, the expected Close code, TCP closed by the server, and, where the case has a fail-fast gate, the close within --fail-fast ms of the invalid byte",
	"NON-STRICT":
		"the server failed the connection with the right Close code but late: not within --fail-fast ms of the invalid byte (e.g. a 1007 only once the whole message had arrived). Autobahn grades this NON-STRICT, not FAILED; it fails the run only with --strict",
	INFORMATIONAL:
		"RFC 6455 leaves the answer to the server (close codes of 5000 and above; frames after a Close of a large message): the behaviour is recorded, never failed, unless the server broke a framing rule or could not serve a fresh client afterwards",
	FAILED:
		"anything else: a wrong or missing echo or pong, a wrong Close code or none, TCP left open, a framing rule broken, or a fresh client not served after the case",
};

/** Cases Autobahn grades INFORMATIONAL, with why. */
export const informational: Record<string, string> = {
	"7.1.6": "Autobahn 7.1.6: a large message, a Close, then a Ping: whether the echo and a Pong come before the server's Close is the server's choice",
	"7.9.11": "Autobahn 7.13.1: close code 5000 is outside the ranges RFC 6455 7.4.2 defines",
	"7.9.12": "Autobahn 7.13.2: close code 65535 is outside the ranges RFC 6455 7.4.2 defines",
};

/** Our ids against Autobahn|Testsuite's: [our ids, Autobahn's, note]. Rows not listed are ours only. */
export const autobahnMapping: ReadonlyArray<readonly [string, string, string]> = [
	["1.1.1–1.1.8, 1.2.1–1.2.8", "1.1.1–1.1.8, 1.2.1–1.2.8", "the same cases (payloads 0 … 65536 B, the last written in 997 B chops)"],
	["1.3–1.7", "—", "ours: non-minimal lengths, all-zero masks, split headers, pipelined messages, a 64-bit length with the top bit set"],
	["2.1–2.11", "2.1–2.11", "the same cases (2.11: pings 5 ms apart)"],
	["2.12–2.18", "—", "ours"],
	["3.1.1", "3.1", "text with RSV = 1 (RSV3): same numbering of the RSV value"],
	[
		"3.7.1, 3.7.2, 3.7.3",
		"3.2, 3.3, 3.4",
		"echo, then a frame with reserved bits, then a ping; in one write, frame by frame, byte by byte (ours always RSV2; Autobahn RSV 2, 3, 4)",
	],
	["3.2.5, 3.4.6, 3.6.7", "3.5, 3.6, 3.7", "binary RSV 5, ping RSV 6, close RSV 7"],
	["3.1–3.6 (others)", "—", "ours: every RSV combination on every frame type"],
	[
		"4.1.x–4.8.x",
		"4.1.1–4.2.5",
		"every reserved opcode (0x3–0x7, 0xB–0xF), arranged by shape (empty; with payload between messages; between fragments; byte by byte) rather than Autobahn's one shape per opcode",
	],
	["5.1–5.20", "5.1–5.20", "the same cases"],
	["5.21–5.32", "—", "ours"],
	["6.1–6.23", "6.1–6.23", "the same UTF-8 vectors, case for case"],
	["6.24, 6.25", "—", "ours: code points cut across fragments; fail-fast on a surrogate split across fragments"],
	["7.1.1–7.1.6, 7.3.1–7.3.6, 7.5.1, 7.7.1–7.7.13", "the same", "the same cases"],
	["7.9.1–7.9.5", "7.9.1–7.9.5", "invalid close codes 0, 999, 1004, 1005, 1006"],
	["7.9.6", "—", "ours: close code 1015"],
	["7.9.7–7.9.10", "7.9.6–7.9.9", "invalid close codes 1016, 1100, 2000, 2999"],
	["7.9.11, 7.9.12", "7.13.1, 7.13.2", "close codes 5000 and 65535: INFORMATIONAL"],
	["7.5.2, 7.5.3, 7.10.x", "—", "ours"],
	[
		"9.1–9.8",
		"9.1–9.8",
		"the same shapes at smaller volumes: sizes from --sizes (default 64 KiB–4 MiB, 64 KiB at --scale small), 250 round trips instead of 1000",
	],
	["9.9", "—", "ours"],
	["10.1.1", "10.1.1", "the same case"],
	["10.1.2, 10.2–10.4", "—", "ours"],
	[
		"12.x (opening handshake)",
		"—",
		"ours. Autobahn's 12.x and 13.x are permessage-deflate, which the device does not offer; Autobahn does not test the opening handshake",
	],
];
