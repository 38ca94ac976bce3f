/*
 * A device in a network namespace of its own, standing in for a board on a
 * LAN (host-harness/lib/netns.ts): the harness reaches it at its address
 * exactly as it reaches a board (boardEndpoints with the config it runs),
 * and reads its log the way it reads a board's, from a file: the device's
 * own output, line by line, or with `xsbug`, a debug build of the simulator
 * reporting over the xsbug protocol to a log server at the link's host end,
 * as a board does through serial2xsbug.
 *
 * The lan tiers run the simulator's release build: a debug build dies of
 * SIGPIPE the first time the app writes to a socket its peer has reset
 * ($MODDABLE/xs/platforms/lin_xs.c restores SIGPIPE to SIG_DFL once it has
 * connected to its debugger, and lin/tcp.c writes with write(), without
 * MSG_NOSIGNAL), which the fault suites do on purpose. A board has no
 * signals; the xsbug log path is tested on its own (tests/device/cli.test.ts,
 * sim-debug.test.ts).
 *
 * Ports are a board's defaults (8080, 9000, 80): the namespace is the
 * device's alone, so nothing clashes.
 *
 * The lwip target runs here too: the simulator over lwIP, on a TAP bridged to
 * the link's device end (host-harness/device/lwip.ts).
 */

import * as fs from "node:fs";
import * as path from "node:path";
import { createLink, type LanLink } from "../lib/netns.js";
import { projectRoot } from "../lib/project.js";
import { XsbugLogServer } from "../xsbug/log-server.js";
import type { App } from "./app.js";
import { LogFile } from "./log-file.js";
import { boardEndpoints, type DeviceTarget, type Endpoints, type RunningDevice, startDevice } from "./targets.js";

export interface LanDevice {
	target: DeviceTarget;
	link: LanLink;
	/** The config it runs, as a board's DEVICE_CONFIG would say. */
	config: Record<string, string>;
	endpoints: Endpoints;
	/** Its log, one line per line, as host-harness check --device --logs writes a board's. */
	logFile: string;
	running: RunningDevice;
	stop(): Promise<void>;
}

/** A board's ports: the namespace is the device's own. */
export const lanPorts = { tcpPort: "8080", udpPort: "9000", wsPort: "80" };

const xsbugPort = 5002;

export interface LanDeviceOptions {
	/** The simulator's log through the xsbug protocol over the link from a debug build (see above), instead of its own output. */
	xsbug?: boolean;
	link?: LanLink;
	/** A user's app instead of the kit's (device/app.ts): its own ports, its `services up` line as endpoints. */
	app?: App;
	/** stop() leaves the link in place, for the caller's next device on it (the caller removes it). */
	keepLink?: boolean;
	/** How long its services may take to come up once it runs (ms; startDevice's default otherwise). */
	readyTimeoutMs?: number;
	/** Progress of the simulator's build, a line every few seconds. */
	progress?: (text: string) => void;
}

export async function startLanDevice(target: DeviceTarget, extra: Record<string, string> = {}, options: LanDeviceOptions = {}): Promise<LanDevice> {
	const link = options.link ?? createLink();
	const app = options.app;
	const removeLink = () => {
		if (!options.keepLink) link.remove();
	};
	const config = app ? { ...extra } : { ...lanPorts, ...extra };
	const logFile = path.join(projectRoot, "build", "lan", `${link.ns}-${target}.log`);
	fs.mkdirSync(path.dirname(logFile), { recursive: true });
	fs.writeFileSync(logFile, "");
	let logServer: XsbugLogServer | undefined;
	let running: RunningDevice | undefined;
	try {
		if (target === "sim" && options.xsbug) {
			logServer = new XsbugLogServer({ breakOnExceptions: false });
			await logServer.start(xsbugPort, link.hostAddress);
			logServer.on("log", ({ text }: { text: string }) => LogFile.append(logFile, text));
			running = await startDevice({ target, config, lan: link, xsbugPort, app });
		} else {
			running = await startDevice({ target, config, lan: link, app, readyTimeoutMs: options.readyTimeoutMs, progress: options.progress });
			for (const line of running.process.log) LogFile.append(logFile, line.raw);
			running.process.on("log", line => LogFile.append(logFile, line.raw));
		}
	} catch (e) {
		await running?.stop();
		await logServer?.close();
		removeLink();
		throw e;
	}
	const device = running;
	return {
		target,
		link,
		config,
		endpoints: app ? device.endpoints : boardEndpoints(link.deviceAddress, config),
		logFile,
		running: device,
		async stop() {
			await device.stop();
			await logServer?.close();
			removeLink();
		},
	};
}
