/*
 * XsbugLogServer: the debugger end of the xsbug protocol, as a log console.
 *
 * Debug builds of a Moddable app (mcconfig -d) connect to it as they would
 * to xsbug: the simulator directly (XSBUG_HOST/XSBUG_PORT), a board through
 * serial2xsbug. Each connection is a machine. The server prints nothing
 * itself; it turns the stream into events and keeps the recent lines:
 *
 *   machine     a machine logged in (name from its login, tag unique among those connected)
 *   log         one line of trace() output: {machine, time, text}
 *   exception   {machine, time, message, stack: [{name, path, line}]}
 *   break       every break (debugger statement, breakpoint, exception), already answered
 *   instruments the machine's instrument names and units
 *   sample      the latest values, by instrument name (XS heap, slots, timers…)
 *   disconnect  the machine went away
 *   line        each formatted line, as `host-harness logs` prints it
 *
 * It never leaves a machine stopped: the login handshake is answered at once
 * (break on exceptions, so that exceptions come with their stack, then go)
 * and every break is answered with go.
 *
 * collectGarbage() forces a full collection on an idle machine and returns
 * the sample taken right after it (see there). evaluate() runs a compiled
 * program (host-harness/xsbug/compile.ts) at a break it forces, the one
 * break the server holds until the program's result has come; startProgram
 * runs one at the machine's first line of JavaScript, before the app has
 * built anything.
 *
 * Long because it is one job: one protocol session's state (machines,
 * breaks, samples, programs) in one class; the protocol's parsing and
 * formatting are protocol.ts.
 */

import { EventEmitter } from "node:events";
import * as net from "node:net";
import {
	type BreakInfo,
	breakOf,
	commands,
	type EvalResult,
	formatSamples,
	type InstrumentDescription,
	instrumentsOf,
	resultOf,
	type StackFrame,
	samplesOf,
	type XsbugElement,
	XsbugParser,
} from "./protocol.js";

export interface XsbugMachine {
	/** 1, 2, … in order of connection. */
	id: number;
	/** The name from its login ("main" on a board; the app's name on the simulator). */
	name: string;
	/** How lines are labelled: the name, or name#id when another connected machine has that name. */
	tag: string;
	/** The login's value: "XS 17.7.0 64-bit LE 16-bit ID". */
	version: string;
	/** The peer address: "127.0.0.1:54321". */
	remote: string;
	connectedAt: Date;
	connected: boolean;
	instruments: InstrumentDescription[];
	/** The latest sample, by instrument name: { "Chunk used": 4960, "Slot used": 1504, … }. */
	samples: Record<string, number>;
	sampledAt?: Date;
	/** Breaks answered with go so far. */
	breaks: number;
	/** What the start program gave (XsbugLogServerOptions.startProgram), once it ran. */
	startResult?: EvalResult;
}

export interface XsbugLog {
	/** Increases with each log of this server; pass it as waitForLog's `since`. */
	seq: number;
	machine: XsbugMachine;
	/** When the line began to arrive. */
	time: Date;
	/** The line without its line ending. */
	text: string;
	/** Reports (# Error:, breakpoint traces) say where they come from. */
	path?: string;
	line?: number;
}

export interface XsbugException {
	seq: number;
	machine: XsbugMachine;
	time: Date;
	/** "RangeError: boom", or for a C exception "C: xsThrow". */
	message: string;
	path?: string;
	line?: number;
	/** Innermost first. From a break: every frame; from a "# Exception:" report: the one location it gives. */
	stack: StackFrame[];
	/** break: the machine stopped on it (break on exceptions) and was resumed; log: it only reported it; abort: "XS abort" then a break. */
	source: "break" | "log" | "abort";
}

export interface XsbugBreak extends BreakInfo {
	machine: XsbugMachine;
	time: Date;
}

export interface XsbugSample {
	machine: XsbugMachine;
	time: Date;
	values: Record<string, number>;
}

/** A sample taken right after a forced full garbage collection. */
export interface XsbugCollection extends XsbugSample {
	/** The message of the break that collected: "C: xsDebugger" for an idle machine. */
	breakMessage: string;
}

export interface XsbugEvents {
	machine: [XsbugMachine];
	log: [XsbugLog];
	exception: [XsbugException];
	break: [XsbugBreak];
	instruments: [{ machine: XsbugMachine; instruments: InstrumentDescription[] }];
	sample: [XsbugSample];
	disconnect: [XsbugMachine];
	line: [string];
}

export interface XsbugLogServerOptions {
	/** Break on exceptions, so each comes with its stack (then go). Off: the machine only reports "# Exception: …" with a path and line. Default true. */
	breakOnExceptions?: boolean;
	/** Lines (and logs, exceptions) kept in memory. Default 10000. */
	maxLines?: number;
	/** A trace without "\n" is printed after this long if nothing continues it. Default 500 ms. */
	partialLineMs?: number;
	/**
	 * A compiled program (compile.ts) each machine runs at its first line of
	 * JavaScript (break on start), before its app has built anything; its
	 * result is the machine's startResult.
	 */
	startProgram?: Uint8Array;
}

/** A program waiting for a break to run at, or running. */
interface Evaluation {
	code: Uint8Array;
	resolve(result: EvalResult): void;
	reject(error: Error): void;
}

interface Connection {
	machine: XsbugMachine;
	socket: net.Socket;
	parser: XsbugParser;
	loggedIn: boolean;
	partial?: { text: string; time: Date; path?: string; line?: number };
	partialTimer?: NodeJS.Timeout;
	/** An "XS abort: …" line just logged: the break that follows is that abort. */
	abort?: string;
	/** When the machine was last told to go (after its login or a break). */
	resumedAt: number;
	/** Programs to run at the next break, in order; the one sent, until its <result>. */
	evaluations: Evaluation[];
	evaluating?: Evaluation;
	/** The innermost frame of the current break. */
	breakFrame?: string;
}

/** How long after a go collectGarbage waits before its step, and how often it sends the step again. */
const resumeSettleMs = 100;
const stepRetryMs = 1500;
/** The break of a machine that was idle when it read <step/> (lin_xs.c fxReadableCallback). */
const idleBreak = "C: xsDebugger";

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** Local time of day with milliseconds: 12:01:02.345. */
export function formatTime(time: Date): string {
	return `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}.${pad(time.getMilliseconds(), 3)}`;
}

export function formatFrame(frame: StackFrame): string {
	return frame.path
		? `at ${frame.name || "(anonymous)"} (${frame.path}${frame.line !== undefined ? `:${frame.line}` : ""})`
		: `at ${frame.name || "(anonymous)"}`;
}

export class XsbugLogServer extends EventEmitter<XsbugEvents> {
	readonly machines: XsbugMachine[] = [];
	readonly lines: string[] = [];
	readonly logs: XsbugLog[] = [];
	readonly exceptions: XsbugException[] = [];
	readonly breakOnExceptions: boolean;
	readonly maxLines: number;
	readonly partialLineMs: number;
	readonly startProgram?: Uint8Array;
	#server?: net.Server;
	#connections = new Set<Connection>();
	#seq = 0;
	#port = 0;
	#machineIds = 0;
	#collecting: Promise<unknown> = Promise.resolve();

	constructor(options: XsbugLogServerOptions = {}) {
		super();
		this.breakOnExceptions = options.breakOnExceptions ?? true;
		this.maxLines = options.maxLines ?? 10_000;
		this.partialLineMs = options.partialLineMs ?? 500;
		this.startProgram = options.startProgram;
	}

	/** The port listened on (after start). */
	get port(): number {
		return this.#port;
	}

	/** Listen for machines; resolves with the port (pass 0 for any free one). host: all interfaces unless given, as xsbug. */
	start(port = 5002, host?: string): Promise<number> {
		if (this.#server) return Promise.reject(new Error("the xsbug log server is already started"));
		const server = net.createServer(socket => this.#accept(socket));
		this.#server = server;
		return new Promise((resolve, reject) => {
			server.once("error", (error: NodeJS.ErrnoException) => {
				this.#server = undefined;
				if (error.code === "EADDRINUSE")
					reject(
						new Error(
							`port ${port} is in use: is xsbug (or xsbug-log, or another host-harness logs) already running? quit it or use --port (then XSBUG_PORT=<port> for the simulator, serial2xsbug reads XSBUG_PORT too)`,
						),
					);
				else if (error.code === "EACCES") reject(new Error(`not allowed to listen on port ${port}: use --port with a number above 1023`));
				else if (error.code === "EADDRNOTAVAIL") reject(new Error(`cannot listen on ${host}: not an address of this machine (--host)`));
				else reject(error);
			});
			server.listen(port, host, () => {
				this.#port = (server.address() as net.AddressInfo).port;
				resolve(this.#port);
			});
		});
	}

	/** Listen for machines on a Unix socket instead (a relay brings them: host-harness/lib/netns-relay.ts). */
	startOnPath(socketPath: string): Promise<void> {
		if (this.#server) return Promise.reject(new Error("the xsbug log server is already started"));
		const server = net.createServer(socket => this.#accept(socket));
		this.#server = server;
		return new Promise((resolve, reject) => {
			server.once("error", error => {
				this.#server = undefined;
				reject(error);
			});
			server.listen(socketPath, () => resolve());
		});
	}

	/** The current log sequence number: logs after this point have seq greater than it. */
	mark(): number {
		return this.#seq;
	}

	/** The latest sample values of a machine (by tag or name; the most recent machine if omitted). */
	samples(machine?: string): Record<string, number> {
		const m = this.#findMachine(machine);
		return m ? { ...m.samples } : {};
	}

	/**
	 * Force a full garbage collection on an idle machine and resolve with the
	 * instrumentation sample taken right after it.
	 *
	 * How: <step/> to a machine that runs no JavaScript (no frame) sets its
	 * break-on-start flag (xsDebug.c fxStep); the simulator then breaks at once
	 * from its debugger-socket callback with "C: xsDebugger" (lin_xs.c
	 * fxReadableCallback). Every break of an instrumented debug build first
	 * calls the host's onBreak, which runs fxCollectGarbage (a compacting
	 * collection of slots, chunks and keys) and sends a sample at once
	 * (build/simulators/modules/screen.c debugBreak; the mc platforms'
	 * modDebugBreak likewise), then echoes the <break>; this server answers
	 * it with go. So the last sample before that break is the heap just
	 * after a full collection: "Chunk used" is the live chunk bytes and
	 * "Slot used" the live slots times sizeof(txSlot), in bytes.
	 *
	 * Only a break from idle counts: a step read while JavaScript runs (XS
	 * reads the debugger at each line) breaks with "step" mid-callback, where
	 * the collection keeps that code's temporaries; then it steps again.
	 * One collection at a time per server; rejects when the machine is gone,
	 * when a break comes without a sample before it (a build without
	 * instrumentation), or after timeoutMs.
	 */
	collectGarbage(machine?: string, timeoutMs = 10_000): Promise<XsbugCollection> {
		const run = this.#collecting.then(() => this.#collectOnce(machine, timeoutMs));
		this.#collecting = run.catch(() => undefined);
		return run;
	}

	async #collectOnce(name: string | undefined, timeoutMs: number): Promise<XsbugCollection> {
		const machine = this.#findMachine(name);
		const connection = machine && [...this.#connections].find(c => c.machine === machine);
		if (!machine || !connection || !machine.connected) throw new Error(`no connected machine${name ? ` "${name}"` : ""} to collect garbage on`);
		const deadline = Date.now() + timeoutMs;
		const seen: string[] = [];
		while (Date.now() < deadline) {
			// A <step/> that reaches the machine with the <go/> ending a break is
			// read inside that break, where it only marks the break's frames, and
			// is lost: let the go arrive first.
			const settle = connection.resumedAt + resumeSettleMs - Date.now();
			if (settle > 0) await new Promise(resolve => setTimeout(resolve, settle));
			const outcome = await this.#stepOnce(connection, Math.min(stepRetryMs, Math.max(1, deadline - Date.now())));
			if (outcome === undefined) continue; // the step was lost (read while JavaScript ran, which ended before another line): again
			if (!outcome.sample) throw new Error(`the machine broke (${outcome.message}) without sending a sample first: is it an instrumented debug build?`);
			// "C: xsDebugger": the step was read while the machine was idle, the
			// collection saw only what the app keeps. "step": it was read while
			// JavaScript ran (xsRun.c reads the debugger at each line) and the
			// collection also kept that code's temporaries: again.
			if (outcome.message === idleBreak) return { ...outcome.sample, values: { ...outcome.sample.values }, breakMessage: outcome.message };
			seen.push(outcome.message);
		}
		throw new Error(
			`no idle break within ${timeoutMs} ms of <step/>${seen.length ? ` (breaks seen: ${seen.join(", ")})` : ""}: the machine is busy, or does not break on a step while idle`,
		);
	}

	/** Send <step/> and wait for the next break (not an exception) of that machine, with the sample before it; undefined after waitMs. */
	#stepOnce(connection: Connection, waitMs: number): Promise<{ message: string; sample?: XsbugSample } | undefined> {
		const machine = connection.machine;
		return new Promise((resolve, reject) => {
			let last: XsbugSample | undefined;
			const onSample = (sample: XsbugSample) => {
				if (sample.machine === machine) last = sample;
			};
			const onBreak = (info: XsbugBreak) => {
				if (info.machine !== machine || info.kind === "exception") return;
				done();
				resolve({ message: info.message, sample: last });
			};
			const onDisconnect = (gone: XsbugMachine) => {
				if (gone !== machine) return;
				done();
				reject(new Error("the machine disconnected before collecting garbage"));
			};
			const timer = setTimeout(() => {
				done();
				resolve(undefined);
			}, waitMs);
			const done = () => {
				clearTimeout(timer);
				this.off("sample", onSample);
				this.off("break", onBreak);
				this.off("disconnect", onDisconnect);
			};
			this.on("sample", onSample);
			this.on("break", onBreak);
			this.on("disconnect", onDisconnect);
			this.#send(connection, commands.step());
		});
	}

	/**
	 * Run a compiled program (compile.ts) on a machine and resolve with its
	 * value, or reject with the exception it threw. How: <step/> makes the
	 * machine break (from idle, or at the next line of running code: again
	 * every stepRetryMs until one comes); at that break the server sends
	 * <eval> in the break's innermost frame instead of go, and go once the
	 * <result> has come. The program sees the machine's globals. Its
	 * garbage (the function it is, what it made) goes at the next
	 * collection; the names it is the first to use stay as keys. One at a
	 * time per server, in turn with collectGarbage.
	 */
	evaluate(code: Uint8Array, machine?: string, timeoutMs = 10_000): Promise<EvalResult> {
		const run = this.#collecting.then(() => this.#evaluateOnce(machine, code, timeoutMs));
		this.#collecting = run.catch(() => undefined);
		return run;
	}

	async #evaluateOnce(name: string | undefined, code: Uint8Array, timeoutMs: number): Promise<EvalResult> {
		const machine = this.#findMachine(name);
		const connection = machine && [...this.#connections].find(c => c.machine === machine);
		if (!machine || !connection || !machine.connected) throw new Error(`no connected machine${name ? ` "${name}"` : ""} to evaluate on`);
		const settle = connection.resumedAt + resumeSettleMs - Date.now();
		if (settle > 0) await new Promise(resolve => setTimeout(resolve, settle));
		return new Promise<EvalResult>((resolve, reject) => {
			let retry: NodeJS.Timeout | undefined;
			const finish = () => {
				clearTimeout(timer);
				clearInterval(retry);
				this.off("disconnect", onDisconnect);
			};
			const job: Evaluation = {
				code,
				resolve: result => {
					finish();
					resolve(result);
				},
				reject: error => {
					finish();
					reject(error);
				},
			};
			const onDisconnect = (gone: XsbugMachine) => {
				if (gone === machine) job.reject(new Error("the machine disconnected before the program ran"));
			};
			const timer = setTimeout(() => {
				const queued = connection.evaluations.indexOf(job);
				if (queued >= 0) connection.evaluations.splice(queued, 1);
				else if (connection.evaluating === job) {
					connection.evaluating = undefined;
					this.#resume(connection);
				}
				job.reject(new Error(`no result of the program within ${timeoutMs} ms${queued >= 0 ? " (no break came)" : ""}`));
			}, timeoutMs);
			this.on("disconnect", onDisconnect);
			connection.evaluations.push(job);
			this.#send(connection, commands.step());
			// A step read while a break ended is lost (see collectGarbage): again until the program is sent.
			retry = setInterval(() => {
				if (connection.evaluations.includes(job)) this.#send(connection, commands.step());
			}, stepRetryMs);
		});
	}

	/**
	 * The first log matching the pattern, among the logs kept with seq > since
	 * (all of them by default) and those to come; rejects after timeoutMs.
	 */
	waitForLog(pattern: RegExp | string, timeoutMs = 10_000, options: { since?: number; machine?: string } = {}): Promise<XsbugLog> {
		const test = (log: XsbugLog) =>
			(typeof pattern === "string" ? log.text.includes(pattern) : pattern.test(log.text)) &&
			(!options.machine || log.machine.tag === options.machine || log.machine.name === options.machine);
		return this.#waitFor("log", this.logs, test, options.since, timeoutMs, `log matching ${String(pattern)}`);
	}

	/** The first exception whose message matches (any if no pattern), kept or to come. */
	waitForException(pattern?: RegExp | string, timeoutMs = 10_000, options: { since?: number } = {}): Promise<XsbugException> {
		const test = (e: XsbugException) => !pattern || (typeof pattern === "string" ? e.message.includes(pattern) : pattern.test(e.message));
		return this.#waitFor("exception", this.exceptions, test, options.since, timeoutMs, `exception${pattern ? ` matching ${String(pattern)}` : ""}`);
	}

	/** The first machine to log in (or one already connected). */
	waitForMachine(timeoutMs = 10_000): Promise<XsbugMachine> {
		const connected = this.machines.find(m => m.connected);
		if (connected) return Promise.resolve(connected);
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.off("machine", listener);
				reject(new Error(`no machine connected to port ${this.#port} within ${timeoutMs} ms`));
			}, timeoutMs);
			const listener = (m: XsbugMachine) => {
				clearTimeout(timer);
				resolve(m);
			};
			this.once("machine", listener);
		});
	}

	/** Disconnect every machine (they run on without a debugger) and stop listening. */
	async close(): Promise<void> {
		for (const connection of this.#connections) connection.socket.destroy();
		const server = this.#server;
		this.#server = undefined;
		if (server) await new Promise<void>(resolve => server.close(() => resolve()));
	}

	#waitFor<T extends { seq: number }>(
		event: "log" | "exception",
		kept: T[],
		test: (item: T) => boolean,
		since = -1,
		timeoutMs: number,
		what: string,
	): Promise<T> {
		const found = kept.find(item => item.seq > since && test(item));
		if (found) return Promise.resolve(found);
		return new Promise((resolve, reject) => {
			const listener = (item: T) => {
				if (!test(item)) return;
				clearTimeout(timer);
				this.off(event, listener as never);
				resolve(item);
			};
			const timer = setTimeout(() => {
				this.off(event, listener as never);
				const recent = this.lines
					.slice(-10)
					.map(l => `  ${l}`)
					.join("\n");
				reject(new Error(`no ${what} within ${timeoutMs} ms${recent ? `; the last lines:\n${recent}` : " (nothing logged)"}`));
			}, timeoutMs);
			this.on(event, listener as never);
		});
	}

	#findMachine(name?: string): XsbugMachine | undefined {
		if (!name) return this.machines.at(-1);
		return [...this.machines].reverse().find(m => m.tag === name || m.name === name);
	}

	#accept(socket: net.Socket): void {
		socket.setNoDelay(true);
		const machine: XsbugMachine = {
			id: ++this.#machineIds,
			name: "",
			tag: "",
			version: "",
			remote: `${(socket.remoteAddress ?? "?").replace(/^::ffff:/, "")}:${socket.remotePort ?? "?"}`,
			connectedAt: new Date(),
			connected: true,
			instruments: [],
			samples: {},
			breaks: 0,
		};
		const connection: Connection = { machine, socket, parser: new XsbugParser(), loggedIn: false, resumedAt: Date.now(), evaluations: [] };
		this.#connections.add(connection);
		socket.on("data", chunk => {
			for (const message of connection.parser.feed(chunk)) this.#message(connection, message);
		});
		socket.on("error", () => {
			// A machine reset or unplugged: "close" follows.
		});
		socket.on("close", () => {
			this.#connections.delete(connection);
			for (const job of [...(connection.evaluating ? [connection.evaluating] : []), ...connection.evaluations.splice(0)])
				job.reject(new Error("the machine disconnected before the program ran"));
			connection.evaluating = undefined;
			this.#flushPartial(connection);
			if (!machine.connected) return;
			machine.connected = false;
			if (connection.loggedIn) {
				this.#line(`${formatTime(new Date())} [${machine.tag}] # disconnected`);
				this.emit("disconnect", machine);
			}
		});
	}

	#send(connection: Connection, text: string): void {
		if (!connection.socket.destroyed && connection.socket.writable) connection.socket.write(text);
	}

	#message(connection: Connection, message: XsbugElement): void {
		if (message.name !== "xsbug") return;
		const now = new Date();
		for (const element of message.children) {
			switch (element.name) {
				case "login":
					this.#login(connection, element, now);
					break;
				case "log":
					this.#log(connection, element, now);
					break;
				case "bubble": {
					const conversation = element.attributes.name;
					this.#logText(connection, `${conversation ? `${conversation}: ` : ""}${element.text}${element.text.endsWith("\n") ? "" : "\n"}`, now);
					break;
				}
				case "instruments":
					this.#instruments(connection, element);
					break;
				case "samples":
					this.#samples(connection, element, now);
					break;
			}
		}
		const result = resultOf(message);
		if (result && connection.evaluating) {
			const job = connection.evaluating;
			connection.evaluating = undefined;
			job.resolve(result);
			// The next program at the same break, or go.
			if (!this.#evaluateNext(connection)) this.#resume(connection);
		}
		const info = breakOf(message);
		if (info) this.#break(connection, info, now);
	}

	#login(connection: Connection, element: XsbugElement, now: Date): void {
		const machine = connection.machine;
		// Answer first: the machine waits for it.
		const start = this.startProgram !== undefined && !connection.loggedIn;
		const exceptions = this.breakOnExceptions ? "" : commands.clearBreakpoint({ path: "exceptions", line: 0 });
		if (this.breakOnExceptions || start)
			this.#send(connection, exceptions + commands.setAllBreakpoints({ exceptions: this.breakOnExceptions, start }) + commands.go());
		else this.#send(connection, exceptions + commands.go());
		connection.resumedAt = Date.now();
		if (connection.loggedIn) return;
		if (start) {
			// Run at the break on start (the machine's first line of JavaScript).
			connection.evaluations.push({
				code: this.startProgram!,
				resolve: result => {
					machine.startResult = result;
				},
				reject: () => undefined,
			});
		}
		connection.loggedIn = true;
		machine.name = element.attributes.name || "xs";
		machine.version = element.attributes.value ?? "";
		const clash = this.machines.some(m => m !== machine && m.connected && m.name === machine.name);
		machine.tag = clash ? `${machine.name}#${machine.id}` : machine.name;
		machine.connectedAt = now;
		this.machines.push(machine);
		this.#line(`${formatTime(now)} [${machine.tag}] # connected: ${machine.version || "XS"} from ${machine.remote}`);
		this.emit("machine", machine);
	}

	#log(connection: Connection, element: XsbugElement, now: Date): void {
		const text = element.text;
		const path = element.attributes.path;
		const line = element.attributes.line !== undefined ? Number(element.attributes.line) : undefined;
		if (text.startsWith("# Exception: ")) {
			this.#flushPartial(connection);
			const message = text
				.slice(13)
				.replace(/\r?\n$/, "")
				.replace(/!$/, "");
			const exception: Omit<XsbugException, "seq"> = {
				machine: connection.machine,
				time: now,
				message,
				stack: path ? [{ name: "", path, ...(line !== undefined ? { line } : {}) }] : [],
				source: "log",
			};
			if (path) exception.path = path;
			if (line !== undefined) exception.line = line;
			this.#exception(exception);
			return;
		}
		this.#logText(connection, text, now, path, line);
	}

	#logText(connection: Connection, text: string, now: Date, path?: string, line?: number): void {
		let rest = text;
		for (;;) {
			const newline = rest.indexOf("\n");
			if (newline < 0) break;
			const piece = rest.slice(0, newline);
			rest = rest.slice(newline + 1);
			const partial = connection.partial;
			connection.partial = undefined;
			clearTimeout(connection.partialTimer);
			this.#emitLog(connection, (partial?.text ?? "") + piece, partial?.time ?? now, partial?.path ?? path, partial?.line ?? line);
		}
		if (rest) {
			if (connection.partial) connection.partial.text += rest;
			else connection.partial = { text: rest, time: now, ...(path ? { path } : {}), ...(line !== undefined ? { line } : {}) };
			clearTimeout(connection.partialTimer);
			connection.partialTimer = setTimeout(() => this.#flushPartial(connection), this.partialLineMs);
			connection.partialTimer.unref();
		}
	}

	#flushPartial(connection: Connection): void {
		clearTimeout(connection.partialTimer);
		const partial = connection.partial;
		connection.partial = undefined;
		if (partial) this.#emitLog(connection, partial.text, partial.time, partial.path, partial.line);
	}

	#emitLog(connection: Connection, raw: string, time: Date, path?: string, line?: number): void {
		const text = raw.replace(/\r$/, "");
		const log: XsbugLog = { seq: ++this.#seq, machine: connection.machine, time, text };
		if (path) log.path = path;
		if (line !== undefined && Number.isFinite(line)) log.line = line;
		if (text.startsWith("XS abort:")) connection.abort = text;
		this.#keep(this.logs, log);
		this.#line(`${formatTime(time)} [${connection.machine.tag}] ${text}${path ? ` (${path}${log.line !== undefined ? `:${log.line}` : ""})` : ""}`);
		this.emit("log", log);
	}

	#break(connection: Connection, info: BreakInfo, now: Date): void {
		const machine = connection.machine;
		const abort = connection.abort;
		connection.abort = undefined;
		// Resume first, the machine waits; or run the programs waiting for a break, then resume. Then report.
		const held = !abort && this.#evaluateNext(connection, info.stack[0]?.id);
		if (!held) this.#resume(connection);
		this.#flushPartial(connection);
		machine.breaks++;
		const where = info.path ? ` at ${info.path}${info.line !== undefined ? `:${info.line}` : ""}` : "";
		if (info.kind === "exception" || (abort && info.message === "C: xsDebugger")) {
			const exception: Omit<XsbugException, "seq"> = {
				machine,
				time: now,
				message: info.kind === "exception" ? info.message : abort!,
				stack: info.stack,
				source: info.kind === "exception" ? "break" : "abort",
			};
			if (info.path) exception.path = info.path;
			if (info.line !== undefined) exception.line = info.line;
			this.#exception(exception);
		} else this.#line(`${formatTime(now)} [${machine.tag}] # Break: ${info.message}${where} (${held ? "evaluating, then resumed" : "resumed"})`);
		this.emit("break", { ...info, machine, time: now });
	}

	/** Send go: the machine runs on. */
	#resume(connection: Connection): void {
		this.#send(connection, commands.go());
		connection.resumedAt = Date.now();
	}

	/** At a break (in frame `frameId`, the innermost; kept for the next program at the same break): send the next waiting program. */
	#evaluateNext(connection: Connection, frameId?: string): boolean {
		if (frameId !== undefined) connection.breakFrame = frameId;
		const job = connection.evaluations.shift();
		if (!job) return false;
		const frame = connection.breakFrame;
		if (!frame) {
			job.reject(new Error("the break named no frame to evaluate in"));
			return this.#evaluateNext(connection);
		}
		connection.evaluating = job;
		this.#send(connection, commands.evaluate(frame, job.code));
		return true;
	}

	#exception(partial: Omit<XsbugException, "seq">): void {
		const exception: XsbugException = { seq: ++this.#seq, ...partial };
		this.#keep(this.exceptions, exception);
		const prefix = `${formatTime(exception.time)} [${exception.machine.tag}]`;
		const where = exception.stack.length === 0 && exception.path ? ` (${exception.path}${exception.line !== undefined ? `:${exception.line}` : ""})` : "";
		this.#line(`${prefix} # Exception: ${exception.message}${where}`);
		for (const frame of exception.stack) this.#line(`${prefix}     ${formatFrame(frame)}`);
		this.emit("exception", exception);
	}

	#instruments(connection: Connection, element: XsbugElement): void {
		const machine = connection.machine;
		machine.instruments = instrumentsOf(element);
		this.emit("instruments", { machine, instruments: machine.instruments });
	}

	#samples(connection: Connection, element: XsbugElement, now: Date): void {
		const machine = connection.machine;
		const values = samplesOf(element);
		const named: Record<string, number> = {};
		machine.instruments.forEach((instrument, i) => {
			if (i < values.length) named[instrument.name] = values[i];
		});
		machine.samples = named;
		machine.sampledAt = now;
		this.emit("sample", { machine, time: now, values: named });
	}

	/** One sample as a line: "Chunk used: 4960 / 32768 bytes, …". */
	formatSample(machine: XsbugMachine): string {
		return formatSamples(
			machine.instruments,
			machine.instruments.map(i => machine.samples[i.name]),
		);
	}

	#keep<T>(list: T[], item: T): void {
		list.push(item);
		if (list.length > this.maxLines + 1000) list.splice(0, list.length - this.maxLines);
	}

	#line(line: string): void {
		this.#keep(this.lines, line);
		this.emit("line", line);
	}
}

/** The XS heap figures of a sample in one short line: chunks, slots, stack, collections. */
export function compactSample(text: string): string {
	return (
		text
			.split(", ")
			.filter(part => /chunk|slot|stack|garbage/i.test(part))
			.join(", ") || text
	);
}
