/*
 * host-harness bench routes --target sim: what HTTP routes cost an app, on
 * the routes fixture (tests/fixtures/routes-app; never in the kit's app):
 *
 *   bytecode   the esp32 image's bytecode (as check --app --target esp32-link
 *              builds it: mcconfig -p esp32, xsc, xsl): the HTTP routes module and the
 *              WebSocket server's, and per route as an app writes it, from
 *              the fixture's written/*.ts (four routes of one kind each)
 *              against written/none.ts (none)
 *   per route  on the simulator's debug build, readings after forced full
 *              collections (bench/memory.ts): a server holding n routes of
 *              one kind against one holding none, over n; the servers are
 *              made by a program the harness evaluates at a break (xsbug),
 *              after a first round of the same that leaves the machine's
 *              keys as they will stay
 *   per request  while in flight: clients whose request head has not all
 *              come, and POSTs whose body is half sent, against the idle
 *              app, per client; then whole requests of every route kind,
 *              answered and closed: what is left against idle (nothing,
 *              when nothing leaks)
 *
 * Board units: slots x 16 bytes; the simulator's chunk bytes are an upper
 * bound of a board's (bench/memory.ts).
 */

import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { appBuildDir, findApp } from "../device/app.js";
import { buildEsp32JsSide } from "../device/esp32.js";
import { positiveValue } from "../lib/arguments.js";
import { argumentsOr } from "../lib/command.js";
import { freeTcpPort } from "../lib/ports.js";
import { projectRoot } from "../lib/project.js";
import { findSdk } from "../lib/sdk.js";
import { compileProgram } from "../xsbug/compile.js";
import { boardSlotSize, delta, type HeapDelta, type HeapReading } from "./heap.js";
import { type MemoryDevice, settleAfterCloseMs, sleep, startMemoryDevice, waitClosed } from "./memory-device.js";

export const routesUsage = `usage: host-harness bench routes --target sim [--routes n] [--clients n] [--no-bytecode] [--json]

What HTTP routes (WebSocketServer get/post/put/delete) cost an app, on the routes
fixture (tests/fixtures/routes-app): the esp32 image's bytecode of the HTTP routes
module and per route as written; the XS heap per route of each kind, idle (a GET
to a resource, a GET handler, a POST handler, a GET with a path parameter); and the
heap a request holds while in flight and what is left once it is answered. Heap
readings on the simulator's debug build after forced collections, as bench memory.
About two minutes, the builds included.

options:
  --target sim     the only target, and the default: the heap readings need the simulator's debug build
  --routes <n>     routes of each kind per reading (default 16)
  --clients <n>    requests in flight at once (default 4)
  --no-bytecode    skip the esp32 link (about a minute)
  --json           print the result as JSON instead of the tables

examples:
  host-harness bench routes --target sim
  host-harness bench routes --target sim --json > routes.json`;

export interface RoutesOptions {
	routes: number;
	clients: number;
	bytecode: boolean;
	json: boolean;
}

export function parseRoutesArgs(argv: readonly string[]): RoutesOptions | "help" {
	const options: RoutesOptions = { routes: 16, clients: 4, bytecode: true, json: false };
	const count = (name: string, text: string | undefined) => positiveValue(name, text, true);
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		if (arg === "routes") continue;
		if (arg === "--help" || arg === "-h") return "help";
		if (arg === "--json") options.json = true;
		else if (arg === "--no-bytecode") options.bytecode = false;
		else if (arg === "--routes") options.routes = count("--routes", argv[++i]);
		else if (arg === "--clients" || arg === "-c") options.clients = count("--clients", argv[++i]);
		else if (arg === "--target" || arg === "-t") {
			if (argv[++i] !== "sim") throw new Error(`bench routes reads XS heaps on the simulator's debug build (--target sim), not "${argv[i] ?? ""}"`);
		} else throw new Error(`unknown argument "${arg}"`);
	}
	return options;
}

/** The route kinds of the fixture (main.ts addKind, written/*.ts). */
export const routeKinds = ["static", "handler", "post", "params"] as const;
export type RouteKind = (typeof routeKinds)[number];

const kindNames: Record<RouteKind, string> = {
	static: "GET to a resource (static)",
	handler: "GET to a handler",
	post: "POST to a handler (maxBody 256)",
	params: "GET with a path parameter (/x/:id) to a handler",
};

export interface Cost extends HeapDelta {
	/** slots x 16 + chunk bytes. */
	boardBytes: number;
}

const cost = (d: HeapDelta): Cost => ({ ...d, boardBytes: d.slots * boardSlotSize + d.chunk });

export interface RoutesResult {
	kind: "routes";
	target: "sim";
	machine: string;
	options: RoutesOptions;
	bytecode?: {
		/** websocket/http-routes and websocket/server, bytes. */
		httpRoutesModule: number;
		serverModule: number;
		/** Bytes per route as written (four of a kind against none). */
		perRoute: Record<RouteKind, number>;
	};
	idle: HeapReading;
	perRoute: Record<RouteKind, Cost>;
	inFlight: { head: Cost; body: Cost };
	/** Against idle, after every request was answered and its connection closed. */
	after: { head: HeapDelta; body: HeapDelta; everyKind: HeapDelta };
}

/* ------------------------------------------------------------- requests */

/** Connected clients and the ports the device logs them by. */
interface Clients {
	sockets: net.Socket[];
	ports: number[];
	/** Each client's whole answer, once the device has closed its connection. */
	answers: Promise<string>[];
}

async function connectClients(port: number, n: number, first: string): Promise<Clients> {
	const clients: Clients = { sockets: [], ports: [], answers: [] };
	for (let i = 0; i < n; i++) {
		const socket = net.connect(port, "127.0.0.1");
		await new Promise<void>((resolve, reject) => {
			socket.once("connect", resolve);
			socket.once("error", reject);
		});
		socket.on("error", () => undefined);
		clients.answers.push(
			new Promise<string>(resolve => {
				let text = "";
				socket.on("data", (d: Buffer) => {
					text += d.toString("latin1");
				});
				socket.once("close", () => resolve(text));
			}),
		);
		clients.sockets.push(socket);
		clients.ports.push(socket.localPort!);
		socket.write(first);
	}
	return clients;
}

/** Send the rest, and wait until every answer came with `status` and the device logged each connection closed. */
async function finish(memory: MemoryDevice, clients: Clients, rest: string, status: number, since: number): Promise<void> {
	for (const socket of clients.sockets) socket.write(rest);
	const answers = await Promise.all(clients.answers);
	for (const answer of answers)
		if (!answer.startsWith(`HTTP/1.1 ${status} `)) throw new Error(`expected ${status}, the device answered: ${answer.split("\r\n")[0] || "nothing"}`);
	await waitClosed(memory.server, clients.ports, since);
	await sleep(settleAfterCloseMs);
}

const head = (method: string, target: string, headers = "") => `${method} ${target} HTTP/1.1\r\nHost: device\r\n${headers}`;

/* ---------------------------------------------------------------- bench */

async function measureHeap(memory: MemoryDevice, port: number, options: RoutesOptions, say: (text: string) => void) {
	const programs = new Map<string, Uint8Array>();
	const evaluate = async (source: string) => {
		let code = programs.get(source);
		if (!code) programs.set(source, (code = compileProgram(source)));
		const result = await memory.server.evaluate(code, memory.machine.tag, 20_000);
		if (!result.ok) throw new Error(`${source} threw: ${result.exception}`);
	};
	const add = (kind: RouteKind, n: number) => evaluate(`routesBench.add("${kind}", ${n});`);
	const drop = () => evaluate("routesBench.drop();");
	// A first round of every program: the keys and strings a first run makes stay; the readings come after.
	for (const kind of routeKinds) {
		for (const n of [0, options.routes]) {
			await add(kind, n);
			await drop();
		}
	}
	const perRoute = {} as Record<RouteKind, Cost>;
	for (const kind of routeKinds) {
		await add(kind, 0);
		const none = await memory.probe.read();
		await drop();
		await add(kind, options.routes);
		const held = await memory.probe.read();
		await drop();
		perRoute[kind] = cost(delta(held, none, options.routes));
		say(`${kindNames[kind]}: ${perRoute[kind].slots} slots, ${perRoute[kind].chunk} chunk bytes per route`);
	}

	const n = options.clients;
	const idle = await memory.probe.read();
	say(`idle: ${idle.slots} slots, ${idle.chunk} chunk bytes`);
	// The head not all come: the request is read up to its last header line.
	let since = memory.server.mark();
	const heads = await connectClients(port, n, head("GET", "/settings"));
	await sleep(1000);
	const headReading = await memory.probe.read();
	await finish(memory, heads, "\r\n", 200, since);
	const afterHead = await memory.probe.read();
	// A POST whose body is half come: its buffer is the whole Content-Length.
	const body = `{"level":5}${" ".repeat(200 - 11)}`;
	since = memory.server.mark();
	const posts = await connectClients(
		port,
		n,
		`${head("POST", "/settings", `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`)}\r\n${body.slice(0, 100)}`,
	);
	await sleep(1000);
	const bodyReading = await memory.probe.read();
	await finish(memory, posts, body.slice(100), 200, since);
	const afterBody = await memory.probe.read();
	say(`in flight: head ${(headReading.slots - idle.slots) / n} slots, body ${(bodyReading.slots - idle.slots) / n} slots per request`);
	// Whole requests of every kind, one client each at a time.
	for (const [request, status] of [
		[`${head("GET", "/page")}\r\n`, 200],
		[`${head("GET", "/settings")}\r\n`, 200],
		[`${head("POST", "/settings", "Content-Length: 11\r\n")}\r\n{"level":3}`, 200],
		[`${head("GET", "/items/42")}\r\n`, 200],
		[`${head("GET", "/nothing")}\r\n`, 404],
	] as const) {
		since = memory.server.mark();
		await finish(memory, await connectClients(port, n, ""), request, status, since);
	}
	const afterEvery = await memory.probe.read();
	return {
		idle,
		perRoute,
		inFlight: { head: cost(delta(headReading, idle, n)), body: cost(delta(bodyReading, idle, n)) },
		after: { head: delta(afterHead, idle), body: delta(afterBody, idle), everyKind: delta(afterEvery, idle) },
	};
}

/** The fixture's esp32 image as check --app --target esp32-link builds it (release; the same build folder), each module's .xsb. */
async function measureBytecode(say: (text: string) => void): Promise<RoutesResult["bytecode"]> {
	const lookup = findSdk();
	if ("missing" in lookup) throw new Error(`the esp32 bytecode needs the Moddable SDK: ${lookup.missing} (--no-bytecode skips it)`);
	const app = findApp(routesFixture);
	say("building the routes fixture's JS image for esp32 (mcconfig -p esp32, xsc, xsl; tens of seconds) …");
	const build = await buildEsp32JsSide(lookup.sdk, {}, false, { manifestDir: app.dir, outDir: appBuildDir(app, "esp32") });
	const of = (module: string) => {
		const file = build.modules.get(module);
		if (!file) throw new Error(`no module ${module} in the fixture's esp32 image`);
		return fs.statSync(file).size;
	};
	const none = of("routes-app/none");
	const perRoute = Object.fromEntries(routeKinds.map(kind => [kind, (of(`routes-app/${kind}`) - none) / 4])) as Record<RouteKind, number>;
	return { httpRoutesModule: of("websocket/http-routes"), serverModule: of("websocket/server"), perRoute };
}

const routesFixture = path.join(projectRoot, "tests", "fixtures", "routes-app");

export async function runRoutesBench(argv: string[]): Promise<number> {
	const options = argumentsOr(parseRoutesArgs, argv, `${routesUsage}\n`);
	if (typeof options === "number") return options;
	const say = options.json ? () => undefined : (text: string) => process.stderr.write(`${text}\n`);
	const bytecode = options.bytecode ? await measureBytecode(say) : undefined;
	const port = await freeTcpPort();
	say("starting the routes fixture's debug build on the simulator (mcconfig -d first) …");
	const memory = await startMemoryDevice({ port: String(port) }, { app: findApp(routesFixture) });
	let result: RoutesResult;
	try {
		const heap = await measureHeap(memory, port, options, say);
		result = { kind: "routes", target: "sim", machine: memory.machine.version, options, bytecode, ...heap };
	} finally {
		await memory.stop();
	}
	process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : renderRoutes(result));
	return 0;
}

export function renderRoutes(r: RoutesResult): string {
	const lines: string[] = [];
	if (r.bytecode) {
		lines.push("| esp32 bytecode | bytes |", "|---|--:|");
		lines.push(`| websocket/http-routes (the HTTP routes module) | ${r.bytecode.httpRoutesModule} |`);
		lines.push(`| websocket/server | ${r.bytecode.serverModule} |`);
		for (const kind of routeKinds) lines.push(`| a route, ${kindNames[kind]}, as written | ${r.bytecode.perRoute[kind]} |`);
		lines.push("");
	}
	lines.push(`| XS heap (${r.machine}) | live slots | on esp32 (x ${boardSlotSize}) | chunk bytes |`, "|---|--:|--:|--:|");
	const row = (name: string, c: HeapDelta) => `| ${name} | ${c.slots} | ${c.slots * boardSlotSize} B | ${c.chunk} |`;
	lines.push(row("the idle fixture", r.idle));
	for (const kind of routeKinds) lines.push(row(`per route: ${kindNames[kind]}`, r.perRoute[kind]));
	lines.push(row("per request in flight: its head not all come", r.inFlight.head));
	lines.push(row("per request in flight: POST, half its 200-byte body come", r.inFlight.body));
	lines.push(row("left after the heads' requests were answered and closed", r.after.head));
	lines.push(row("left after the POSTs were answered and closed", r.after.body));
	lines.push(row("left after requests of every kind (and a 404) were answered and closed", r.after.everyKind));
	return `${lines.join("\n")}\n`;
}
