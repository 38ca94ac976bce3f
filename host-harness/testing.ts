/*
 * Helpers for an app's own suite: boot the app on a device this PC runs
 * (the Node-hosted device, the simulator, the simulator over lwIP in a
 * network namespace of its own), reach the services its
 * `services up` line names (docs/own-app.md), talk to them over WebSocket
 * and HTTP, read its log, stop it. The suite `host-harness new` writes uses
 * them; from any suite, import host-harness/testing.mjs of the kit (it
 * builds the harness first when the build is missing or stale).
 *
 *   const app = await bootApp(appDir, { target: "node", config: { port: "0" } });
 *   const socket = await app.openWebSocket("web");
 *   const answer = await app.fetch("web", "/settings");
 *   await app.stop();
 *
 * The device is the one the kit's own suites and `npm run -s device -- --app`
 * boot (device/targets.ts: startDevice); nothing here is a second way.
 */

import type WebSocket from "ws";
import { findApp } from "./device/app.js";
import { startLanDevice } from "./device/lan.js";
import type { LogLine } from "./device/log-line.js";
import { whyNoLwip } from "./device/lwip.js";
import { type AppService, appServices } from "./device/services.js";
import { type RunningDevice, startDevice } from "./device/targets.js";
import { planTiers } from "./device/tiers.js";
import { closed, nextMessage, openWs } from "./oracle/ws-echo.js";

export type { AppService, LogLine };
export { closed, nextMessage };

/**
 * The targets an app's suite can boot here: the Node-hosted device, the
 * simulator, and lwip, the simulator over lwIP (a board's network stack) in
 * a network namespace of its own, reached at its own address as a board is
 * (device/lwip.ts).
 */
export type AppTarget = "node" | "sim" | "lwip";

/**
 * The targets this PC runs (node always, sim where the Moddable SDK and
 * Xvfb are, lwip where besides the user is root and lwIP is built:
 * lwip/install.sh; TARGETS=node,sim narrows them, as for the kit's
 * suites), and one line for each that cannot run, saying why.
 */
export function appTargets(env: NodeJS.ProcessEnv = process.env): { targets: AppTarget[]; skipped: string[] } {
	const plan = planTiers({ ...env, DEVICE: undefined, LAN_TIERS: undefined, LAN_SKIPPED: undefined });
	const targets = plan.tiers.map(tier => tier.name).filter((name): name is AppTarget => name === "node" || name === "sim");
	const skipped = plan.skipped.filter(line => /^(node|sim) /.test(line));
	const only = env.TARGETS?.split(",").map(name => name.trim());
	if (!only || only.includes("lwip")) {
		const why = whyNoLwip();
		if (why) skipped.push(`lwip tier skipped: ${why}`);
		else targets.push("lwip");
	}
	return { targets, skipped };
}

export interface BootOptions {
	target: AppTarget;
	/** The app's configuration, as mcconfig's key=value ("0" for a port: any free one, read back from the services up line). */
	config?: Record<string, string>;
	/** How long the services may take to come up once the app runs (ms; default: 20 s on node, 60 s on sim and lwip, after the build). */
	readyTimeoutMs?: number;
	/** Progress of the simulator's build, a line every few seconds. */
	progress?: (text: string) => void;
}

export interface BootedApp {
	target: AppTarget;
	/** Where its services are reached: 127.0.0.1, or on lwip the device's own address in its namespace. */
	host: string;
	/** Its `services up` line, as it logged it. */
	line: Readonly<Record<string, unknown>>;
	/** Its services, by name (device/services.ts reads the line). */
	services: ReadonlyMap<string, AppService>;
	/** A service by its name in the line; throws naming the ones there are. */
	service(name: string): AppService;
	/** ws://host:port/path of a WebSocket service: its route's path, or `path`. */
	webSocketUrl(name: string, path?: string): string;
	/** http://host:port/path on a service's port (a WebSocket server's HTTP routes). */
	httpUrl(name: string, path: string): string;
	/** Open a WebSocket to a service (its route's path, or `path`): resolves once open; a refused handshake rejects with "HTTP <status>". */
	openWebSocket(name: string, path?: string): Promise<WebSocket>;
	/** fetch (Node's) on a service's port. */
	fetch(name: string, path: string, init?: RequestInit): Promise<Response>;
	/** Its log so far: every line, parsed (level, tag, message, raw). */
	readonly log: readonly LogLine[];
	/** The first log line, logged or to come, that matches. */
	waitForLog(pattern: RegExp, timeoutMs?: number): Promise<LogLine>;
	/** Stop it and everything started for it. */
	stop(): Promise<void>;
}

/**
 * Build (sim, lwip) or compile (node) the app in `dir`, boot it and resolve
 * once it logged its services up. On lwip, in a namespace made for it and
 * removed by stop().
 */
export async function bootApp(dir: string, options: BootOptions): Promise<BootedApp> {
	const app = findApp(dir);
	const config = options.config ?? {};
	if (options.target === "lwip") {
		const lan = await startLanDevice("lwip", config, { app, readyTimeoutMs: options.readyTimeoutMs, progress: options.progress });
		return bootedApp(lan.running, "lwip", lan.link.deviceAddress, () => lan.stop());
	}
	const running = await startDevice({ target: options.target, app, config, readyTimeoutMs: options.readyTimeoutMs, progress: options.progress });
	return bootedApp(running, options.target, "127.0.0.1", () => running.stop());
}

function bootedApp(running: RunningDevice, target: AppTarget, host: string, stop: () => Promise<void>): BootedApp {
	const line = running.endpoints.services ?? {};
	let services: Map<string, AppService>;
	try {
		services = new Map(appServices(line).map(service => [service.name, service]));
	} catch (e) {
		void stop();
		throw e;
	}
	const service = (name: string): AppService => {
		const found = services.get(name);
		if (!found) throw new Error(`no service "${name}" in the services up line (${[...services.keys()].join(", ") || "none"})`);
		return found;
	};
	const httpUrl = (name: string, path: string) => `http://${host}:${service(name).port}${path}`;
	const webSocketUrl = (name: string, path?: string) => `ws://${host}:${service(name).port}${path ?? service(name).path ?? "/"}`;
	return {
		target,
		host,
		line,
		services,
		service,
		webSocketUrl,
		httpUrl,
		openWebSocket: (name, path) => openWs(webSocketUrl(name, path)),
		fetch: (name, path, init) => fetch(httpUrl(name, path), init),
		get log() {
			return running.process.log;
		},
		waitForLog: (pattern, timeoutMs) => running.process.waitForLog(pattern, timeoutMs),
		stop,
	};
}
