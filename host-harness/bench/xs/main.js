/*
 * bench xs: the device's WebSocket and TCP code measured on the XS engine
 * itself, from memory (no sockets, no poll, no other process in the loop).
 * Built by `host-harness bench xs` with mcconfig -m -p lin and run by mcsim
 * under a private Xvfb; results are `BENCH {json}` trace lines, then
 * `BENCH-DONE`.
 *
 * Every workload is a function run(n) doing n messages. Each is timed (the
 * collector on, its cost included) and counted: allocations per message are
 * the live slots and chunk bytes added over k messages with the collector
 * switched off, after a forced collection (bench/heap). What a workload
 * allocates to stand in for the network (a read's buffer) is counted too,
 * and measured alone as the "read" row, so "beyond the read" is a subtraction.
 *
 * The "ws receive" and "ws send" sections are the headline: a message
 * through the server's WebSocket connection over a socket, as a real one
 * travels (ws-adapter.js). The other sections time the parts alone.
 * "baseline" rows are the same parts at another commit (bench xs
 * --baseline <ref>: host-harness/bench/xs.ts builds them from git).
 *
 * JavaScript, not TypeScript: this folder is an XS app, outside both the
 * device's and the host's tsconfig.
 *
 * Long because it is the one program of that app: every workload beside the
 * others, so that one run measures them all against the same reference.
 */

import TCP from "embedded:io/socket/tcp";
import SdkWebSocket from "embedded:network/websocket/client";
import * as baseline from "bench/baseline";
import * as heap from "bench/heap";
import { Utf8Validator as LastJsValidator } from "bench/js-validation";
import { checkMask } from "bench/mask-check";
import { checkUtf8 } from "bench/utf8-check";
import { startEchoServer } from "echo-adapter";
import Logical from "logical";
import config from "mc/config";
import TextDecoder from "text/decoder";
import Timer from "timer";
import { FrameWriter } from "websocket/frame-writer";
import { unmask } from "websocket/mask";
import { MessageReader } from "websocket/message-reader";
import { validate as nativeValidate } from "websocket/utf8";
import { Utf8Validator } from "websocket/validation";
import { startWebSocketServer } from "ws-adapter";

const { FrameWriter: BaselineWriter, MessageReader: BaselineReader, Utf8Validator: BaselineValidator } = baseline;
/** The baseline's commit, "" when the run has none. */
const baselineRef = baseline.ref;

const budgetNs = Number(config.benchMs ?? 300) * 1e6;
const fixedCount = Number(config.benchCount ?? 0);
const filter = String(config.benchOnly ?? "").replace(/_/g, " "); // "_" for a space: mcconfig takes one word
const SEGMENT = 1460; // a TCP segment's payload on Ethernet/WiFi

function emit(record) {
	trace(`BENCH ${JSON.stringify(record)}\n`);
}

/* ---------------------------------------------------------------- measure */

const ROUNDS = fixedCount ? 1 : Math.max(1, Number(config.benchRounds ?? 3));

/** Messages that take about budget / ROUNDS: doubled until a run is long enough to scale. */
function calibrate(run) {
	if (fixedCount) return fixedCount;
	const target = budgetNs / ROUNDS;
	let n = 1;
	for (;;) {
		const t0 = heap.now();
		run(n);
		const ns = heap.now() - t0;
		if (ns >= target / 8 || n >= 1 << 24) return Math.max(1, Math.ceil((n * target) / Math.max(ns, 1)));
		n *= ns < target / 100 ? 8 : 2;
	}
}

function allocations(run, bytes) {
	const k = fixedCount ? Math.min(fixedCount, 4) : bytes >= 16384 ? 8 : 64;
	run(1); // lazy state (first message) out of the count
	heap.collect();
	heap.enableCollector(false);
	const s0 = heap.slots(),
		c0 = heap.chunks();
	run(k);
	const s1 = heap.slots(),
		c1 = heap.chunks();
	heap.enableCollector(true);
	heap.collect();
	return { slots: (s1 - s0) / k, chunkBytes: (c1 - c0) / k };
}

/** Workloads by section and group: a group's implementations are timed in alternation, ROUNDS times, best round kept. */
const groups = new Map();
const cases = [];

/** A workload: `bytes` payload bytes per message. */
function add(section, group, impl, bytes, make, note) {
	const name = `${section} ${group} ${impl}`;
	if (filter && !name.includes(filter)) return;
	const key = `${section}\n${group}`;
	let entries = groups.get(key);
	if (!entries) {
		groups.set(key, (entries = []));
		cases.push(() => runGroup(section, group, entries));
	}
	entries.push({ impl, bytes, make, note });
}

function runGroup(section, group, entries) {
	const live = [];
	for (const entry of entries) {
		const record = { section, group, impl: entry.impl, bytes: entry.bytes };
		if (entry.note) record.note = entry.note;
		try {
			const run = entry.make();
			Object.assign(record, allocations(run, entry.bytes));
			record.n = calibrate(run);
			live.push({ run, record });
		} catch (e) {
			record.error = String(e?.message ?? e);
		}
		entry.record = record;
	}
	for (let round = 0; round < ROUNDS; round++)
		for (const { run, record } of live) {
			try {
				const t0 = heap.now();
				run(record.n);
				const ns = heap.now() - t0;
				if (record.ns === undefined || ns < record.ns) record.ns = ns;
			} catch (e) {
				record.error = String(e?.message ?? e);
			}
		}
	for (const entry of entries) emit(entry.record);
}

/* ------------------------------------------------------------------ data */

function binaryPayload(size) {
	const bytes = new Uint8Array(size);
	for (let i = 0; i < size; i++) bytes[i] = (i * 7 + 3) & 0xff;
	return bytes;
}

const sentence = '{"t":1733040000,"sensor":"greenhouse-3","temp":21.5,"rh":48,"ok":true} ';
function textPayload(size) {
	const bytes = new Uint8Array(size);
	for (let i = 0; i < size; i++) bytes[i] = sentence.charCodeAt(i % sentence.length);
	return bytes;
}

/** Mixed UTF-8: 1-, 2-, 3- and 4-byte sequences (é, €, 😀), for validation alone. */
function mixedPayload(size) {
	const unit = new Uint8Array(ArrayBuffer.fromString("Grüße, €5 — 温度 😀 ok. "));
	const bytes = new Uint8Array(size);
	let at = 0;
	while (at + unit.length <= size) {
		bytes.set(unit, at);
		at += unit.length;
	}
	bytes.fill(0x20, at);
	return bytes;
}

/**
 * A message on the wire as a client sends it (masked): one frame, or four
 * fragments. Returns the bytes and each payload's range and key (for the
 * native and per-byte references).
 */
function wireOf(payload, opcode, fragments) {
	const writer = new FrameWriter({ role: "client" });
	const frames = [],
		ranges = [];
	const size = payload.byteLength;
	const step = Math.ceil(size / fragments);
	let total = 0;
	for (let at = 0, index = 0; at < size; at += step, index++) {
		const piece = payload.subarray(at, Math.min(size, at + step));
		const fin = at + step >= size;
		const frame = new Uint8Array(writer.frame(index ? 0 : opcode, piece, fin));
		const header = frame.byteLength - piece.byteLength;
		ranges.push({ at: total + header, length: piece.byteLength, mask: frame.slice(header - 4, header) });
		frames.push(frame);
		total += frame.byteLength;
	}
	const wire = new Uint8Array(total);
	let at = 0;
	for (const frame of frames) {
		wire.set(frame, at);
		at += frame.byteLength;
	}
	return { wire: wire.buffer, ranges };
}

/** Read boundaries, flat (start, end, start, end...; no iterator per read in the loops): the whole wire at once, or TCP segments. */
function readsOf(length, segmented) {
	const reads = [];
	for (let at = 0; at < length; at += segmented ? SEGMENT : length) reads.push(at, Math.min(length, at + (segmented ? SEGMENT : length)));
	return reads;
}

/* --------------------------------------------------------------- receive */

class Sink {
	bytes = 0;
	messages = 0;
	onMessageStart() {}
	onMessageEnd() {
		this.messages++;
	}
	onProtocolError(code, reason) {
		throw new Error(`reader error ${code}: ${reason}`);
	}
	onCloseFrame() {}
	// the same events under the names the baseline's reader calls
	onError(code, reason) {
		this.onProtocolError(code, reason);
	}
	onClose() {}
}

class RangeSink extends Sink {
	onMessageRange(chunk, start, end) {
		this.bytes += end - start;
	}
}

class PieceSink extends Sink {
	onMessageData(piece) {
		this.bytes += piece.byteLength;
	}
}

class WholeSink extends Sink {
	onMessage(type, data) {
		this.bytes += data.byteLength;
		this.messages++;
	}
}

function readerRun(Reader, sink, streaming, wire, reads) {
	const reader = new Reader(sink, { role: "server", streaming, maxMessage: 1 << 20 });
	return n => {
		for (let i = 0; i < n; i++) for (let r = 0; r < reads.length; r += 2) reader.feed(wire.slice(reads[r], reads[r + 1]));
	};
}

/** The same frames through a memory socket: our reader fed by read(count), as websocket/connection does. */
function oursSocketRun(wire, reads) {
	const [a, b] = TCP.pair();
	const client = new TCP({ from: a });
	const sink = new RangeSink();
	const reader = new MessageReader(sink, { role: "server", streaming: true, maxMessage: 1 << 20 });
	const server = new TCP({
		from: b,
		onReadable(count) {
			reader.feed(this.read(count));
		},
	});
	const bytes = new Uint8Array(wire);
	return n => {
		for (let i = 0; i < n; i++)
			for (let r = 0; r < reads.length; r += 2) {
				client.write(bytes.subarray(reads[r], reads[r + 1]));
				server.deliver();
			}
	};
}

/** Moddable's ECMA-419 WebSocket client (examples/io/tcp/websocketclient), attached to a memory socket. */
function sdkRun(wire, reads) {
	const [a, b] = TCP.pair();
	const client = new TCP({ from: a });
	const state = { bytes: 0 };
	// attach: the SDK client's own way to run on an accepted socket (no DNS, no handshake).
	new SdkWebSocket({
		attach: { endpoint: b.endpoint, constructor: TCP },
		onReadable(count) {
			state.bytes += this.read(count).byteLength;
		},
		onControl() {},
		onError() {
			throw new Error("SDK client error");
		},
	});
	const server = b.endpoint.socket;
	const bytes = new Uint8Array(wire);
	return n => {
		for (let i = 0; i < n; i++)
			for (let r = 0; r < reads.length; r += 2) {
				client.write(bytes.subarray(reads[r], reads[r + 1]));
				server.deliver();
			}
	};
}

/** Moddable's client sending: write(data) as a binary (or text) message on an attached (server-side, unmasked) memory socket. */
function sdkSendRun(data, binary = true) {
	const [a, b] = TCP.pair();
	const peer = new TCP({ from: a });
	const sdk = new SdkWebSocket({ attach: { endpoint: b.endpoint, constructor: TCP }, onError() {} });
	const socket = b.endpoint.socket;
	const options = { binary }; // one object, not one per message: the reference at its cheapest
	return n => {
		for (let i = 0; i < n; i++) {
			socket.refill();
			sdk.write(data, options);
			peer.discard();
		}
	};
}

function ceilingRun(wire, reads, ranges) {
	return n => {
		for (let i = 0; i < n; i++) {
			const copy = wire.slice(0);
			for (let r = 0; r < ranges.length; r++) Logical.xor(new Uint8Array(copy, ranges[r].at, ranges[r].length), ranges[r].mask);
		}
	};
}

function floorRun(wire, reads, ranges) {
	return n => {
		for (let i = 0; i < n; i++) {
			const copy = new Uint8Array(wire.slice(0));
			for (let k = 0; k < ranges.length; k++) {
				const r = ranges[k],
					mask = r.mask,
					at = r.at,
					length = r.length;
				for (let j = 0; j < length; j++) copy[at + j] ^= mask[j & 3];
			}
		}
	};
}

function readOnlyRun(wire, reads) {
	return n => {
		for (let i = 0; i < n; i++) for (let r = 0; r < reads.length; r += 2) wire.slice(reads[r], reads[r + 1]);
	};
}

for (const size of [64, 1024, 65536]) {
	for (const kind of ["binary", "text"]) {
		const payload = kind === "text" ? textPayload(size) : binaryPayload(size);
		const opcode = kind === "text" ? 1 : 2;
		const shapes = [
			["one frame", 1, false],
			["4 fragments", 4, false],
		];
		if (size > SEGMENT) shapes.push(["one frame, 1460 B reads", 1, true]);
		for (const [shape, fragments, segmented] of shapes) {
			const { wire, ranges } = wireOf(payload, opcode, fragments);
			const reads = readsOf(wire.byteLength, segmented);
			const group = `${size} ${kind}, ${shape}`;
			add("receive", group, "read", size, () => readOnlyRun(wire, reads), "the stand-in for socket.read(count): one slice per read");
			add("receive", group, "ours", size, () => readerRun(MessageReader, new RangeSink(), true, wire, reads), "MessageReader streaming, onMessageRange");
			add("receive", group, "ours whole", size, () => readerRun(MessageReader, new WholeSink(), false, wire, reads), "MessageReader whole mode, onMessage");
			if (baselineRef) {
				add(
					"receive",
					group,
					"baseline",
					size,
					() => readerRun(BaselineReader, new PieceSink(), true, wire, reads),
					`MessageReader at ${baselineRef}, streaming`,
				);
				add(
					"receive",
					group,
					"baseline whole",
					size,
					() => readerRun(BaselineReader, new WholeSink(), false, wire, reads),
					`MessageReader at ${baselineRef}, whole mode`,
				);
			}
			add("receive", group, "ours via socket", size, () => oursSocketRun(wire, reads), "memory socket, read(count), MessageReader streaming");
			add(
				"receive",
				group,
				"moddable client",
				size,
				() => sdkRun(wire, reads),
				kind === "text" ? "memory socket, read(count); does not validate UTF-8" : "memory socket, read(count)",
			);
			add("receive", group, "ceiling", size, () => ceilingRun(wire, reads, ranges), "one copy + native Logical.xor over the payload");
			add("receive", group, "floor", size, () => floorRun(wire, reads, ranges), "one copy + per-byte JS unmask loop");
		}
	}
}

/* ------------------------------------------ a WebSocket connection, end to end */

// The path a real message takes: a browser's masked frame into the server's
// socket, the connection's reads and reader, the route's handler (receive);
// connection.sendBinary(), the queue, framing and writes within the socket's
// budget, the peer reading it (send). One connection per workload, kept open.
const wsMaxMessage = 65536 + 1024;
for (const size of [64, 1024, 65536])
	for (const kind of ["binary", "text"]) {
		const text = kind === "text";
		const data = text ? textPayload(size) : binaryPayload(size);
		const group = `${size} ${kind}`;
		const { wire } = wireOf(data, text ? 1 : 2, 1);
		const reads = readsOf(wire.byteLength, size > SEGMENT);
		const bytes = new Uint8Array(wire);
		add(
			"ws receive",
			group,
			"ours",
			size,
			() => {
				const ws = startWebSocketServer(wsMaxMessage);
				const { client, serverSocket } = ws.connect();
				return n => {
					const before = ws.handler.messages;
					for (let i = 0; i < n; i++)
						for (let r = 0; r < reads.length; r += 2) {
							client.write(bytes.subarray(reads[r], reads[r + 1]));
							serverSocket.deliver();
						}
					if (ws.handler.messages - before !== n) throw new Error(`${ws.handler.messages - before} of ${n} messages delivered`);
				};
			},
			`websocket/server's connection over a memory socket, whole messages to onMessage${text ? " (UTF-8 validated)" : ""}${size > SEGMENT ? ", 1460 B segments" : ""}`,
		);
		add(
			"ws receive",
			group,
			"moddable client",
			size,
			() => sdkRun(wire, reads),
			`Moddable's ECMA-419 client, attached to a memory socket, read(count)${text ? "; does not validate UTF-8" : ""}`,
		);
		add(
			"ws send",
			group,
			"ours",
			size,
			() => {
				const ws = startWebSocketServer(wsMaxMessage);
				const { client, serverSocket, connection } = ws.connect();
				const type = text ? 1 : 2;
				return n => {
					for (let i = 0; i < n; i++) {
						if (!(text ? connection.sendMessage(type, data) : connection.sendBinary(data))) throw new Error("send refused");
						serverSocket.refill(); // the budget back, as after ACKs: the queue drains
						client.discard();
					}
				};
			},
			`connection.${text ? "sendMessage(TEXT, bytes)" : "sendBinary()"} on websocket/server's connection: one frame, written within the budget`,
		);
		add(
			"ws send",
			group,
			"moddable client",
			size,
			() => sdkSendRun(data.buffer, !text),
			`write(data${text ? ", {binary: false}" : ""}) on Moddable's client, attached (server side, unmasked)`,
		);
	}

/* -------------------------------------------------------------- validate */

for (const size of [64, 1024, 65536]) {
	for (const [kind, make] of [
		["ascii", textPayload],
		["mixed", mixedPayload],
	]) {
		const bytes = make(size);
		const group = `${size} ${kind}`;
		add(
			"validate",
			group,
			"ours",
			size,
			() => {
				const validator = new Utf8Validator();
				return n => {
					for (let i = 0; i < n; i++) {
						validator.reset();
						if (!validator.feed(bytes, 0, size) || !validator.end()) throw new Error("invalid");
					}
				};
			},
			"Utf8Validator.feed(bytes, start, end): the loop in C (websocket/utf8)",
		);
		add(
			"validate",
			group,
			"last JS",
			size,
			() => {
				const validator = new LastJsValidator();
				return n => {
					for (let i = 0; i < n; i++) {
						validator.reset();
						if (!validator.feed(bytes, 0, size) || !validator.end()) throw new Error("invalid");
					}
				};
			},
			"the last JS Utf8Validator (ASCII a word at a time; bench/xs/js-validation.ts)",
		);
		if (baselineRef)
			add(
				"validate",
				group,
				"baseline",
				size,
				() => {
					const validator = new BaselineValidator();
					return n => {
						for (let i = 0; i < n; i++) {
							validator.reset();
							if (!validator.feed(bytes) || !validator.end()) throw new Error("invalid");
						}
					};
				},
				`Utf8Validator at ${baselineRef}`,
			);
		add(
			"validate",
			group,
			"native alone",
			size,
			() => {
				return n => {
					for (let i = 0; i < n; i++) if (nativeValidate(bytes, 0, size, 0) !== 0) throw new Error("invalid");
				};
			},
			"websocket/utf8's validate() called directly: the C loop without the class",
		);
		add(
			"validate",
			group,
			"TextDecoder fatal",
			size,
			() => {
				const decoder = new TextDecoder("utf-8", { fatal: true });
				return n => {
					for (let i = 0; i < n; i++) decoder.decode(bytes);
				};
			},
			"native, but builds the string (a chunk per call) and checks a split sequence only once it is whole",
		);
		add(
			"validate",
			group,
			"ceiling",
			size,
			() => {
				const mask = Uint8Array.of(1, 2, 3, 4);
				return n => {
					for (let i = 0; i < n; i++) Logical.xor(bytes.buffer.slice(0), mask);
				};
			},
			"one copy + native Logical.xor",
		);
	}
}

/* ------------------------------------------------------------------ send */

function sinkPair() {
	const [a, b] = TCP.pair();
	const socket = new TCP({ from: a });
	const peer = new TCP({ from: b });
	return { socket, peer };
}

for (const size of [64, 1024, 65536]) {
	const data = binaryPayload(size).buffer;
	const group = `${size} binary`;
	add(
		"send server",
		group,
		"ours header",
		size,
		() => {
			const { socket, peer } = sinkPair();
			const writer = new FrameWriter({ role: "server" });
			return n => {
				for (let i = 0; i < n; i++) {
					socket.write(writer.header(2, true, size));
					socket.write(writer.payload(data));
					peer.discard();
				}
			};
		},
		"FrameWriter.header (a fresh header, may be queued) + payload()",
	);
	add("send server", group, "moddable client", size, () => sdkSendRun(data), "write(data) on an attached (server-side, unmasked) socket");
	add(
		"send server",
		group,
		"ceiling",
		size,
		() => {
			const { socket, peer } = sinkPair();
			return n => {
				for (let i = 0; i < n; i++) {
					socket.write(data);
					peer.discard();
				}
			};
		},
		"the payload written alone, no framing",
	);

	add(
		"send client",
		group,
		"ours frame",
		size,
		() => {
			const { socket, peer } = sinkPair();
			const writer = new FrameWriter({ role: "client" });
			return n => {
				for (let i = 0; i < n; i++) {
					socket.write(writer.frame(2, data));
					peer.discard();
				}
			};
		},
		"FrameWriter.frame (one buffer, masked)",
	);
	if (baselineRef)
		add(
			"send client",
			group,
			"baseline frame",
			size,
			() => {
				const { socket, peer } = sinkPair();
				const writer = new BaselineWriter({ role: "client" });
				return n => {
					for (let i = 0; i < n; i++) {
						socket.write(writer.frame(2, data));
						peer.discard();
					}
				};
			},
			`FrameWriter at ${baselineRef}`,
		);
	add(
		"send client",
		group,
		"ceiling",
		size,
		() => {
			const { socket, peer } = sinkPair();
			const mask = Uint8Array.of(1, 2, 3, 4);
			return n => {
				for (let i = 0; i < n; i++) {
					const copy = data.slice(0);
					Logical.xor(copy, mask);
					socket.write(copy);
					peer.discard();
				}
			};
		},
		"one copy + native Logical.xor, written",
	);
}

/* -------------------------------------------------------------- tcp echo */

const tcpChunk = Number(config.benchTcpChunk ?? 1536);
for (const size of [64, 1024, 65536]) {
	const data = binaryPayload(size);
	const group = `${size} B`;
	add(
		"tcp echo",
		group,
		"ours",
		size,
		() => {
			const echo = startEchoServer(tcpChunk);
			const { client, serverSocket } = echo.connect();
			const back = new Uint8Array(size);
			return n => {
				for (let i = 0; i < n; i++) {
					client.write(data);
					serverSocket.deliver();
					serverSocket.refill();
					serverSocket.deliver(); // what a short budget held back
					if (client.waiting !== size) throw new Error("echo short");
					client.read(back);
				}
			};
		},
		`app/tcp-echo-server on the TCP library (tcpChunk ${tcpChunk}) over a memory pair`,
	);
	add(
		"tcp echo",
		group,
		"ceiling",
		size,
		() => {
			const [a, b] = TCP.pair();
			const client = new TCP({ from: a });
			const kept = new Uint8Array(tcpChunk);
			const keptBuffer = kept.buffer;
			const server = new TCP({
				from: b,
				// The cheapest loop the platforms take: they refuse a buffer longer than what waits
				// (lin and lwip tcp.c: "invalid"), so a read shorter than the kept buffer reads into a
				// view of it, made with its offset and length (cheaper than subarray() on XS).
				onReadable(count) {
					while (count) {
						const n = count < tcpChunk ? count : tcpChunk;
						const view = n === tcpChunk ? kept : new Uint8Array(keptBuffer, 0, n);
						this.read(view);
						this.write(view);
						count -= n;
					}
				},
			});
			const back = new Uint8Array(size);
			return n => {
				for (let i = 0; i < n; i++) {
					client.write(data);
					server.deliver();
					server.refill(); // the same platform calls as "ours" gets (it ignores the budget: no onWritable)
					server.deliver();
					if (client.waiting !== size) throw new Error("echo short");
					client.read(back);
				}
			};
		},
		`read(buffer) into a kept ${tcpChunk}-byte buffer (a view of it of the length waiting), write the same; the same socket calls as ours (budget back, a second look)`,
	);
}

/* ----------------------------------------------------------------- check */

// websocket/utf8 (C) behind Utf8Validator against the last JS validator, feed
// by feed, and validate()'s refusals (bench/xs/utf8-check.ts; the unit tests
// run the same check on the Node host's twin). Not timed.
if (!filter || "check utf8 ours".includes(filter))
	cases.push(() => {
		const record = { section: "check", group: "UTF-8: Utf8Validator (websocket/utf8.c) vs the last JS validator", impl: "ours" };
		try {
			const t0 = heap.now();
			const { checked, mismatches } = checkUtf8(nativeValidate, new Utf8Validator(), new LastJsValidator(), buffer => buffer.transfer());
			record.count = checked;
			record.ms = Math.round((heap.now() - t0) / 1e6);
			if (mismatches.length) record.error = `${mismatches.length} mismatches: ${mismatches.join("; ")}`;
		} catch (e) {
			record.error = String(e?.message ?? e);
		}
		emit(record);
	});

// websocket/mask (C) against a byte-at-a-time reference at every alignment
// (bench/xs/mask-check.ts; the unit tests run it on the Node host's twin). Not timed.
if (!filter || "check mask ours".includes(filter))
	cases.push(() => {
		const record = { section: "check", group: "masking: unmask (websocket/mask.c) vs a byte-at-a-time reference", impl: "ours" };
		try {
			const t0 = heap.now();
			const { checked, mismatches } = checkMask(unmask);
			record.count = checked;
			record.ms = Math.round((heap.now() - t0) / 1e6);
			if (mismatches.length) record.error = `${mismatches.length} mismatches: ${mismatches.join("; ")}`;
		} catch (e) {
			record.error = String(e?.message ?? e);
		}
		emit(record);
	});

/* ---------------------------------------------------------------- memory */

function live(make, count) {
	const held = [];
	heap.collect();
	const s0 = heap.slots(),
		c0 = heap.chunks();
	for (let i = 0; i < count; i++) held.push(make(i));
	heap.collect();
	const s1 = heap.slots(),
		c1 = heap.chunks();
	held.length = 0;
	return { slots: (s1 - s0) / count, chunkBytes: (c1 - c0) / count };
}

function addMemory(group, impl, make, count, note) {
	if (filter && !`memory ${group} ${impl}`.includes(filter) && !"memory".includes(filter)) return;
	cases.push(() => {
		let record;
		try {
			record = { section: "memory", group, impl, count, ...live(make, count) };
		} catch (e) {
			record = { section: "memory", group, impl, error: String(e?.message ?? e) };
		}
		if (note) record.note = note;
		emit(record);
	});
}

addMemory(
	"WebSocket protocol state per connection",
	"ours",
	() => ({ reader: new MessageReader(new RangeSink(), { role: "server", streaming: true }), writer: new FrameWriter({ role: "server" }) }),
	32,
	"MessageReader (streaming) + FrameWriter; the connection object and socket are websocket/connection's",
);
if (baselineRef)
	addMemory(
		"WebSocket protocol state per connection",
		"baseline",
		() => ({ reader: new BaselineReader(new PieceSink(), { role: "server", streaming: true }), writer: new BaselineWriter({ role: "server" }) }),
		32,
		`at ${baselineRef}`,
	);
{
	const half = wireOf(binaryPayload(65536), 2, 1).wire;
	const reads = readsOf(half.byteLength >> 1, true);
	const inflight = (Reader, Handler, streaming) => () => {
		const reader = new Reader(new Handler(), { role: "server", streaming, maxMessage: 1 << 20 });
		for (let r = 0; r < reads.length; r += 2) reader.feed(half.slice(reads[r], reads[r + 1]));
		return reader;
	};
	addMemory(
		"in-flight 64 KiB message (half received)",
		"ours streaming",
		inflight(MessageReader, RangeSink, true),
		4,
		"reader state alone: pieces are delivered, not held",
	);
	addMemory(
		"in-flight 64 KiB message (half received)",
		"ours whole",
		inflight(MessageReader, WholeSink, false),
		4,
		"the assembly buffer, sized from the frame's declared length",
	);
	if (baselineRef) {
		addMemory("in-flight 64 KiB message (half received)", "baseline streaming", inflight(BaselineReader, PieceSink, true), 4, `at ${baselineRef}`);
		addMemory("in-flight 64 KiB message (half received)", "baseline whole", inflight(BaselineReader, WholeSink, false), 4, `at ${baselineRef}`);
	}
}
{
	let echo;
	addMemory(
		"idle TCP echo connection",
		"memory socket pair alone",
		() => TCP.pair().map(from => new TCP({ from })),
		8,
		"the double's own cost, subtracted below",
	);
	addMemory(
		"idle TCP echo connection",
		"ours incl. memory pair",
		() => {
			echo ??= startEchoServer(tcpChunk, 64);
			return echo.connect();
		},
		8,
		`EchoServer connection + EchoStream (tcpChunk ${tcpChunk}) + the memory pair`,
	);
}

/* ------------------------------------------------------------------- run */

emit({ section: "env", slotSize: heap.slotSize(), budgetMs: budgetNs / 1e6, count: fixedCount, rounds: ROUNDS, groups: cases.length, tcpChunk });
let next = 0;
function step() {
	if (next < cases.length) {
		cases[next++]();
		Timer.set(step, 0);
	} else trace("BENCH-DONE\n");
}
Timer.set(step, 10);
