/*
 * The three device targets behind one call:
 *
 *   node  the device modules in a Node process over the host providers
 *   sim   the app built by mcconfig for the Moddable simulator, run by mcsim
 *   lwip  the simulator build over lwIP configured as a board's (host-harness/device/lwip.ts), in a network namespace only
 *   board a real ESP32 reached by IP (DEVICE=<ip>); nothing to start
 *
 * startDevice() boots node or sim with a configuration and resolves once the
 * app has logged its services up, with the endpoints the harness talks to.
 */

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { readConfig } from "../../app/config-schema.js";
import { parseWebSocketUri } from "../../websocket/uri.js";
import type { LanLink } from "../lib/netns.js";
import { trackPid, untrackPid } from "../lib/pids.js";
import { freeTcpPort } from "../lib/ports.js";
import { type DeviceConfig, manifestConfig, projectRoot } from "../lib/project.js";
import { findSdk } from "../lib/sdk.js";
import { type App, appBuildDir, compileAppForNode } from "./app.js";
import { sendControl } from "./control-client.js";
import { DeviceProcess } from "./device-process.js";
import type { ServicesUp } from "./log-line.js";
import { startLwipSimulator } from "./lwip.js";
import { buildForSimulator, runSimulator } from "./sim.js";

export type HostTarget = "node" | "sim";
/** What startDevice starts: a host target, or the lwip target (in a network namespace only). */
export type DeviceTarget = HostTarget | "lwip";
export type TargetName = HostTarget | "board";

export interface Endpoint {
	host: string;
	port: number;
}

/** What the device serves, as the harness reaches it; `npm run device` prints this as its one line of JSON. */
export interface Endpoints {
	target: TargetName;
	tcp?: Endpoint;
	udp?: Endpoint;
	ws?: string;
	/** A user's app (--app): its `services up` line as it logged it, each service's port by its name. */
	services?: Record<string, unknown>;
}

export interface RunningDevice {
	target: DeviceTarget;
	endpoints: Endpoints;
	process: DeviceProcess;
	/** The configuration the device was given (key=value strings, as mcconfig passes them). */
	config: Record<string, string>;
	/** Node-hosted device started with `control`: send a control command (node-host/control.ts). */
	control?: (command: string) => Promise<Record<string, unknown>>;
	stop(): Promise<void>;
}

export interface StartOptions {
	target: DeviceTarget;
	/** mcconfig-style overrides: key → value string. */
	config?: Record<string, string>;
	readyTimeoutMs?: number;
	/** Extra environment for the Node-hosted device (host provider knobs). */
	env?: NodeJS.ProcessEnv;
	/** Node-hosted device: WiFi faults at boot (host-harness/node-host/wifi.ts). */
	wifiFaults?: Record<string, unknown>;
	/** Node-hosted device: its clock at boot, ms since 1970 (0: 1970, as a board boots; host-harness/node-host/time.ts). Default: the PC's time. */
	clock?: number;
	/** Node-hosted device: open its control channel (see RunningDevice.control). */
	control?: boolean;
	/** Resolve once the process runs, without waiting for its services (endpoints then come later, if ever). */
	noWait?: boolean;
	/** Simulator: a debug build (mcconfig -d) that connects to an xsbug-protocol debugger on this port of 127.0.0.1 (of the link's host end with `lan`; lwip: of the namespace's own loopback, where a relay listens: lib/netns-relay.ts). */
	xsbugPort?: number;
	/** Run the device inside this network namespace (host-harness/lib/netns.ts), reached at its address as a board is. */
	lan?: LanLink;
	/** A user's app on the kit instead of the kit's own (device/app.ts). */
	app?: App;
	/** Progress of the long steps (the simulator build), a line every few seconds. */
	progress?: (text: string) => void;
	/** The device's process as soon as it runs, before its services are up: to stream its boot log as it happens. */
	onProcess?: (device: DeviceProcess) => void;
}

const loopback = "127.0.0.1";

export function endpointsFrom(target: TargetName, host: string, up: Pick<ServicesUp, "tcp" | "udp" | "ws" | "wsPath" | "wsTls">): Endpoints {
	const endpoints: Endpoints = { target };
	if (up.tcp !== undefined) endpoints.tcp = { host, port: up.tcp };
	if (up.udp !== undefined) endpoints.udp = { host, port: up.udp };
	if (up.ws !== undefined) endpoints.ws = `${up.wsTls ? "wss" : "ws"}://${host}:${up.ws}${up.wsPath ?? "/"}`;
	return endpoints;
}

export async function startDevice(options: StartOptions): Promise<RunningDevice> {
	const config = options.config ?? {};
	const env: NodeJS.ProcessEnv = { ...options.env };
	if (options.wifiFaults) env.XSNK_HOST_WIFI = JSON.stringify(options.wifiFaults);
	const controlPort = options.control ? await freeTcpPort() : undefined;
	if (controlPort) env.XSNK_HOST_CONTROL_PORT = String(controlPort);
	if (options.clock !== undefined) env.XSNK_HOST_CLOCK = String(options.clock);
	if (options.target === "lwip" && !options.lan) throw new Error("the lwip target runs in a network namespace (--netns)");
	if (options.target !== "node" && (options.wifiFaults || options.control || options.clock !== undefined))
		throw new Error("WiFi faults, the boot clock and the control channel exist on the Node-hosted device only");
	if (options.lan && options.control) throw new Error("a device in a network namespace is reached as a board is: it has no control channel");
	if (options.target === "node" && options.xsbugPort) throw new Error("the Node-hosted device has no xsbug connection: its log is its stdout");
	if (options.lan) env.XSNK_HOST_ADDRESS = options.lan.deviceAddress;
	const device =
		options.target === "lwip" && options.lan
			? await startLwipSimulator(config, options.lan, options.readyTimeoutMs ?? 60_000, options.progress, options.app, options.xsbugPort)
			: options.target === "sim"
				? await startSimulator(config, options.readyTimeoutMs ?? 60_000, options.xsbugPort, options.lan, options.progress, options.app)
				: startNodeDevice(config, options.readyTimeoutMs ?? 20_000, env, options.lan, options.app);
	options.onProcess?.(device);
	try {
		const up = options.noWait ? { address: "", tcp: undefined } : await device.ready;
		const endpoints = options.app
			? { target: options.target === "lwip" ? ("board" as const) : options.target, services: { ...up } }
			: endpointsFrom(options.target === "lwip" ? "board" : options.target, options.lan?.deviceAddress ?? loopback, up);
		return {
			target: options.target,
			endpoints,
			process: device,
			config,
			control: controlPort ? command => sendControl(controlPort, command) : undefined,
			stop: () => device.stop(),
		};
	} catch (e) {
		await device.stop();
		throw e;
	}
}

function startNodeDevice(config: Record<string, string>, readyTimeoutMs: number, env: NodeJS.ProcessEnv = {}, lan?: LanLink, app?: App): DeviceProcess {
	const boot = path.join(projectRoot, "build", "node", "host-harness", "node-host", "boot.js");
	if (!fs.existsSync(boot)) throw new Error(`${boot} is missing: run "npm run build" first`);
	const deviceConfig: DeviceConfig = manifestConfig("lin", config, app?.manifest);
	if (app) env = { ...env, XSNK_APP_MODULES: JSON.stringify(Object.fromEntries(compileAppForNode(app))) };
	else if (!env.XSNK_HOST_RESOURCES) env = { ...env, XSNK_HOST_RESOURCES: path.join(projectRoot, "app", "page") }; // the kit app's resources (app/manifest.json: its page)
	const [command, ...prefix] = lan ? [...lan.exec, process.execPath] : [process.execPath];
	// A process group of its own: a terminal's Ctrl-C reaches the harness alone, which stops the device in turn
	// (after judging it), instead of both at once. trackPid stops it if the harness exits first.
	const child = spawn(command, [...prefix, boot], {
		cwd: projectRoot,
		env: { ...process.env, ...env, XSNK_DEVICE_CONFIG: JSON.stringify(deviceConfig) },
		stdio: ["ignore", "pipe", "pipe"],
		detached: true,
	});
	trackPid(child.pid);
	child.once("exit", () => untrackPid(child.pid));
	return new DeviceProcess(child, "node-hosted device", readyTimeoutMs);
}

async function startSimulator(
	config: Record<string, string>,
	readyTimeoutMs: number,
	xsbugPort?: number,
	lan?: LanLink,
	progress?: (text: string) => void,
	app?: App,
): Promise<DeviceProcess> {
	const lookup = findSdk();
	if ("missing" in lookup) throw new Error(`cannot run the simulator: ${lookup.missing}`);
	const appBuild = app && { manifestDir: app.dir, outDir: appBuildDir(app, xsbugPort !== undefined ? "sim-debug" : "sim") };
	const library = await buildForSimulator(lookup.sdk, config, xsbugPort !== undefined, appBuild, progress);
	const xsbugHost = lan?.hostAddress ?? "127.0.0.1";
	return runSimulator(lookup.sdk, library, "simulator", readyTimeoutMs, xsbugPort ? { XSBUG_HOST: xsbugHost, XSBUG_PORT: String(xsbugPort) } : {}, lan?.exec);
}

/** A real board: its endpoints from its address and the configuration it was flashed with (esp32 defaults). */
export function boardEndpoints(host: string, overrides: Record<string, string> = {}): Endpoints {
	const { config, problems } = readConfig(manifestConfig("esp32", overrides), parseWebSocketUri);
	if (problems.length) throw new Error(problems.map(p => `config key "${p.key}": ${p.message}`).join("\n"));
	return endpointsFrom("board", host, {
		tcp: config.tcpServer ? config.tcpPort : undefined,
		udp: config.udpServer ? config.udpPort : undefined,
		ws: config.wsServer ? config.wsPort : undefined,
		wsPath: config.wsPath,
		wsTls: config.wsTls,
	});
}
