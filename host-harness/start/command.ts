/*
 * npm start [-- --target node|sim] [--duration <seconds>]
 *
 * The whole system live on this PC: the device app on the best target
 * available (the simulator when the Moddable SDK is installed, else the
 * Node-hosted device), the harness's peers for the device's clients, and a
 * running dialogue: the harness talks to the device's servers, the device's
 * clients talk to the harness's peers, every line tagged [device] or
 * [harness], with counters, until Ctrl-C or --duration.
 */

import { randomBytes } from "node:crypto";
import { HostTarget, RunningDevice, startDevice } from "../device/targets.js";
import { planTiers } from "../device/tiers.js";
import { freeServicePorts } from "../lib/ports.js";
import { TcpPeer } from "../peers/tcp-peer.js";
import { echoOnce, sha256 } from "../oracle/tcp-echo.js";
import { udpSender, UdpSender } from "../oracle/udp-echo.js";
import { WsPeer } from "../peers/ws-peer.js";
import { nextMessage, openWs } from "../oracle/ws-echo.js";
import { badValue, checkedConfig, CommandFailure, formatHelp, portValue, secondsValue, unknownArgument, UsageError, type Help } from "../lib/arguments.js";
import { DashboardServer, type DashboardEvent } from "../dashboard/server.js";
import { compactSample, XsbugLogServer } from "../xsbug/log-server.js";
import { freeTcpPort } from "../lib/ports.js";
import { usageError } from "../lib/command.js";
import { findApp, type App } from "../device/app.js";
import { parseConfigArgs } from "../lib/project.js";

/** What the dialogue exercises; --only picks some. */
const services = ["tcp", "udp", "ws", "clients"] as const;
type Service = typeof services[number];

interface Options {
	target?: HostTarget;
	duration?: number;
	only: Set<Service>;
	config: Record<string, string>;
	quiet: boolean;
	/** Serve the live dashboard on this port (0: any free port); undefined: no dashboard. */
	dashboardPort?: number;
	/** Simulator: a debug build whose XS heap figures the dashboard shows. */
	heap: boolean;
	/** A user's app on the kit: booted and its log shown, with no dialogue (the dialogue speaks to the kit's services). */
	app?: App;
}

/** npm start's options; host-harness dashboard takes them too (start/dashboard.ts). */
export const startOptions: Help["options"] = [
	["--target node|sim", "where the device runs (default: sim when available, else node)"],
	["--duration <s>", "stop after this many seconds (default: until Ctrl-C)"],
	["--only <service>", "tcp, udp, ws (the device's servers) or clients (its TCP and WebSocket\nclients); repeatable or comma-separated"],
	["--config k=v", "a device config value, as mcconfig k=v (repeatable)"],
	["--quiet", "no dialogue: one counters line every 5 s, and the summary"],
	["--dashboard", "also serve the live dashboard (counters, round trips, the device log with filters,\nthe latest reports) at http://127.0.0.1:8090/; host-harness dashboard is the same, quiet"],
	["--dashboard-port N", "the dashboard's port (default 8090; 0: any free port)"],
	["--heap", "with --target sim: a debug build, whose XS heap figures the dashboard shows"],
	["--app <dir>", "a user's app on the kit (a folder with its manifest.json): booted, its services\nline and its log shown until Ctrl-C or --duration, with no dialogue"],
];

export const usage = formatHelp({
	usage: "npm start [-- --target node|sim] [--duration <s>] [--only tcp|udp|ws|clients] [--config key=value …] [--quiet] [--dashboard [--dashboard-port N] [--heap]]",
	about: `The whole system live on this PC: the device app (on the simulator when the Moddable
SDK is installed, else Node-hosted), the harness's peers for the device's clients, and a
dialogue between them, one round a second, until Ctrl-C or --duration. Every line is tagged
[device] or [harness]; a counters line follows each round. At the end the harness closes
the device's WebSocket client session with 1000 (normal closure) before stopping the device.

Each round: the harness sends the device's TCP echo server a text line, its UDP server a
datagram and its WebSocket server a text message (a new connection each round), and, once
the device's TCP client is connected, the TCP peer sends it 64 + 100 × (round mod 8) random
bytes (64 … 764 B, so echoes of several sizes are judged). The device's WebSocket client runs
ESP-IDF's example session: "hello 0000" … "hello 0004", a fragmented text and binary
message, a 2000-byte text, then closes after 5 s without data and reconnects.`,
	options: startOptions,
	examples: [
		"npm start",
		"npm start -- --target node --only ws --duration 10",
		"npm start -- --config tcpMaxClients=4 --quiet",
		"npm start -- --dashboard                # then open http://127.0.0.1:8090/",
		"npm start -- --app tests/fixtures/user-app-js --target node",
	],
});

const flags = ["--app", "--target", "--duration", "--only", "--config", "--quiet", "--dashboard", "--dashboard-port", "--heap", "--help"];

export function parseArgs(argv: string[]): Options | "help" {
	const options: Options = { only: new Set(), config: {}, quiet: false, heap: false };
	const config: string[] = [];
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
		const value = () => inline ?? argv[++i];
		if (flag === "--target" || flag === "-t") {
			const target = value();
			if (target !== "node" && target !== "sim")
				throw badValue("--target", target, "must be node or sim", ["node", "sim"]);
			options.target = target;
		}
		else if (flag === "--duration" || flag === "-d")
			options.duration = secondsValue("--duration", value());
		else if (flag === "--only") {
			for (const name of (value() ?? "").split(",")) {
				if (!(services as readonly string[]).includes(name))
					throw badValue("--only", name, `takes ${services.join(", ")}`, services);
				options.only.add(name as Service);
			}
		}
		else if (flag === "--config" || flag === "-c")
			config.push(value() ?? "");
		else if (flag === "--quiet" || flag === "-q")
			options.quiet = true;
		else if (flag === "--dashboard")
			options.dashboardPort ??= 8090;
		else if (flag === "--dashboard-port")
			options.dashboardPort = portValue("--dashboard-port", value());
		else if (flag === "--heap")
			options.heap = true;
		else if (flag === "--app") {
			const dir = value();
			if (!dir || dir.startsWith("-"))
				throw badValue("--app", dir ?? "", "takes the folder of an app's manifest.json");
			try {
				options.app = findApp(dir);
			}
			catch (e) {
				throw new UsageError((e as Error).message);
			}
		}
		else if (flag === "--help" || flag === "-h")
			return "help";
		else
			throw unknownArgument(arg, flags);
	}
	if (!options.only.size)
		options.only = new Set(services);
	if (options.heap && options.target !== "sim")
		throw new UsageError("--heap needs --target sim: the XS heap figures come from the simulator's debug build");
	if (options.app && (options.dashboardPort !== undefined || options.heap))
		throw new UsageError("--app shows a user's app's log only: no --dashboard or --heap");
	// The kit's schema checks the kit's own app's config; a user's app checks its own.
	options.config = options.app ? parseConfigArgs(config) : checkedConfig(config);
	return options;
}

const tty = process.stdout.isTTY;
const paint = (code: number, text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
let quiet = false;
/** The live dashboard, when asked for: every line and counter goes there too. */
let dashboard: DashboardServer | undefined;
const publish = (event: DashboardEvent) => dashboard?.publish(event);
const harnessSays = (text: string) => {
	publish({ type: "log", time: Date.now(), source: "harness", text });
	if (!quiet)
		console.log(`${paint(36, "[harness]")} ${text}`);
};
const deviceSays = (text: string) => {
	publish({ type: "log", time: Date.now(), source: "device", text });
	if (!quiet)
		console.log(`${paint(33, "[device] ")} ${text}`);
};
/** Said even with --quiet. */
const harnessReports = (text: string) => console.log(`${paint(36, "[harness]")} ${text}`);

/** A user's app: boot it, show its log and its services line, until Ctrl-C or --duration. */
async function runApp(options: Options, app: App): Promise<number> {
	const target: HostTarget = options.target ?? (planTiers().tiers.some(t => t.target === "sim") ? "sim" : "node");
	let stop = () => {};
	const stopped = new Promise<void>(resolve => { stop = resolve; });
	process.once("SIGINT", stop);
	process.once("SIGTERM", stop);
	harnessSays(`booting ${app.dir} on ${target}`);
	let device: RunningDevice;
	try {
		device = await startDevice({
			target, app, config: options.config,
			progress: harnessSays,
			onProcess: running => running.on("log", line => deviceSays(line.raw)),
		});
	}
	catch (e) {
		harnessReports((e as Error).message);
		return 1;
	}
	harnessReports(`services up: ${JSON.stringify(device.endpoints.services)}`);
	device.process.once("exit", code => {
		harnessReports(`${app.name} exited (${code})`);
		stop();
	});
	if (options.duration)
		setTimeout(stop, options.duration * 1000).unref();
	await stopped;
	await device.stop();
	harnessReports(`stopped ${app.name}`);
	return 0;
}

class Counter {
	ok = 0;
	failed = 0;
	bytes = 0;
	/** The latest exchange's round trip, ms. */
	rttMs?: number;
	toString() {
		return `${this.ok} ok${this.failed ? `, ${paint(31, `${this.failed} failed`)}` : ""}, ${this.bytes} B`;
	}
}

export async function main(argv: string[]): Promise<number> {
	let parsed: Options | "help";
	try {
		parsed = parseArgs(argv);
	}
	catch (e) {
		return usageError((e as Error).message, usage);
	}
	if (parsed === "help") {
		process.stdout.write(usage);
		return 0;
	}
	const options = parsed;
	quiet = options.quiet;
	if (options.app)
		return runApp(options, options.app);
	if (options.dashboardPort !== undefined) {
		dashboard = new DashboardServer(`xs-netkit on ${options.target ?? "this PC"}`);
		const url = await dashboard.start(options.dashboardPort).catch(e => {
			throw new CommandFailure((e as Error).message);
		});
		process.stderr.write(`dashboard: ${url}\n`);
	}
	const only = options.only;
	// Ctrl-C or SIGTERM at any time, even while the device boots: stop what was started, then exit.
	let stopping = false;
	let wake = () => {};
	const stop = () => {
		if (!stopping) {
			stopping = true;
			wake();
		}
	};
	process.on("SIGINT", stop);
	process.on("SIGTERM", stop);
	const plan = planTiers();
	const target: HostTarget = options.target ?? (plan.tiers.some(t => t.target === "sim") ? "sim" : "node");
	if (!options.target && target === "node")
		harnessSays(`${plan.skipped.find(l => l.startsWith("sim")) ?? "simulator unavailable"}: using the Node-hosted device`);

	const peer = await TcpPeer.start(0, "127.0.0.1");
	harnessSays(`TCP echo peer listening on 127.0.0.1:${peer.port} for the device's TCP client`);
	const wsPeer = await WsPeer.start(0, "127.0.0.1");
	harnessSays(`WebSocket echo peer listening on ws://127.0.0.1:${wsPeer.port}/ for the device's WebSocket client`);
	const counters = { "tcp-server": new Counter(), "udp-server": new Counter(), "ws-server": new Counter(), "tcp-client": new Counter(), "ws-client": new Counter() };

	// Before the device starts: its clients may connect before it reports its services up.
	wsPeer.on("session", session => {
		harnessSays(`device's WebSocket client connected from ${session.remote}`);
		session.emitter.on("message", message => {
			counters["ws-client"].ok++;
			counters["ws-client"].bytes += message.data.length;
			const shown = message.binary ? `${message.data.length} bytes binary` : `"${message.data.toString().slice(0, 40)}${message.data.length > 40 ? "…" : ""}" (${message.data.length} bytes)`;
			harnessSays(`device's WebSocket client sent ${shown}; echoed back`);
		});
		session.closed.then(({ code }) => harnessSays(stopping
			? `the harness closed the device's WebSocket client session with ${code} (stopping)`
			: `device's WebSocket client closed the session with ${code}${code === 1000 ? " (its example session ends after 5 s without data; it reconnects)" : ""}`), () => {});
	});

	peer.on("session", session => {
		harnessSays(`device's TCP client connected from ${session.remote}`);
		session.greeting.then(text => harnessSays(`device's TCP client greeted: "${text}"`), () => {});
	});

	harnessSays(`starting the device on ${target === "sim" ? "the Moddable simulator (building with mcconfig first)" : "Node (host providers)"} …`);
	publish({ type: "status", time: Date.now(), text: `starting the device on ${target}` });
	// --heap: the simulator's debug build reports its XS heap through the xsbug protocol.
	let xsbug: XsbugLogServer | undefined;
	let xsbugPort: number | undefined;
	if (options.heap) {
		xsbug = new XsbugLogServer({ breakOnExceptions: false });
		xsbugPort = await freeTcpPort();
		await xsbug.start(xsbugPort, "127.0.0.1");
		xsbug.on("sample", sample => publish({ type: "heap", time: Date.now(), text: compactSample(xsbug!.formatSample(sample.machine)), values: sample.values as unknown as Record<string, number> }));
	}

	let device: RunningDevice;
	try {
		device = await startDevice({
			target,
			config: {
				...await freeServicePorts(),
				tcpClient: "true",
				tcpClientHost: "127.0.0.1",
				tcpClientPort: String(peer.port),
				wsClient: "true",
				wsClientUri: `ws://127.0.0.1:${wsPeer.port}/`,
				...options.config,
			},
			progress: text => harnessSays(text),
			xsbugPort,
			// The boot log as it happens, not all at once when the services are up.
			onProcess: running => running.on("log", line => deviceSays(line.raw)),
		});
	}
	catch (e) {
		await peer.close();
		await wsPeer.close();
		await xsbug?.close();
		await dashboard?.close();
		throw e;
	}
	harnessSays(`device up: ${JSON.stringify(device.endpoints)}`);
	publish({ type: "status", time: Date.now(), text: `device up on ${target}: ${JSON.stringify(device.endpoints)}` });
	harnessSays(`each round (1 s): ${[
		only.has("tcp") && "a text line to the device's TCP echo server",
		only.has("udp") && "a datagram to its UDP echo server",
		only.has("ws") && "a text message to its WebSocket echo server on a new connection",
		only.has("clients") && "64 + 100 × (round mod 8) random bytes (64 … 764 B) from the TCP peer to the device's TCP client",
	].filter(Boolean).join("; ")}`);

	const udp: UdpSender = await udpSender(device.endpoints.udp!);
	let round = 0;

	const exchange = async () => {
		round++;
		const text = Buffer.from(`round ${round}: hello from the harness`);
		let t0 = performance.now();
		if (only.has("tcp")) try {
			const back = await echoOnce(device.endpoints.tcp!, text, 5000);
			counters["tcp-server"].rttMs = performance.now() - t0;
			const good = back.equals(text);
			counters["tcp-server"][good ? "ok" : "failed"]++;
			counters["tcp-server"].bytes += back.length;
			harnessSays(`tcp → device:${device.endpoints.tcp!.port} ${text.length} bytes, echo ${good ? "matches" : "DIFFERS"}`);
		}
		catch (e) {
			counters["tcp-server"].failed++;
			harnessSays(`tcp → device failed: ${(e as Error).message}`);
		}
		if (only.has("udp")) try {
			const datagram = Buffer.from(`datagram ${round}`);
			t0 = performance.now();
			const { data } = await udp.echo(datagram, 3000);
			counters["udp-server"].rttMs = performance.now() - t0;
			const good = data.equals(datagram);
			counters["udp-server"][good ? "ok" : "failed"]++;
			counters["udp-server"].bytes += data.length;
			harnessSays(`udp → device:${device.endpoints.udp!.port} ${datagram.length} bytes, echo ${good ? "matches" : "DIFFERS"}`);
		}
		catch (e) {
			counters["udp-server"].failed++;
			harnessSays(`udp → device failed: ${(e as Error).message}`);
		}
		if (only.has("ws")) try {
			const socket = await openWs(device.endpoints.ws!, {}, 5000);
			const text = `round ${round} over WebSocket`;
			t0 = performance.now();
			socket.send(text);
			const { data, binary } = await nextMessage(socket, 5000);
			counters["ws-server"].rttMs = performance.now() - t0;
			const good = !binary && data.toString() === text;
			counters["ws-server"][good ? "ok" : "failed"]++;
			counters["ws-server"].bytes += data.length;
			harnessSays(`ws → ${device.endpoints.ws} text of ${text.length} bytes, echo ${good ? "matches" : "DIFFERS"}`);
			socket.close(1000);
		}
		catch (e) {
			counters["ws-server"].failed++;
			harnessSays(`ws → device failed: ${(e as Error).message}`);
		}
		const session = only.has("clients") ? peer.sessions.at(-1) : undefined;
		if (session) {
			try {
				const payload = randomBytes(64 + (round % 8) * 100);
				t0 = performance.now();
				const back = await session.echo(payload, 5000);
				counters["tcp-client"].rttMs = performance.now() - t0;
				const good = sha256(back) === sha256(payload);
				counters["tcp-client"][good ? "ok" : "failed"]++;
				counters["tcp-client"].bytes += back.length;
				harnessSays(`peer → device's TCP client ${payload.length} bytes, echo ${good ? "matches" : "DIFFERS"}`);
			}
			catch (e) {
				counters["tcp-client"].failed++;
				harnessSays(`peer → device's TCP client failed: ${(e as Error).message}`);
			}
		}
		publish({ type: "counters", time: Date.now(), round, services: Object.fromEntries(Object.entries(counters)
			.filter(([name]) => shownService(name))
			.map(([name, c]) => [name, { ok: c.ok, failed: c.failed, bytes: c.bytes, rttMs: c.rttMs }])) });
		if (!quiet)
			harnessSays(`counters: ${countersLine()}`);
		else if (Date.now() - lastReport >= 5000) {
			lastReport = Date.now();
			harnessReports(`counters: ${countersLine()}`);
		}
	};
	let lastReport = Date.now();
	const shownService = (name: string) => only.has(name.endsWith("-client") ? "clients" : name.slice(0, name.indexOf("-")) as Service);
	const countersLine = () => Object.entries(counters)
		.filter(([name]) => shownService(name))
		.map(([name, c]) => `${name} ${c}`).join(" | ");


	const done = new Promise<void>(resolve => {
		wake = resolve;
		if (stopping)
			resolve();
		if (options.duration)
			setTimeout(stop, options.duration * 1000);
		device.process.on("exit", (code, signal) => {
			if (!stopping)
				harnessSays(`the device stopped by itself (${signal ?? code})`);
			stop();
		});
	});
	const loop = (async () => {
		while (!stopping) {
			await exchange();
			await new Promise(r => setTimeout(r, 1000));
		}
	})();
	await done;
	await loop.catch(() => {});
	udp.close();
	// End the device's WebSocket client session with a closing handshake (1000), not by killing the device under it (1006).
	await Promise.all(wsPeer.sessions.map(session => {
		if (session.socket.readyState === session.socket.OPEN)
			session.socket.close(1000, "harness stopping");
		return Promise.race([session.closed, new Promise(r => setTimeout(r, 2000))]);
	}));
	await device.stop();
	await peer.close();
	await wsPeer.close();
	await xsbug?.close();
	publish({ type: "status", time: Date.now(), text: "stopped" });
	await dashboard?.close();
	const failed = Object.values(counters).reduce((n, c) => n + c.failed, 0);
	harnessReports(`stopped. ${countersLine()}`);
	return failed ? 1 : 0;
}

