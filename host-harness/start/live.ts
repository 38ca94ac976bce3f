/*
 * npm start's live system, as steps over one object: the dashboard (when
 * asked for), the peers the device's clients talk to, the device, then one
 * round a second of the dialogue (a text line to the TCP echo, a datagram
 * to the UDP echo, a message to the WebSocket echo on a new connection,
 * bytes from the TCP peer to the device's TCP client), each echo judged and
 * counted, until Ctrl-C, SIGTERM, --duration or the device's exit; then
 * everything started is stopped, the device's WebSocket client session
 * closed with 1000 first.
 */

import { randomBytes } from "node:crypto";
import { DashboardServer } from "../dashboard/server.js";
import { type HostTarget, type RunningDevice, startDevice } from "../device/targets.js";
import { planTiers } from "../device/tiers.js";
import { CommandFailure } from "../lib/arguments.js";
import { freeServicePorts, freeTcpPort } from "../lib/ports.js";
import { echoOnce, sha256 } from "../oracle/tcp-echo.js";
import { type UdpSender, udpSender } from "../oracle/udp-echo.js";
import { nextMessage, openWs } from "../oracle/ws-echo.js";
import { TcpPeer } from "../peers/tcp-peer.js";
import { WsPeer } from "../peers/ws-peer.js";
import { compactSample, XsbugLogServer } from "../xsbug/log-server.js";
import { type Narrator, paint } from "./narrator.js";
import type { Options, Service } from "./options.js";

class Counter {
	ok = 0;
	failed = 0;
	bytes = 0;
	/** The latest exchange's round trip, ms. */
	rttMs?: number;

	/** One exchange judged: whether the echo matched, its bytes, its round trip. */
	count(good: boolean, bytes: number, rttMs: number): void {
		this.rttMs = rttMs;
		this[good ? "ok" : "failed"]++;
		this.bytes += bytes;
	}

	toString() {
		return `${this.ok} ok${this.failed ? `, ${paint(31, `${this.failed} failed`)}` : ""}, ${this.bytes} B`;
	}
}

type CounterName = "tcp-server" | "udp-server" | "ws-server" | "tcp-client" | "ws-client";

export class LiveSystem {
	readonly #options: Options;
	readonly #say: Narrator;
	readonly #target: HostTarget;
	readonly #counters: Record<CounterName, Counter> = {
		"tcp-server": new Counter(),
		"udp-server": new Counter(),
		"ws-server": new Counter(),
		"tcp-client": new Counter(),
		"ws-client": new Counter(),
	};
	#stopping = false;
	#wake = () => {};
	#round = 0;
	#lastReport = Date.now();
	#tcpPeer: TcpPeer | undefined;
	#wsPeer: WsPeer | undefined;
	#xsbug: XsbugLogServer | undefined;
	#device: RunningDevice | undefined;
	#udp: UdpSender | undefined;

	constructor(options: Options, say: Narrator) {
		this.#options = options;
		this.#say = say;
		const plan = planTiers();
		this.#target = options.target ?? (plan.tiers.some(t => t.target === "sim") ? "sim" : "node");
		if (!options.target && this.#target === "node")
			say.harness(`${plan.skipped.find(l => l.startsWith("sim")) ?? "simulator unavailable"}: using the Node-hosted device`);
	}

	/** Ctrl-C, SIGTERM, --duration or the device's exit: the loop ends and run() stops everything. */
	readonly stop = (): void => {
		if (!this.#stopping) {
			this.#stopping = true;
			this.#wake();
		}
	};

	/** The whole run; its exit code: 1 when an echo failed. */
	async run(): Promise<number> {
		// Ctrl-C or SIGTERM at any time, even while the device boots: stop what was started, then exit.
		process.on("SIGINT", this.stop);
		process.on("SIGTERM", this.stop);
		await this.#startDashboard();
		await this.#startPeers();
		await this.#startXsbug();
		try {
			await this.#startDevice();
		} catch (e) {
			await this.#closeHarness();
			throw e;
		}
		this.#udp = await udpSender(this.#device!.endpoints.udp!);
		await this.#dialogue();
		await this.#shutdown();
		const failed = Object.values(this.#counters).reduce((n, c) => n + c.failed, 0);
		this.#say.report(`stopped. ${this.#countersLine()}`);
		return failed ? 1 : 0;
	}

	async #startDashboard(): Promise<void> {
		if (this.#options.dashboardPort === undefined) return;
		const dashboard = (this.#say.dashboard = new DashboardServer(`xs-netkit on ${this.#options.target ?? "this PC"}`));
		const url = await dashboard.start(this.#options.dashboardPort).catch(e => {
			throw new CommandFailure((e as Error).message);
		});
		process.stderr.write(`dashboard: ${url}\n`);
	}

	/** The peers, before the device starts: its clients may connect before it reports its services up. */
	async #startPeers(): Promise<void> {
		const say = this.#say;
		const tcpPeer = (this.#tcpPeer = await TcpPeer.start(0, "127.0.0.1"));
		say.harness(`TCP echo peer listening on 127.0.0.1:${tcpPeer.port} for the device's TCP client`);
		const wsPeer = (this.#wsPeer = await WsPeer.start(0, "127.0.0.1"));
		say.harness(`WebSocket echo peer listening on ws://127.0.0.1:${wsPeer.port}/ for the device's WebSocket client`);
		const wsClient = this.#counters["ws-client"];
		wsPeer.on("session", session => {
			say.harness(`device's WebSocket client connected from ${session.remote}`);
			session.emitter.on("message", message => {
				wsClient.ok++;
				wsClient.bytes += message.data.length;
				const shown = message.binary
					? `${message.data.length} bytes binary`
					: `"${message.data.toString().slice(0, 40)}${message.data.length > 40 ? "…" : ""}" (${message.data.length} bytes)`;
				say.harness(`device's WebSocket client sent ${shown}; echoed back`);
			});
			session.closed.then(
				({ code }) =>
					say.harness(
						this.#stopping
							? `the harness closed the device's WebSocket client session with ${code} (stopping)`
							: `device's WebSocket client closed the session with ${code}${code === 1000 ? " (its example session ends after 5 s without data; it reconnects)" : ""}`,
					),
				() => {},
			);
		});
		tcpPeer.on("session", session => {
			say.harness(`device's TCP client connected from ${session.remote}`);
			session.greeting.then(
				text => say.harness(`device's TCP client greeted: "${text}"`),
				() => {},
			);
		});
	}

	/** --heap: the simulator's debug build reports its XS heap through the xsbug protocol. */
	async #startXsbug(): Promise<void> {
		if (!this.#options.heap) return;
		const xsbug = (this.#xsbug = new XsbugLogServer({ breakOnExceptions: false }));
		await xsbug.start(await freeTcpPort(), "127.0.0.1");
		xsbug.on("sample", sample =>
			this.#say.publish({
				type: "heap",
				time: Date.now(),
				text: compactSample(xsbug.formatSample(sample.machine)),
				values: sample.values as unknown as Record<string, number>,
			}),
		);
	}

	async #startDevice(): Promise<void> {
		const say = this.#say,
			target = this.#target;
		say.harness(`starting the device on ${target === "sim" ? "the Moddable simulator (building with mcconfig first)" : "Node (host providers)"} …`);
		say.publish({ type: "status", time: Date.now(), text: `starting the device on ${target}` });
		const device = (this.#device = await startDevice({
			target,
			config: {
				...(await freeServicePorts()),
				tcpClient: "true",
				tcpClientHost: "127.0.0.1",
				tcpClientPort: String(this.#tcpPeer!.port),
				wsClient: "true",
				wsClientUri: `ws://127.0.0.1:${this.#wsPeer!.port}/`,
				...this.#options.config,
			},
			progress: text => say.harness(text),
			xsbugPort: this.#xsbug?.port,
			// The boot log as it happens, not all at once when the services are up.
			onProcess: running => running.on("log", line => say.device(line.raw)),
		}));
		say.harness(`device up: ${JSON.stringify(device.endpoints)}`);
		say.publish({ type: "status", time: Date.now(), text: `device up on ${target}: ${JSON.stringify(device.endpoints)}` });
		const only = this.#options.only;
		say.harness(
			`each round (1 s): ${[
				only.has("tcp") && "a text line to the device's TCP echo server",
				only.has("udp") && "a datagram to its UDP echo server",
				only.has("ws") && "a text message to its WebSocket echo server on a new connection",
				only.has("clients") && "64 + 100 × (round mod 8) random bytes (64 … 764 B) from the TCP peer to the device's TCP client",
			]
				.filter(Boolean)
				.join("; ")}`,
		);
	}

	/** One round a second until stopped. */
	async #dialogue(): Promise<void> {
		const done = new Promise<void>(resolve => {
			this.#wake = resolve;
			if (this.#stopping) resolve();
			if (this.#options.duration) setTimeout(this.stop, this.#options.duration * 1000);
			this.#device!.process.on("exit", (code, signal) => {
				if (!this.#stopping) this.#say.harness(`the device stopped by itself (${signal ?? code})`);
				this.stop();
			});
		});
		const loop = (async () => {
			while (!this.#stopping) {
				await this.#exchange();
				await new Promise(r => setTimeout(r, 1000));
			}
		})();
		await done;
		await loop.catch(() => {});
	}

	async #exchange(): Promise<void> {
		const round = ++this.#round;
		const only = this.#options.only;
		if (only.has("tcp")) await this.#judge("tcp-server", "tcp → device", () => this.#tcpRound(round));
		if (only.has("udp")) await this.#judge("udp-server", "udp → device", () => this.#udpRound(round));
		if (only.has("ws")) await this.#judge("ws-server", "ws → device", () => this.#wsRound(round));
		if (only.has("clients") && this.#tcpPeer!.sessions.length) await this.#judge("tcp-client", "peer → device's TCP client", () => this.#clientRound(round));
		this.#reportRound(round);
	}

	/** Run one exchange; a failure (no answer, a timeout) is counted and said, never thrown. */
	async #judge(name: CounterName, what: string, exchange: () => Promise<void>): Promise<void> {
		try {
			await exchange();
		} catch (e) {
			this.#counters[name].failed++;
			this.#say.harness(`${what} failed: ${(e as Error).message}`);
		}
	}

	async #tcpRound(round: number): Promise<void> {
		const endpoint = this.#device!.endpoints.tcp!;
		const text = Buffer.from(`round ${round}: hello from the harness`);
		const t0 = performance.now();
		const back = await echoOnce(endpoint, text, 5000);
		const good = back.equals(text);
		this.#counters["tcp-server"].count(good, back.length, performance.now() - t0);
		this.#say.harness(`tcp → device:${endpoint.port} ${text.length} bytes, echo ${good ? "matches" : "DIFFERS"}`);
	}

	async #udpRound(round: number): Promise<void> {
		const datagram = Buffer.from(`datagram ${round}`);
		const t0 = performance.now();
		const { data } = await this.#udp!.echo(datagram, 3000);
		const good = data.equals(datagram);
		this.#counters["udp-server"].count(good, data.length, performance.now() - t0);
		this.#say.harness(`udp → device:${this.#device!.endpoints.udp!.port} ${datagram.length} bytes, echo ${good ? "matches" : "DIFFERS"}`);
	}

	async #wsRound(round: number): Promise<void> {
		const url = this.#device!.endpoints.ws!;
		const socket = await openWs(url, {}, 5000);
		const text = `round ${round} over WebSocket`;
		const t0 = performance.now();
		socket.send(text);
		const { data, binary } = await nextMessage(socket, 5000);
		const good = !binary && data.toString() === text;
		this.#counters["ws-server"].count(good, data.length, performance.now() - t0);
		this.#say.harness(`ws → ${url} text of ${text.length} bytes, echo ${good ? "matches" : "DIFFERS"}`);
		socket.close(1000);
	}

	async #clientRound(round: number): Promise<void> {
		const session = this.#tcpPeer!.sessions.at(-1)!;
		const payload = randomBytes(64 + (round % 8) * 100);
		const t0 = performance.now();
		const back = await session.echo(payload, 5000);
		const good = sha256(back) === sha256(payload);
		this.#counters["tcp-client"].count(good, back.length, performance.now() - t0);
		this.#say.harness(`peer → device's TCP client ${payload.length} bytes, echo ${good ? "matches" : "DIFFERS"}`);
	}

	#reportRound(round: number): void {
		this.#say.publish({
			type: "counters",
			time: Date.now(),
			round,
			services: Object.fromEntries(this.#shownCounters().map(([name, c]) => [name, { ok: c.ok, failed: c.failed, bytes: c.bytes, rttMs: c.rttMs }])),
		});
		if (!this.#say.quiet) this.#say.harness(`counters: ${this.#countersLine()}`);
		else if (Date.now() - this.#lastReport >= 5000) {
			this.#lastReport = Date.now();
			this.#say.report(`counters: ${this.#countersLine()}`);
		}
	}

	/** The counters of the services --only names. */
	#shownCounters(): [string, Counter][] {
		const only = this.#options.only;
		return Object.entries(this.#counters).filter(([name]) => only.has(name.endsWith("-client") ? "clients" : (name.slice(0, name.indexOf("-")) as Service)));
	}

	#countersLine(): string {
		return this.#shownCounters()
			.map(([name, c]) => `${name} ${c}`)
			.join(" | ");
	}

	async #shutdown(): Promise<void> {
		this.#udp?.close();
		// End the device's WebSocket client session with a closing handshake (1000), not by killing the device under it (1006).
		await Promise.all(
			this.#wsPeer!.sessions.map(session => {
				if (session.socket.readyState === session.socket.OPEN) session.socket.close(1000, "harness stopping");
				return Promise.race([session.closed, new Promise(r => setTimeout(r, 2000))]);
			}),
		);
		await this.#device?.stop();
		await this.#closeHarness();
	}

	/** The peers, the xsbug server and the dashboard. */
	async #closeHarness(): Promise<void> {
		await this.#tcpPeer?.close();
		await this.#wsPeer?.close();
		await this.#xsbug?.close();
		this.#say.publish({ type: "status", time: Date.now(), text: "stopped" });
		await this.#say.dashboard?.close();
	}
}
