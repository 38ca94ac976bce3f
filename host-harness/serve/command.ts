/*
 * host-harness serve [--tcp-port 8080] [--ws-port 5000] [--ws-path /] [--udp <host:port>] [--tls [--ca-out dir]] [--duration s]
 *
 * The PC peers a device's clients talk to: the TCP echo peer (it waits for
 * the device's greeting, then sends a payload every second and checks the
 * echo) and the WebSocket echo peer; with --udp, a UDP sender that sends the
 * device's UDP echo server a datagram every second. It prints each peer's
 * address and this PC's LAN addresses, to put in the device's config.
 * With --tls the TCP and WebSocket peers speak TLS with a CA made for the
 * run (serve/tls.ts), whose certificate it prints for the device's config.
 */

import { randomBytes } from "node:crypto";
import * as os from "node:os";
import { badValue, CommandFailure, portValue, secondsValue, unknownArgument } from "../lib/arguments.js";
import { registerCommand } from "../lib/command.js";
import { untilStopped } from "../lib/interrupt.js";
import { type UdpSender, udpSender } from "../oracle/udp-echo.js";
import { TcpPeer } from "../peers/tcp-peer.js";
import { WsPeer } from "../peers/ws-peer.js";
import { type ServeTls, serveTls, tlsInstructions } from "./tls.js";

const usage = `usage: host-harness serve [--tcp-port 8080] [--ws-port 5000] [--ws-path /] [--udp <device-host:port>] [--tls [--ca-out <dir>]] [--duration <s>]

Runs the peers for a device's clients until Ctrl-C (or --duration):
  TCP echo peer        the device's TCP client connects here (tcpClientHost/tcpClientPort)
  WebSocket echo peer  the device's WebSocket client connects here (wsClientUri)
  UDP sender           with --udp, a datagram a second to the device's UDP echo server

options:
  --tcp-port N     the TCP echo peer's port (default 8080; 0: any free port)
  --ws-port N      the WebSocket echo peer's port (default 5000; 0: any free port)
  --ws-path P      the WebSocket echo peer's path (default /)
  --udp host:port  send the device's UDP echo server a datagram a second
  --tls            the TCP and WebSocket peers speak TLS (wss://) with a test CA made for this run
                   (needs the openssl command); prints the CA for tcpClientCa/wsClientCa
  --ca-out <dir>   with --tls: also write the CA as xsnk-test-ca.pem/.der there, for a manifest resource
  --duration S     stop after S seconds (default: until Ctrl-C)

examples:
  host-harness serve
  host-harness serve --tcp-port 7681 --ws-port 5000 --udp 192.168.1.50:9000
  host-harness serve --tls
  then flash:  npm run flash -- ssid=… password=… tcpClient=true tcpClientHost=<this PC> wsClient=true wsClientUri=ws://<this PC>:5000/`;

export function lanAddresses(): string[] {
	return Object.values(os.networkInterfaces())
		.flat()
		.filter((i): i is os.NetworkInterfaceInfo => !!i && i.family === "IPv4" && !i.internal)
		.map(i => i.address);
}

interface ServeArgs {
	tcpPort: number;
	wsPort: number;
	wsPath: string;
	/** The device's UDP echo server, host:port; "" for none. */
	udp: string;
	/** Seconds; 0: until Ctrl-C. */
	duration: number;
	secure: boolean;
	caOut?: string;
}

export function parseServeArgs(args: string[]): ServeArgs | "help" {
	const parsed: ServeArgs = { tcpPort: 8080, wsPort: 5000, wsPath: "/", udp: "", duration: 0, secure: false };
	for (let i = 0; i < args.length; i++) {
		const arg = args[i];
		if (arg === "--help" || arg === "-h") return "help";
		if (arg === "--tls") {
			parsed.secure = true;
			continue;
		}
		const value = args[++i];
		if (arg === "--tcp-port") parsed.tcpPort = portValue(arg, value);
		else if (arg === "--ws-port") parsed.wsPort = portValue(arg, value);
		else if (arg === "--ws-path") {
			if (!value?.startsWith("/")) throw badValue(arg, value, "takes a path starting with /");
			parsed.wsPath = value;
		} else if (arg === "--udp") {
			if (!/^[^:]+:\d+$/.test(value ?? "")) throw badValue(arg, value, "takes the device's host:port");
			portValue(arg, value!.split(":")[1]);
			parsed.udp = value!;
		} else if (arg === "--duration") parsed.duration = secondsValue(arg, value);
		else if (arg === "--ca-out") {
			if (!value) throw badValue(arg, value, "takes a directory");
			parsed.caOut = value;
		} else throw unknownArgument(arg, ["--tcp-port", "--ws-port", "--ws-path", "--udp", "--duration", "--tls", "--ca-out", "--help"]);
	}
	return parsed;
}

registerCommand("serve", {
	summary: "run the PC peers a device's clients talk to (TCP echo peer, WebSocket echo peer, UDP sender)",
	usage,
	parse: parseServeArgs,
	async run(argv) {
		const args = parseServeArgs(argv);
		if (args === "help") {
			console.log(usage);
			return 0;
		}
		const { tcpPort, wsPort, wsPath, udp, duration, secure, caOut } = args;
		const lan = lanAddresses();
		const tls: ServeTls | undefined = secure ? serveTls(lan, caOut) : undefined;
		// A port taken is a failure the user acts on: one line, no stack.
		const tcp = await TcpPeer.start(tcpPort, "0.0.0.0", tls?.tcpGate).catch(e => {
			throw new CommandFailure(`TCP echo peer: ${(e as Error).message} (--tcp-port)`);
		});
		const ws = await WsPeer.start(wsPort, "0.0.0.0", wsPath, tls?.wsGate).catch(async e => {
			await tcp.close();
			throw new CommandFailure(`WebSocket echo peer: ${(e as Error).message} (--ws-port)`);
		});
		// Ctrl-C and SIGTERM stop the peers cleanly from before the first line a script may wait for.
		const { stopped, stop } = untilStopped();
		console.log(`TCP echo peer       on port ${tcp.port}`);
		console.log(`WebSocket echo peer on port ${ws.port}, path ${wsPath}${tls ? " (wss://)" : ""}`);
		console.log(`this PC: ${lan.length ? lan.join(", ") : "no LAN address (loopback only)"}`);
		const here = lan[0] ?? "127.0.0.1";
		if (tls) {
			for (const line of tlsInstructions(tls, here, tcp.port, ws.port, wsPath, caOut)) console.log(line);
		} else
			console.log(`device config: tcpClient=true tcpClientHost=${here} tcpClientPort=${tcp.port} wsClient=true wsClientUri=ws://${here}:${ws.port}${wsPath}`);

		const timers: NodeJS.Timeout[] = [];
		tcp.on("session", session => {
			console.log(`[tcp] device connected from ${session.remote}`);
			session.greeting.then(
				text => {
					console.log(`[tcp] ${session.remote} greeted: "${text}"`);
					let n = 0;
					const timer = setInterval(async () => {
						const payload = randomBytes(64 + (n++ % 16) * 64);
						try {
							const back = await session.echo(payload, 5000);
							console.log(`[tcp] ${session.remote}: ${payload.length} bytes, echo ${back.equals(payload) ? "matches" : "DIFFERS"}`);
						} catch (e) {
							console.log(`[tcp] ${session.remote}: ${(e as Error).message}`);
							clearInterval(timer);
						}
					}, 1000);
					timers.push(timer);
					session.closed.then(() => {
						clearInterval(timer);
						console.log(`[tcp] ${session.remote} closed`);
					});
				},
				e => console.log(`[tcp] ${session.remote}: no greeting (${(e as Error).message})`),
			);
		});
		ws.on("session", session => {
			console.log(`[ws] device connected from ${session.remote}`);
			session.emitter.on("message", m =>
				console.log(`[ws] ${session.remote}: ${m.binary ? `${m.data.length} bytes binary` : `"${m.data.toString().slice(0, 60)}"`} echoed`),
			);
			session.closed.then(({ code, reason }) => console.log(`[ws] ${session.remote} closed ${code}${reason ? ` "${reason}"` : ""}`));
		});
		let sender: UdpSender | undefined;
		if (udp) {
			const [host, port] = udp.split(":");
			sender = await udpSender({ host, port: Number(port) });
			let n = 0;
			timers.push(
				setInterval(async () => {
					const text = Buffer.from(`datagram ${++n}`);
					try {
						const { data } = await sender!.echo(text, 900);
						console.log(`[udp] ${udp}: ${text.length} bytes, echo ${data.equals(text) ? "matches" : "DIFFERS"}`);
					} catch (e) {
						console.log(`[udp] ${udp}: ${(e as Error).message}`);
					}
				}, 1000),
			);
		}
		if (duration > 0) setTimeout(stop, duration * 1000);
		await stopped;
		for (const timer of timers) clearInterval(timer);
		sender?.close();
		await tcp.close();
		await ws.close();
		return 0;
	},
});
