/*
 * host-harness bench tcp|udp|ws [--target node|sim | --device <ip>] [options]
 * host-harness bench memory --target sim [options]
 * host-harness bench xs [options]
 *
 * Boots the device (node or sim, on free loopback ports) or reaches a board,
 * starts the reference echo servers in this process, runs the same
 * workloads against both, and prints metric | device | reference | ratio.
 * `bench memory` reads the app's XS heaps on the simulator's debug build
 * instead (memory.ts); `bench xs` times and counts the device's code on the
 * XS engine itself, from memory (xs.ts).
 */

import { readConfig, schema } from "../../app/config-schema.js";
import { parseWebSocketUri } from "../../websocket/uri.js";
import { boardEndpoints, type Endpoint, type Endpoints, type HostTarget, type RunningDevice, startDevice, type TargetName } from "../device/targets.js";
import { checkedConfig, didYouMean, fleetHeading, fleetOptions, optionLines, positiveValue } from "../lib/arguments.js";
import { argumentsOr, registerCommand } from "../lib/command.js";
import { boardAddress } from "../lib/mdns.js";
import { freeServicePorts } from "../lib/ports.js";
import { manifestConfig } from "../lib/project.js";
import { echoOnce } from "../oracle/tcp-echo.js";
import { udpSender } from "../oracle/udp-echo.js";
import { cpuUsage, parseCpuArgs, runCpuBench } from "./cpu.js";
import { memoryUsage, parseMemoryArgs, runMemoryBench } from "./memory-command.js";
import { type Protocol, type ReferenceServers, startReference } from "./reference.js";
import { renderTable, writeReport } from "./report.js";
import { type BenchResult, createContext, ResultBuilder, type Side } from "./result.js";
import { parseRoutesArgs, routesUsage, runRoutesBench } from "./routes.js";
import { KiB, MiB } from "./stats.js";
import { benchTcp, type TcpSettings, tcpDefaults } from "./tcp.js";
import { parseTlsMemoryArgs, runTlsMemoryBench, tlsMemoryUsage } from "./tls-memory.js";
import { parseTlsServerArgs, runTlsServerBench, tlsServerUsage } from "./tls-server.js";
import { benchUdp, type UdpSettings, udpDefaults } from "./udp.js";
import { benchWs, openWs, type WsSettings, wsDefaults } from "./ws.js";
import { benchXsUsage, parseBenchXsArgs, runBenchXsCommand } from "./xs.js";

const usage = `usage: host-harness bench tcp|udp|ws [--target node|sim | --device <ip>] [options]
       host-harness bench memory --target sim [options]   (bench memory --help)
       host-harness bench xs [options]                     (bench xs --help)
       host-harness bench tls-memory --target sim         (one TLS connection's heap cost, against plain TCP)
       host-harness bench tls-server --target sim         (the wss:// server: heap per client, fit, handshakes/s)
       host-harness bench routes --target sim             (HTTP routes: bytecode, heap per route and per request)
       host-harness bench cpu --target lwip|sim|node      (the device process's CPU time per message echoed)

Measures the device's echo server and a reference echo server (plain Node
net / dgram / ws, on loopback in this process) with the same workloads in
the same run, and prints metric | device | reference | ratio, where ratio
is the device as a fraction of the reference (throughput device/reference,
latency reference/device): 1.0 = as good as the reference.

options:
  --target node|sim   boot the device on this PC (default node; sim builds with mcconfig)
  --device <ip>       a flashed board instead (its config: --config/DEVICE_CONFIG)
  --duration <s>      time cap of each phase, shared by its rounds (default node 6, sim 10, board 10)
  --bytes <n>         bytes cap of the throughput phase (suffix k or m for KiB, MiB;
                      default node 192m, sim 1m, board 8m)
  --clients <n>       concurrent clients (default 8)
  --samples <n>       round-trip samples (default node 3000, sim 100)
  --rounds <n>        split each workload into n rounds, device and reference
                      alternating ABBA (default node 3, sim 1, board 2)
  --config k=v        device config (node/sim: passed to the device; board: what it was
                      flashed with); bare k=v works too; repeatable
  --json              print the result as JSON instead of the table
  --report <file>     also write a report: file.md (+ SVG charts beside it) or file.html
  --help

  ${fleetHeading}
${optionLines(fleetOptions, 18)}

TCP: throughput with 64 KiB writes (and 1, 16 KiB for the chart), round trip
p50/p99 of 64 B, N clients' aggregate round trips/s. UDP: round trip p50/p99
of 64 B, datagrams/s with a window outstanding (64, 512, 1472 B), losses.
WS: 64 B messages/s pipelined, round trip p50/p99, 64 KiB message throughput,
N clients. Progress goes to stderr: a live line on a terminal, else a line
per finished phase.
Exit status 1 when a measurement failed on either side.

examples:
  host-harness bench tcp --target node
  host-harness bench ws --target sim --report bench-ws.html
  host-harness bench udp --device 192.168.1.50 --json > udp.json
  host-harness bench memory --target sim
`;

export interface BenchOptions {
	protocol: Protocol;
	target: HostTarget;
	device?: string;
	json: boolean;
	report?: string;
	duration?: number;
	bytes?: number;
	clients?: number;
	samples?: number;
	rounds?: number;
	config: Record<string, string>;
}

function parseSize(text: string | undefined): number {
	const match = /^(\d+(?:\.\d+)?)([kKmM]?)i?[bB]?$/.exec(text ?? "");
	if (!match) throw new Error(`"${text}" is not a byte count (e.g. 65536, 64k, 16m)`);
	const unit = match[2].toLowerCase();
	return Math.round(Number(match[1]) * (unit === "k" ? KiB : unit === "m" ? MiB : 1));
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions | "help" {
	let protocol: Protocol | undefined;
	let target: string | undefined;
	const configArgs: string[] = [];
	const options: Omit<BenchOptions, "protocol" | "target" | "config"> = { json: false };
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
		const value = () => inline ?? argv[++i];
		switch (flag) {
			case "--help":
			case "-h":
				return "help";
			case "--target":
			case "-t":
				target = value();
				break;
			case "--device":
				options.device = value();
				break;
			case "--json":
				options.json = true;
				break;
			case "--report":
				options.report = value();
				break;
			case "--duration":
			case "-d":
				options.duration = positiveValue("--duration", value(), false);
				break;
			case "--bytes":
				options.bytes = parseSize(value());
				break;
			case "--clients":
			case "-c":
				options.clients = positiveValue("--clients", value(), true);
				break;
			case "--samples":
				options.samples = positiveValue("--samples", value(), true);
				break;
			case "--rounds":
				options.rounds = positiveValue("--rounds", value(), true);
				break;
			case "--config":
				configArgs.push(value() ?? "");
				break;
			default:
				if (arg === "tcp" || arg === "udp" || arg === "ws") {
					if (protocol) throw new Error(`one protocol at a time (${protocol} and ${arg})`);
					protocol = arg;
				} else if (/^\w+=/.test(arg)) configArgs.push(arg);
				else if (!arg.startsWith("-"))
					throw new Error(
						`unknown workload "${arg}": tcp, udp, ws, memory, tls-memory, tls-server, routes, cpu or xs${didYouMean(arg, ["tcp", "udp", "ws", "memory", "tls-memory", "tls-server", "routes", "cpu", "xs"])}`,
					);
				else throw new Error(`unknown argument "${arg}"`);
		}
	}
	if (!protocol) throw new Error("which protocol: tcp, udp or ws? (or memory)");
	if (target !== undefined && target !== "node" && target !== "sim") throw new Error(`--target must be node or sim, not "${target}"`);
	if (target !== undefined && options.device !== undefined) throw new Error("--target and --device exclude each other");
	if (options.device === "") throw new Error("--device takes the board's IP address");
	if (options.report && !/\.(md|markdown|html?)$/i.test(options.report)) throw new Error(`--report takes a .md or .html file, not "${options.report}"`);
	if (options.device && configArgs.length === 0 && process.env.DEVICE_CONFIG) configArgs.push(...process.env.DEVICE_CONFIG.split(/\s+/).filter(Boolean));
	return { ...options, protocol, target: (target ?? "node") as HostTarget, config: checkedConfig(configArgs, options.device ? "esp32" : "lin") };
}

type Settings = TcpSettings | UdpSettings | WsSettings;

/** TCP and WebSocket defaults with the command line's overrides. */
function withStreamOverrides<S extends TcpSettings | WsSettings>(s: S, options: BenchOptions): S {
	return {
		...s,
		seconds: options.duration ?? s.seconds,
		bytes: options.bytes ?? s.bytes,
		clients: options.clients ?? s.clients,
		rttSamples: options.samples ?? s.rttSamples,
		rounds: options.rounds ?? s.rounds,
	};
}

/** The workload for this protocol and target, with the command line's overrides. */
export function benchSettings(options: BenchOptions, target: TargetName): Settings {
	switch (options.protocol) {
		case "tcp":
			return withStreamOverrides(tcpDefaults(target), options);
		case "udp": {
			const s = udpDefaults(target);
			return { ...s, seconds: options.duration ?? s.seconds, rttSamples: options.samples ?? s.rttSamples, rounds: options.rounds ?? s.rounds };
		}
		case "ws":
			return withStreamOverrides(wsDefaults(target), options);
	}
}

/** Device config for a host target: free loopback ports, enough client slots for the benchmark, then the user's keys. */
export async function hostDeviceConfig(options: BenchOptions, settings: Settings): Promise<Record<string, string>> {
	const config: Record<string, string> = {
		...(await freeServicePorts()),
	};
	const clients = "clients" in settings ? settings.clients : 1;
	// Spare slots beyond the clients: the previous phases' connections may not be seen closed yet (a WebSocket server lingers over a closing one).
	config.tcpMaxClients = String(clients + 4);
	if ("wsMaxClients" in schema) config.wsMaxClients = String(clients + 4);
	return { ...config, ...options.config };
}

function settingsRecord(settings: Settings): Record<string, number | string> {
	return { ...settings, sizes: settings.sizes.join(" ") };
}

function endpointText(e: Endpoint | string | undefined): string {
	return e === undefined ? "none" : typeof e === "string" ? e : `${e.host}:${e.port}`;
}

/** One echo from the device before anything is measured, so an unreachable device fails at once, not once per phase. */
async function reachable(protocol: Protocol, endpoints: Endpoints): Promise<void> {
	const where = endpointText(endpoints[protocol]);
	const probe = Buffer.from("xs-netkit bench probe");
	try {
		if (protocol === "tcp" && endpoints.tcp) await echoOnce(endpoints.tcp, probe, 5000);
		else if (protocol === "udp" && endpoints.udp) {
			const sender = await udpSender(endpoints.udp);
			try {
				await sender.echo(probe, 5000);
			} finally {
				sender.close();
			}
		} else if (protocol === "ws" && endpoints.ws) (await openWs(endpoints.ws, 5000)).terminate();
	} catch (e) {
		throw new Error(`the device's ${protocol} echo at ${where} does not answer: ${(e as Error).message}`);
	}
}

export interface BenchRun {
	result: BenchResult;
	/** Whether every metric got a value on both sides. */
	complete: boolean;
}

/**
 * Run the benchmark of one protocol between a device's endpoints and the
 * reference servers (started and stopped here). The CLI and the tests both
 * come through here.
 */
export async function runBench(
	protocol: Protocol,
	deviceEndpoints: Endpoints,
	deviceLabel: string,
	settings: Settings,
	options: { progress?: NodeJS.WriteStream; log?: (line: string) => void } = {},
): Promise<BenchRun> {
	await reachable(protocol, deviceEndpoints);
	const reference: ReferenceServers = await startReference([protocol]);
	try {
		const peers: Record<Side, string> = { device: deviceLabel, reference: `${reference.describe(protocol)} (${endpointText(reference[protocol])})` };
		const builder = new ResultBuilder(protocol, deviceEndpoints.target, peers, settingsRecord(settings));
		const ctx = createContext(options);
		let result: BenchResult;
		switch (protocol) {
			case "tcp":
				if (!deviceEndpoints.tcp) throw new Error("the device reports no TCP echo server (tcpServer=false?)");
				result = await benchTcp({ device: deviceEndpoints.tcp, reference: reference.tcp! }, settings as TcpSettings, ctx, builder);
				break;
			case "udp":
				if (!deviceEndpoints.udp) throw new Error("the device reports no UDP echo server (udpServer=false?)");
				result = await benchUdp({ device: deviceEndpoints.udp, reference: reference.udp! }, settings as UdpSettings, ctx, builder);
				break;
			case "ws":
				if (!deviceEndpoints.ws) throw new Error("the device reports no WebSocket endpoint (wsServer=false?)");
				result = await benchWs({ device: deviceEndpoints.ws, reference: reference.ws! }, settings as WsSettings, ctx, builder);
				break;
		}
		const complete = result.metrics.every(m => m.device !== undefined && m.reference !== undefined);
		return { result, complete };
	} finally {
		await reference.close();
	}
}

async function run(argv: string[]): Promise<number> {
	if (argv[0] === "xs") return runBenchXsCommand(argv, argumentsOr);
	if (argv.includes("tls-memory")) return runTlsMemoryBench(argv);
	if (argv[0] === "routes") return runRoutesBench(argv);
	if (argv[0] === "cpu") return runCpuBench(argv);
	if (argv.includes("tls-server")) return runTlsServerBench(argv);
	if (argv.includes("memory")) return runMemoryBench(argv);
	const options = argumentsOr(parseBenchArgs, argv, usage);
	if (typeof options === "number") return options;
	// Progress goes to stderr: a live line on a terminal, else a line per finished phase.
	const tty = process.stderr.isTTY === true;
	const status = (text: string) => process.stderr.write(`${text}\n`);
	const targetName: TargetName = options.device ? "board" : options.target;
	const settings = benchSettings(options, targetName);

	let device: RunningDevice | undefined;
	let stopping = false;
	const onSignal = () => {
		stopping = true;
		process.stderr.write("\ninterrupted: stopping the device\n");
		void (device?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
	};
	process.once("SIGINT", onSignal);
	process.once("SIGTERM", onSignal);
	try {
		let endpoints: Endpoints;
		let deviceLabel: string;
		if (options.device) {
			endpoints = boardEndpoints(await boardAddress(options.device), options.config);
			deviceLabel = `board at ${options.device}`;
			if ("clients" in settings) {
				const { config } = readConfig(manifestConfig("esp32", options.config), parseWebSocketUri);
				const [slots, key] = options.protocol === "tcp" ? [config.tcpMaxClients, "tcpMaxClients"] : [config.wsMaxClients, "wsMaxClients"];
				if (settings.clients > slots) {
					process.stderr.write(`the board serves ${slots} clients at once (${key}): benchmarking with ${slots}\n`);
					settings.clients = slots;
				}
			}
		} else {
			status(`starting the device on ${options.target === "sim" ? "the Moddable simulator (mcconfig build first)" : "Node (host providers)"} …`);
			device = await startDevice({ target: options.target, config: await hostDeviceConfig(options, settings), progress: status });
			endpoints = device.endpoints;
			deviceLabel = `${options.target === "sim" ? "Moddable simulator (mcsim)" : "Node-hosted device (host providers)"}, ${endpointText(endpoints[options.protocol])}`;
			device.process.once("exit", (code, signal) => {
				if (!stopping) process.stderr.write(`the device exited during the benchmark (${signal ?? code})\n${device?.process.tail() ?? ""}\n`);
			});
		}
		status(`device: ${deviceLabel}`);
		const { result, complete } = await runBench(options.protocol, endpoints, deviceLabel, settings, {
			progress: tty ? process.stderr : undefined,
			log: tty ? undefined : line => process.stderr.write(`bench: ${line}\n`),
		});
		if (device?.process.exited) result.notes.push("the device process exited during the run");
		if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
		else process.stdout.write(renderTable(result));
		if (options.report) {
			const files = writeReport(result, options.report);
			process.stderr.write(`report: ${files.join(", ")}\n`);
		}
		return complete ? 0 : 1;
	} finally {
		stopping = true;
		process.off("SIGINT", onSignal);
		process.off("SIGTERM", onSignal);
		await device?.stop();
	}
}

registerCommand("bench", {
	summary:
		"benchmark the device's tcp|udp|ws echo against a Node reference in the same run; memory: its XS heaps (sim); xs: its code on the XS engine; cpu: its process's CPU per message",
	usage,
	parse: parseBenchArgs,
	subcommands: {
		memory: { usage: memoryUsage, parse: parseMemoryArgs },
		xs: { usage: benchXsUsage, parse: parseBenchXsArgs },
		"tls-memory": { usage: tlsMemoryUsage, parse: parseTlsMemoryArgs },
		routes: { usage: routesUsage, parse: parseRoutesArgs },
		"tls-server": { usage: tlsServerUsage, parse: parseTlsServerArgs },
		cpu: { usage: cpuUsage, parse: parseCpuArgs },
	},
	run,
});
