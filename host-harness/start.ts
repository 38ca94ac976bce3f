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
import { HostTarget, RunningDevice, startDevice } from "./device/targets.js";
import { planTiers } from "./lib/tiers.js";
import { freeServicePorts } from "./lib/ports.js";
import { TcpPeer } from "./peers/tcp-peer.js";
import { echoOnce, sha256 } from "./oracle/tcp-echo.js";
import { udpSender, UdpSender } from "./oracle/udp-echo.js";
import { WsPeer } from "./peers/ws-peer.js";
import { nextMessage, openWs } from "./oracle/ws-echo.js";

interface Options {
	target?: HostTarget;
	duration?: number;
}

function parseArgs(argv: string[]): Options {
	const options: Options = {};
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		if (arg === "--target" || arg === "-t")
			options.target = argv[++i] as HostTarget;
		else if (arg === "--duration" || arg === "-d")
			options.duration = Number(argv[++i]);
		else if (arg === "--help" || arg === "-h") {
			process.stdout.write(`usage: npm start [-- --target node|sim] [--duration <seconds>]

Runs the device app (simulator if the Moddable SDK is installed, else Node-hosted),
the harness peers, and a live dialogue between them until Ctrl-C or --duration.\n`);
			process.exit(0);
		}
		else
			throw new Error(`unknown argument "${arg}" (see --help)`);
	}
	if (options.target !== undefined && options.target !== "node" && options.target !== "sim")
		throw new Error("--target must be node or sim");
	if (options.duration !== undefined && !(options.duration > 0))
		throw new Error("--duration takes a number of seconds");
	return options;
}

const tty = process.stdout.isTTY;
const paint = (code: number, text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const harnessSays = (text: string) => console.log(`${paint(36, "[harness]")} ${text}`);
const deviceSays = (text: string) => console.log(`${paint(33, "[device] ")} ${text}`);

class Counter {
	ok = 0;
	failed = 0;
	bytes = 0;
	toString() {
		return `${this.ok} ok${this.failed ? `, ${paint(31, `${this.failed} failed`)}` : ""}, ${this.bytes} B`;
	}
}

async function main(): Promise<number> {
	const options = parseArgs(process.argv.slice(2));
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
		session.closed.then(({ code }) => harnessSays(`device's WebSocket client closed the session with ${code}`), () => {});
	});

	peer.on("session", session => {
		harnessSays(`device's TCP client connected from ${session.remote}`);
		session.greeting.then(text => harnessSays(`device's TCP client greeted: "${text}"`), () => {});
	});

	harnessSays(`starting the device on ${target === "sim" ? "the Moddable simulator (building with mcconfig first)" : "Node (host providers)"} …`);

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
			},
		});
	}
	catch (e) {
		await peer.close();
		await wsPeer.close();
		throw e;
	}
	for (const line of device.process.log)
		deviceSays(line.raw);
	device.process.on("log", line => deviceSays(line.raw));
	harnessSays(`device up: ${JSON.stringify(device.endpoints)}`);

	const udp: UdpSender = await udpSender(device.endpoints.udp!);
	let round = 0;
	let stopping = false;

	const exchange = async () => {
		round++;
		const text = Buffer.from(`round ${round}: hello from the harness`);
		try {
			const back = await echoOnce(device.endpoints.tcp!, text, 5000);
			const good = back.equals(text);
			counters["tcp-server"][good ? "ok" : "failed"]++;
			counters["tcp-server"].bytes += back.length;
			harnessSays(`tcp → device:${device.endpoints.tcp!.port} ${text.length} bytes, echo ${good ? "matches" : "DIFFERS"}`);
		}
		catch (e) {
			counters["tcp-server"].failed++;
			harnessSays(`tcp → device failed: ${(e as Error).message}`);
		}
		try {
			const datagram = Buffer.from(`datagram ${round}`);
			const { data } = await udp.echo(datagram, 3000);
			const good = data.equals(datagram);
			counters["udp-server"][good ? "ok" : "failed"]++;
			counters["udp-server"].bytes += data.length;
			harnessSays(`udp → device:${device.endpoints.udp!.port} ${datagram.length} bytes, echo ${good ? "matches" : "DIFFERS"}`);
		}
		catch (e) {
			counters["udp-server"].failed++;
			harnessSays(`udp → device failed: ${(e as Error).message}`);
		}
		try {
			const socket = await openWs(device.endpoints.ws!, {}, 5000);
			const text = `round ${round} over WebSocket`;
			socket.send(text);
			const { data, binary } = await nextMessage(socket, 5000);
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
		const session = peer.sessions.at(-1);
		if (session) {
			try {
				const payload = randomBytes(64 + (round % 8) * 100);
				const back = await session.echo(payload, 5000);
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
		harnessSays(`counters: ${Object.entries(counters).map(([name, c]) => `${name} ${c}`).join(" | ")}`);
	};


	const done = new Promise<void>(resolve => {
		const stop = () => {
			if (!stopping) {
				stopping = true;
				resolve();
			}
		};
		process.on("SIGINT", stop);
		process.on("SIGTERM", stop);
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
	await device.stop();
	await peer.close();
	await wsPeer.close();
	const failed = Object.values(counters).reduce((n, c) => n + c.failed, 0);
	harnessSays(`stopped. ${Object.entries(counters).map(([name, c]) => `${name} ${c}`).join(" | ")}`);
	return failed ? 1 : 0;
}

main().then(code => process.exit(code), (e: Error) => {
	console.error(e.message);
	process.exit(1);
});
