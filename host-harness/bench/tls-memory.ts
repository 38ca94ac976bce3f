/*
 * host-harness bench tls-memory --target sim: what one TLS connection costs
 * the device's XS heaps, against a plain TCP connection measured the same
 * way in the same run (the reference).
 *
 * Per kind (plain, then TLS), on the simulator's debug build (bench/
 * memory.ts: readings after forced full collections through xsbug):
 *   1. boot with the TCP echo client pointed at a port nobody listens on
 *      (it retries every 1.5 s): "without a connection";
 *   2. the TCP echo peer starts there (TLS: behind a gate with a CA made
 *      for the run, lib/tls-certs.ts); once the device has greeted and
 *      echoed 1500 bytes, "one idle connection".
 * The connection's cost is the difference: socket, echo buffers, and for
 * TLS the session (keys, cipher state, the peer's certificate kept by the
 * engine). Board bytes: slots x 16 + chunk bytes (the simulator's chunks
 * are an upper bound of the board's, see memory.ts).
 *
 * Transients are not in it: during the handshake the engine holds the
 * server's chain, RSA/ECDHE arithmetic and a record buffer of up to the
 * record's size (16 KiB + header at most; the peer here sends small ones).
 * The heaps' sizes at the end of each run bound the peak: XS grows a heap
 * only when a collection cannot make room, so a handshake that needed more
 * than the heap had would have grown it.
 */

import { argumentsOr } from "../lib/command.js";
import { freeTcpPort } from "../lib/ports.js";
import { makeTestPki, type TestPki } from "../lib/tls-certs.js";
import { randomPayload } from "../oracle/tcp-echo.js";
import { TcpPeer } from "../peers/tcp-peer.js";
import { TlsGate } from "../peers/tls-gate.js";
import { boardSlotSize, delta, type HeapDelta, type HeapReading } from "./heap.js";
import { memoryDeviceConfig, startMemoryDevice } from "./memory-device.js";

export const tlsMemoryUsage = `usage: host-harness bench tls-memory --target sim [--json]

The XS heap cost of one TLS connection of the device's TCP echo client (Moddable's TLS
engine, TLS 1.2, RSA 2048 server certificate), next to a plain TCP connection measured
the same way in the same run, on the simulator's debug build. About a minute.

options:
  --target sim  the only target, and the default: the heap readings need the simulator's debug build
  --json        print the result as JSON instead of the table

examples:
  host-harness bench tls-memory --target sim
  host-harness bench tls-memory --target sim --json > tls-memory.json`;

export interface ConnectionCost {
	kind: "plain" | "tls";
	without: HeapReading;
	connected: HeapReading;
	cost: HeapDelta;
	/** slots x 16 + chunk bytes. */
	boardBytes: number;
	/** The heaps' sizes at the end of the run (chunk bytes, slots): what the machine grew to. */
	heaps: { chunk: number; slots: number };
}

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

async function measure(kind: "plain" | "tls", pki: TestPki, log: (line: string) => void): Promise<ConnectionCost> {
	const port = await freeTcpPort();
	const memory = await startMemoryDevice(
		await memoryDeviceConfig(1, {
			tcpServer: "false",
			wsServer: "false",
			tcpClient: "true",
			tcpClientHost: "127.0.0.1",
			tcpClientPort: String(port),
			tcpClientTls: kind === "tls" ? "true" : "false",
			tcpClientCa: pki.caConfig,
			tcpClientRetryDelay: "1500",
			tcpClientRetryMaxDelay: "1500",
		}),
	);
	let peer: TcpPeer | undefined;
	try {
		await memory.server.waitForLog(/tcp-client: Connection to .* failed/, 20_000);
		await sleep(300);
		const without = await memory.probe.read();
		log(`${kind}: without a connection: ${without.slots} slots, ${without.chunk} chunk bytes`);
		peer = await TcpPeer.start(port, "127.0.0.1", kind === "tls" ? new TlsGate(pki.server) : undefined);
		const session = await peer.session(0, 30_000);
		await session.greeting;
		const payload = randomPayload(1500);
		const back = await session.echo(payload, 20_000);
		if (!back.equals(payload)) throw new Error(`${kind}: the echo differs`);
		await sleep(300);
		const connected = await memory.probe.read();
		log(`${kind}: one idle connection: ${connected.slots} slots, ${connected.chunk} chunk bytes`);
		// The heaps' sizes: XS grows a heap only when a collection cannot make room, so
		// these bound what the run needed at its peak, the handshake included.
		const { values } = await memory.server.collectGarbage(memory.machine.tag, 20_000);
		const heaps = { chunk: values["Chunk available"] ?? 0, slots: (values["Slot available"] ?? 0) / memory.probe.slotSize };
		const cost = delta(connected, without);
		return { kind, without, connected, cost, boardBytes: cost.slots * boardSlotSize + cost.chunk, heaps };
	} finally {
		await peer?.close();
		await memory.stop();
	}
}

/** Options: --target sim (the only target: heap readings need the simulator's debug build), --json. */
export function parseTlsMemoryArgs(argv: string[]): { json: boolean } | "help" {
	let json = false;
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		if (arg === "tls-memory") continue;
		if (arg === "--help" || arg === "-h") return "help";
		if (arg === "--json") json = true;
		else if (arg === "--target" || arg === "-t") {
			if (argv[++i] !== "sim") throw new Error(`bench tls-memory runs on the simulator only (--target sim), not "${argv[i] ?? ""}"`);
		} else throw new Error(`unknown argument "${arg}"`);
	}
	return { json };
}

export async function runTlsMemoryBench(argv: string[]): Promise<number> {
	const options = argumentsOr(parseTlsMemoryArgs, argv, `${tlsMemoryUsage}\n`);
	if (typeof options === "number") return options;
	const json = options.json;
	const pki = makeTestPki();
	const log = json ? () => undefined : (line: string) => console.log(line);
	const plain = await measure("plain", pki, log);
	const tls = await measure("tls", pki, log);
	const extra = { slots: tls.cost.slots - plain.cost.slots, chunk: tls.cost.chunk - plain.cost.chunk };
	const result = { plain, tls, tlsOverPlain: { ...extra, boardBytes: extra.slots * boardSlotSize + extra.chunk }, ratio: tls.boardBytes / plain.boardBytes };
	if (json) console.log(JSON.stringify(result, null, 2));
	else {
		console.log("");
		console.log("| one idle connection of the TCP echo client | slots | chunk bytes | board bytes (slots x 16 + chunk) |");
		console.log("|---|---:|---:|---:|");
		for (const c of [plain, tls])
			console.log(`| ${c.kind === "tls" ? "TLS 1.2 (Moddable engine)" : "plain TCP (reference)"} | ${c.cost.slots} | ${c.cost.chunk} | ${c.boardBytes} |`);
		console.log(`| TLS beyond plain TCP | ${extra.slots} | ${extra.chunk} | ${result.tlsOverPlain.boardBytes} |`);
		console.log("");
		console.log("| heaps the machine grew to (handshake included) | slots | chunk bytes |");
		console.log("|---|---:|---:|");
		for (const c of [plain, tls]) console.log(`| ${c.kind === "tls" ? "TLS run" : "plain run"} | ${c.heaps.slots} | ${c.heaps.chunk} |`);
		console.log(`\nTLS connection / plain TCP connection: ${result.ratio.toFixed(1)}x (simulator debug build; provisional, one run)`);
	}
	return 0;
}
