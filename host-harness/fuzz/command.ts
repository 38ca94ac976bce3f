/*
 * host-harness fuzz (--target node|sim | --device <ip> [--config k=v …] | --url ws://… --tcp h:p --udp h:p)
 *                   [--seed N] [--cases N] [--only ws,handshake,tcp,udp] [--case N …] [--json]
 *
 * Seeded fuzzing of a device's servers, judged by the reference oracle.
 * The seed is printed first, so any failure replays; exits 0 only when
 * every case matched and every health check passed (1 otherwise, 2 on bad
 * usage).
 */

import { boardEndpoints, type Endpoint, type Endpoints, type RunningDevice, startDevice } from "../device/targets.js";
import { checkedConfig } from "../lib/arguments.js";
import { argumentsOr, registerCommand } from "../lib/command.js";
import { boardAddress } from "../lib/mdns.js";
import { freeServicePorts } from "../lib/ports.js";
import { type CaseKind, caseKinds } from "./case.js";
import { appHttpRoutes, type HttpRouteTable } from "./http-oracle.js";
import { randomSeed } from "./prng.js";
import { type FuzzOptions, formatMismatch, runFuzz } from "./runner.js";

const usage = `usage: host-harness fuzz (--target node|sim | --device <ip> | --url ws://… [--tcp host:port] [--udp host:port]) [options]

Seeded fuzzing of the device's servers: mutated WebSocket traffic after a good
handshake, mutated upgrade requests, raw TCP and UDP echo payloads. A reference
oracle says what the device must answer to each case; every mismatch is listed
with the seed and case number that replay it. Every --health-every cases a
fresh client must still be served. Exits 0 only if every case matched.

options:
  --target node|sim    boot a device on this PC (handshake timeout 500 ms, 8 WebSocket
                       and 4 TCP clients, no heartbeat) and fuzz it
  --device <ip>        a board
  --config k=v         with --device: a config value it was flashed with (repeatable)
  --url ws://…         a WebSocket echo server
  --tcp host:port      a TCP echo server (with --url, or alone)
  --udp host:port      a UDP echo server (with --url, or alone)
  --seed N             replay a run (default: random; always printed first)
  --cases N            cases to run (default 1000)
  --case N[,N…]        run only these case numbers of the seed's run (replay one failure)
  --only LIST          ws,handshake,tcp,udp (default: all the endpoints allow)
  --concurrency N|ws=N,tcp=N,udp=N
                       cases at once per service (default ws 3, tcp 2, udp 4; --target:
                       ws 6, tcp 4); keep within the device's client limits (wsMaxClients,
                       tcpMaxClients + tcpBacklog): more is refused by design
  --scale full|small   small: payloads up to 4 KiB (default small for sim, else full)
  --timeout MS         budget for each wait within a case (default 5000, sim 15000)
  --handshake-timeout MS  the device's wsHandshakeTimeout (heads that never complete)
  --heartbeat          the device pings its clients on its own (default on for --device)
  --health-every N     fresh-client check every N cases (default 250)
  --max-delay MS       longest pause between two writes of a case (default 3, sim 25:
                       the simulator reads its sockets every 20 ms)
  --json               the report as JSON

examples:
  host-harness fuzz --target node --cases 5000
  host-harness fuzz --target node --seed 3141592653 --case 812
  host-harness fuzz --target sim --cases 300 --only ws,handshake
  host-harness fuzz --url ws://127.0.0.1:8081/ws --tcp 127.0.0.1:8080 --udp 127.0.0.1:9000 --handshake-timeout 5000
  host-harness fuzz --device 192.168.1.50 --config wsHandshakeTimeout=5000 --json > fuzz.json
`;

interface Args {
	target?: "node" | "sim";
	device?: string;
	config: string[];
	url?: string;
	tcp?: Endpoint;
	udp?: Endpoint;
	seed: number;
	cases: number;
	indices?: number[];
	only?: CaseKind[];
	concurrency?: number | Partial<Record<"ws" | "tcp" | "udp", number>>;
	scale?: "full" | "small";
	timeoutMs?: number;
	handshakeTimeoutMs?: number;
	heartbeat: boolean;
	healthEvery?: number;
	maxDelayMs?: number;
	json: boolean;
}

function number(name: string, value: string | undefined): number {
	const n = Number(value);
	if (value === undefined || !/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new Error(`${name} needs a whole number, not "${value ?? ""}"`);
	return n;
}

/** "4" (every service) or "ws=6,tcp=4,udp=4". */
function concurrencyOf(value: string | undefined): number | Partial<Record<"ws" | "tcp" | "udp", number>> {
	if (/^\d+$/.test(value ?? "")) return Math.max(1, Number(value));
	const out: Partial<Record<"ws" | "tcp" | "udp", number>> = {};
	for (const item of (value ?? "").split(",")) {
		const match = /^(ws|tcp|udp)=(\d+)$/.exec(item.trim());
		if (!match) throw new Error(`--concurrency takes N or ws=N,tcp=N,udp=N, not "${value ?? ""}"`);
		out[match[1] as "ws" | "tcp" | "udp"] = Math.max(1, Number(match[2]));
	}
	return out;
}

function endpoint(name: string, value: string | undefined): Endpoint {
	const match = /^(.+):(\d+)$/.exec(value ?? "");
	if (!match) throw new Error(`${name} needs host:port, not "${value ?? ""}"`);
	return { host: match[1], port: Number(match[2]) };
}

export function parseArgs(argv: string[]): Args | "help" {
	const args: Args = { config: [], seed: randomSeed(), cases: 1000, heartbeat: false, json: false };
	for (let i = 0; i < argv.length; i++) {
		const [flag, inline] =
			argv[i].startsWith("--") && argv[i].includes("=")
				? [argv[i].slice(0, argv[i].indexOf("=")), argv[i].slice(argv[i].indexOf("=") + 1)]
				: [argv[i], undefined];
		const value = () => inline ?? argv[++i];
		switch (flag) {
			case "--help":
			case "-h":
				return "help";
			case "--target": {
				const target = value();
				if (target !== "node" && target !== "sim") throw new Error(`--target must be node or sim, not "${target ?? ""}"`);
				args.target = target;
				break;
			}
			case "--device":
				args.device = value();
				break;
			case "--config":
				args.config.push(value() ?? "");
				break;
			case "--url":
				args.url = value();
				break;
			case "--tcp":
				args.tcp = endpoint(flag, value());
				break;
			case "--udp":
				args.udp = endpoint(flag, value());
				break;
			case "--seed":
				args.seed = number(flag, value());
				break;
			case "--cases":
				args.cases = number(flag, value());
				break;
			case "--case":
				args.indices = [...(args.indices ?? []), ...(value() ?? "").split(",").map(v => number(flag, v.trim()))];
				break;
			case "--only": {
				const kinds = (value() ?? "")
					.split(",")
					.map(s => s.trim())
					.filter(Boolean);
				const bad = kinds.find(k => !caseKinds.includes(k as CaseKind));
				if (bad || !kinds.length) throw new Error(`--only takes ${caseKinds.join(",")}, not "${bad ?? ""}"`);
				args.only = kinds as CaseKind[];
				break;
			}
			case "--concurrency":
				args.concurrency = concurrencyOf(value());
				break;
			case "--scale": {
				const scale = value();
				if (scale !== "full" && scale !== "small") throw new Error(`--scale must be full or small, not "${scale ?? ""}"`);
				args.scale = scale;
				break;
			}
			case "--timeout":
				args.timeoutMs = number(flag, value());
				break;
			case "--handshake-timeout":
				args.handshakeTimeoutMs = number(flag, value());
				break;
			case "--heartbeat":
				args.heartbeat = true;
				break;
			case "--health-every":
				args.healthEvery = number(flag, value());
				break;
			case "--max-delay":
				args.maxDelayMs = number(flag, value());
				break;
			case "--json":
				args.json = true;
				break;
			default:
				throw new Error(`unknown argument "${argv[i]}"`);
		}
	}
	const ways = [args.target, args.device, args.url ?? args.tcp ?? args.udp].filter(Boolean).length;
	if (ways !== 1) throw new Error("give exactly one of --target, --device, or --url/--tcp/--udp");
	if (args.url && !/^ws:\/\/[^/]+/.test(args.url)) throw new Error(`--url must be ws://host:port/path, not "${args.url}"`);
	return args;
}

/**
 * What a device booted for fuzzing is given (here and in tests/device/fuzz.test.ts): room for the
 * fuzzer's concurrency, a short handshake timeout (every head that never completes costs it), and
 * no heartbeat (its pings would be extra frames in a case).
 */
/** The device a run starts: short handshake timeout, room for concurrent cases, no heartbeat, and the routes that take a body (httpUpload). */
export const FUZZ_CONFIG: Readonly<Record<string, string>> = {
	wsHandshakeTimeout: "500",
	wsMaxClients: "8",
	tcpMaxClients: "4",
	wsHeartbeat: "0",
	httpUpload: "true",
};

/** FUZZ_CONFIG with free loopback ports. */
export async function fuzzDeviceConfig(): Promise<Record<string, string>> {
	return { ...(await freeServicePorts()), ...FUZZ_CONFIG };
}

registerCommand("fuzz", {
	summary: "seeded fuzzing of the device's servers, judged by a reference oracle",
	usage,
	parse: parseArgs,
	async run(argv) {
		const args = argumentsOr(parseArgs, argv, usage);
		if (typeof args === "number") return args;
		// First, always: the seed that replays this run.
		(args.json ? process.stderr : process.stdout).write(`fuzz: seed ${args.seed}\n`);
		let device: RunningDevice | undefined;
		let endpoints: Endpoints;
		let handshakeTimeoutMs = args.handshakeTimeoutMs;
		let heartbeat = args.heartbeat;
		let httpRoutes: HttpRouteTable | undefined;
		if (args.target) {
			const config = await fuzzDeviceConfig();
			device = await startDevice({ target: args.target, config });
			endpoints = device.endpoints;
			handshakeTimeoutMs ??= Number(config.wsHandshakeTimeout);
			httpRoutes = appHttpRoutes(config);
		} else if (args.device) {
			const config = checkedConfig(args.config, "esp32");
			endpoints = boardEndpoints(await boardAddress(args.device), config);
			handshakeTimeoutMs ??= Number(config.wsHandshakeTimeout ?? 5000);
			heartbeat ||= config.wsHeartbeat !== "0";
			httpRoutes = appHttpRoutes(config);
		} else endpoints = { target: "board", ws: args.url, tcp: args.tcp, udp: args.udp };
		const sim = args.target === "sim";
		const tty = process.stderr.isTTY && !args.json;
		try {
			const options: FuzzOptions = {
				endpoints,
				seed: args.seed,
				cases: args.cases,
				indices: args.indices,
				only: args.only,
				concurrency: args.concurrency ?? (args.target ? { ws: 6, tcp: 4, udp: 4 } : undefined),
				scale: args.scale ?? (sim ? "small" : "full"),
				timeoutMs: args.timeoutMs ?? (sim ? 15_000 : 5000),
				handshakeTimeoutMs,
				heartbeat,
				httpRoutes,
				healthEvery: args.healthEvery,
				maxDelayMs: args.maxDelayMs ?? (sim ? 25 : 3),
				onProgress: tty
					? p => {
							if (p.done % 25 === 0 || p.done === p.total) process.stderr.write(`\r${p.done}/${p.total} cases, ${p.mismatches} mismatches…`);
						}
					: undefined,
			};
			const report = await runFuzz(options);
			if (tty) process.stderr.write("\r\x1b[K");
			const deviceProblems: string[] = [];
			if (device) {
				if (device.process.exited) deviceProblems.push(`the device exited (${device.process.exitCode})`);
				const bad = device.process.log.filter(l => /exception|aborted/i.test(l.raw));
				if (bad.length) deviceProblems.push(`${bad.length} device log lines with an exception, e.g. ${bad[0].raw}`);
			}
			if (args.json) process.stdout.write(`${JSON.stringify({ ...report, deviceProblems }, null, 2)}\n`);
			else {
				for (const m of report.mismatches) process.stdout.write(`${formatMismatch(m)}\n\n`);
				for (const h of report.healthFailures) process.stdout.write(`health: ${h}\n`);
				for (const d of deviceProblems) process.stdout.write(`device: ${d}\n`);
				const counts = Object.entries(report.counts)
					.filter(([, n]) => n)
					.map(([k, n]) => `${n} ${k}`)
					.join(", ");
				process.stdout.write(
					`fuzz: seed ${report.seed}, ${report.cases} cases (${counts}) in ${(report.ms / 1000).toFixed(1)} s: ` +
						`${report.mismatchCount} mismatches, ${report.healthChecks - report.healthFailures.length}/${report.healthChecks} health checks passed\n`,
				);
			}
			return report.mismatchCount === 0 && report.healthFailures.length === 0 && deviceProblems.length === 0 && report.cases > 0 ? 0 : 1;
		} finally {
			await device?.stop();
		}
	},
});
