/*
 * host-harness ws <url>: a WebSocket client for a person (as wscat or
 * websocat), and a one-shot check for scripts.
 *
 * Interactive: each line typed is sent as a text message (a binary one with
 * --binary); /ping [text], /close [code [reason]] and /quit are commands,
 * another word after "/" is refused with the list, and "//text" sends
 * "/text". Ctrl-C closes with 1001 (going away) before it exits 130; the
 * exit is 1 when the server went without a Close.
 * Every frame the server sends is printed on stdout as it arrives, with its
 * opcode, FIN, length, payload (text, or hex for binary) and, for a Close,
 * its code and reason; what this client sends, and connection events, go
 * to stderr. The client answers the server's Pings and its Close as RFC
 * 6455 asks (5.5.2, 5.5.1), over the conformance suite's raw client, so
 * what is shown is the frames as they are on the wire, not reassembled.
 *
 * One-shot (--send/--expect): connect, send each --send in order, wait for
 * a message matching each --expect (text, or /regex/) in order, close with
 * 1000; exit 0 when all matched, 1 otherwise, naming what was expected and
 * what came.
 */
import * as readline from "node:readline";
import { RawConnection } from "../conformance/client.js";
import { frame, Op } from "../conformance/frames.js";
import { opcodeName } from "../conformance/wire-log.js";
import { badValue, CommandFailure, formatHelp, UsageError, unknownArgument } from "../lib/arguments.js";
import { argumentsOr, registerCommand } from "../lib/command.js";

const usage = formatHelp({
	usage: "host-harness ws <ws://host:port/path> [--binary] [--ping [text]] [--send TEXT … --expect TEXT|/REGEX/ …] [--timeout ms]",
	about: `A WebSocket client for a person: connect, type lines to send, see each frame the server
sends (opcode, FIN, length, payload, a Close's code and reason) on stdout as it arrives.
Lines starting with / are commands: /ping [text], /close [code [reason]], /quit
(//text sends /text). Ctrl-C closes with 1001 and exits 130; the exit is 1 when
the server went away without a Close.
With --send and --expect it is a one-shot check for scripts: it sends each --send, waits
for a message matching each --expect in order, closes with 1000, and exits 0 only if
every --expect matched (1 otherwise, saying what came instead).`,
	options: [
		["--binary", "send each line (and each --send) as a binary message, not text"],
		["--ping [text]", "send a Ping first (with this payload) and show the Pong"],
		["--send TEXT", "one-shot: send this message (repeatable, in order)"],
		["--expect TEXT", "one-shot: a message that must come back, exactly, or /regex/ (repeatable)"],
		["--timeout ms", "one-shot: how long to wait for each --expect (default 5000)"],
	],
	examples: [
		"host-harness ws ws://127.0.0.1:8081/ws",
		"host-harness ws ws://127.0.0.1:8081/ws --send hello --expect hello",
		"host-harness ws ws://192.168.1.50/ws --binary --send abc --expect /^abc$/ --timeout 10000",
		"host-harness ws ws://127.0.0.1:8081/ws --ping probe --send x --expect x",
	],
});

interface WsArgs {
	url: URL;
	binary: boolean;
	ping?: string;
	send: string[];
	expect: string[];
	timeoutMs: number;
}

const flags = ["--binary", "--ping", "--send", "--expect", "--timeout", "--help"];

export function parseWsArgs(argv: string[]): WsArgs | "help" {
	let url: URL | undefined;
	const out: Omit<WsArgs, "url"> = { binary: false, send: [], expect: [], timeoutMs: 5000 };
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		if (arg === "--help" || arg === "-h") return "help";
		else if (arg === "--binary") out.binary = true;
		else if (arg === "--ping") out.ping = argv[i + 1] !== undefined && !argv[i + 1].startsWith("--") && !/^wss?:\/\//.test(argv[i + 1]) ? argv[++i] : "";
		else if (arg === "--send" || arg === "--expect") {
			const value = argv[++i];
			if (value === undefined) throw badValue(arg, value, "takes a message");
			(arg === "--send" ? out.send : out.expect).push(value);
		} else if (arg === "--timeout") {
			const value = argv[++i];
			if (!/^\d+$/.test(value ?? "") || Number(value) === 0) throw badValue(arg, value, "takes milliseconds (a whole number above 0)");
			out.timeoutMs = Number(value);
		} else if (arg.startsWith("-")) throw unknownArgument(arg, flags);
		else if (url) throw new UsageError(`one URL only, not also "${arg}"`);
		else {
			if (/^wss:\/\//.test(arg)) throw badValue("<url>", arg, "must be ws:// (this client speaks plain WebSocket; wss:// is not supported)");
			if (!/^ws:\/\/[^/]+/.test(arg)) throw badValue("<url>", arg, "must be ws://host:port/path");
			const port = /^ws:\/\/[^/?#]*:(\d*)(?:[/?#]|$)/.exec(arg)?.[1];
			if (port !== undefined && !(port.length && Number(port) >= 1 && Number(port) <= 65535)) throw badValue("<url>", arg, "has a port outside 1..65535");
			try {
				url = new URL(arg);
			} catch {
				throw badValue("<url>", arg, "must be ws://host:port/path");
			}
		}
	}
	if (!url) throw new UsageError("a ws://host:port/path URL is required");
	return { url, ...out };
}

const printable = (data: Buffer) => data.toString("utf8").replace(/[\x00-\x1f\x7f]/g, c => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
const hex = (data: Buffer, max = 64) => `${[...data.subarray(0, max)].map(b => b.toString(16).padStart(2, "0")).join(" ")}${data.length > max ? " …" : ""}`;

/** One server frame as a line: "< TEXT 5 B hello", "< CLOSE 1000 bye". */
export function describeServerFrame(f: { fin: boolean; opcode: number; payload: Buffer }): string {
	const head = `< ${opcodeName(f.opcode)}${f.fin ? "" : " (FIN 0)"}`;
	if (f.opcode === Op.CLOSE)
		return f.payload.length >= 2
			? `${head} ${f.payload.readUInt16BE(0)}${f.payload.length > 2 ? ` ${printable(f.payload.subarray(2))}` : ""}`
			: `${head} (no code)`;
	const body = f.opcode === Op.BINARY || (f.opcode === Op.CONT && !isText(f.payload)) ? hex(f.payload) : printable(f.payload);
	return `${head} ${f.payload.length} B${f.payload.length ? ` ${body}` : ""}`;
}

const isText = (data: Buffer) => !/[\x00-\x08\x0e-\x1f]/.test(data.toString("latin1"));

function matches(expect: string, text: string): boolean {
	const regex = /^\/(.*)\/([a-z]*)$/s.exec(expect);
	return regex ? new RegExp(regex[1], regex[2]).test(text) : expect === text;
}

registerCommand("ws", {
	summary: "a WebSocket client for a person (type to send, see each frame) or a one-shot --send/--expect check",
	usage,
	parse: parseWsArgs,
	async run(argv) {
		const args = argumentsOr(parseWsArgs, argv, usage);
		if (typeof args === "number") return args;
		let connection: RawConnection;
		try {
			connection = await RawConnection.open(args.url, args.timeoutMs);
		} catch (e) {
			throw new CommandFailure(`cannot connect to ${args.url.href}: ${(e as Error).message}`);
		}
		const say = (text: string) => process.stderr.write(`${text}\n`);
		const interactive = !args.send.length && !args.expect.length;
		// Ctrl-C in a session is caught before "connected to" is printed: until a
		// listener exists, SIGINT is the default kill, however soon it follows the line.
		let interrupted = false;
		const interrupt = interactive
			? new Promise<void>(resolve =>
					process.once("SIGINT", () => {
						interrupted = true;
						resolve();
					}),
				)
			: undefined;
		say(`connected to ${args.url.href} (/ping, /close [code [reason]], /quit; Ctrl-D closes)`);
		connection.onFrame = f => process.stdout.write(`${describeServerFrame(f)}\n`);
		const sendMessage = (text: string) => {
			const data = Buffer.from(text);
			void connection.write(frame(args.binary ? Op.BINARY : Op.TEXT, data));
			say(`> ${args.binary ? "BINARY" : "TEXT"} ${data.length} B`);
		};
		const ping = (text: string) => {
			void connection.write(frame(Op.PING, text));
			say(`> PING ${Buffer.byteLength(text)} B`);
		};
		const closeAndWait = async (code = 1000, reason = "") => {
			if (!connection.closeSent && !connection.tcpClosed) {
				connection.sendClose(code, reason);
				say(`> CLOSE ${code}${reason ? ` ${reason}` : ""}`);
			}
			await connection.waitFor(() => connection.tcpClosed, args.timeoutMs);
			connection.destroy();
		};
		const closedLine = () =>
			say(
				`closed: ${connection.serverClose ? `the server's Close ${connection.serverClose.code ?? "(no code)"}` : "no Close from the server"}${connection.tcpClosed ? ", TCP closed" : ""}${connection.violation ? `; the server broke a rule: ${connection.violation}` : ""}`,
			);

		if (args.ping !== undefined) ping(args.ping);
		if (!interrupt) {
			// One-shot: messages (text, or binary as text) compared in order.
			const messages = () => connection.events.filter(e => e.kind === "message").map(e => (e as { data: Buffer }).data.toString("utf8"));
			for (const text of args.send) sendMessage(text);
			for (let i = 0; i < args.expect.length; i++) {
				await connection.waitFor(() => messages().length > i || connection.tcpClosed, args.timeoutMs);
				const got = messages()[i];
				if (got === undefined || !matches(args.expect[i], got)) {
					await closeAndWait();
					throw new CommandFailure(
						`--expect ${JSON.stringify(args.expect[i])}: ${got === undefined ? `no message ${i + 1} within ${args.timeoutMs} ms${connection.tcpClosed ? " (the connection closed)" : ""}` : `got ${JSON.stringify(got.slice(0, 200))}`}`,
					);
				}
			}
			if (args.ping !== undefined) await connection.waitFor(() => connection.events.some(e => e.kind === "pong") || connection.tcpClosed, args.timeoutMs);
			await closeAndWait();
			closedLine();
			return connection.serverClose?.code === 1000 ? 0 : 1;
		}
		// Interactive: stdin lines until EOF, /quit or Ctrl-C, or until the server closes.
		const lines = readline.createInterface({ input: process.stdin, terminal: false });
		const done = new Promise<void>(resolve => {
			const closed = () => {
				if (connection.tcpClosed) {
					clearInterval(watch);
					resolve();
				}
			};
			const watch = setInterval(closed, 100);
			// Ctrl-C: a Close the server hears (1001, going away, RFC 6455 7.4.1), not a bare FIN.
			void interrupt.then(() => closeAndWait(1001)).then(resolve);
			lines.on("line", line => {
				if (connection.tcpClosed || connection.closeSent) return;
				const [command, ...rest] = line.split(" ");
				if (line.startsWith("//")) sendMessage(line.slice(1));
				else if (command === "/quit") void closeAndWait().then(resolve);
				else if (command === "/ping") ping(rest.join(" "));
				else if (command === "/close") {
					const code = rest[0] && /^\d+$/.test(rest[0]) ? Number(rest[0]) : 1000;
					void closeAndWait(code, rest.slice(rest[0] && /^\d+$/.test(rest[0]) ? 1 : 0).join(" ")).then(resolve);
				} else if (command.startsWith("/") && command.length > 1)
					say(`unknown command ${command}: /ping [text], /close [code [reason]], /quit; //text sends /text`);
				else sendMessage(line);
			});
			lines.on("close", () => void closeAndWait().then(resolve));
		});
		await done;
		lines.close();
		closedLine();
		if (interrupted) return 130;
		return connection.serverClose ? 0 : 1;
	},
});
