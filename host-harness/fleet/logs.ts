/*
 * `host-harness logs --device a,b,c` (or --devices FILE|discover): the logs
 * of many devices at once, read over the network from each device's log
 * route (config wsLogPath, app/ws-log: every line the app logs, as one
 * WebSocket text message), in any build, with no serial cable. Lines from
 * every device are printed as they arrive, each after the device's name
 * (its mDNS name or address as given) in a column as wide as the longest;
 * the --level, --tag and --grep filters apply to all.
 *
 * A device that cannot be reached is said in one line (device/reach, as the
 * other fleet commands say it) and left out; the others go on. One whose
 * log closes later (a reset, its link down) is asked again every few
 * seconds, with a line each way. Ctrl-C ends it (exit 130).
 */

import WebSocket from "ws";
import { readConfig } from "../../app/config-schema.js";
import { parseWebSocketUri } from "../../websocket/uri.js";
import { unreachable } from "../device/reach.js";
import { deviceAddress, isMdnsName } from "../lib/mdns.js";
import { manifestConfig } from "../lib/project.js";
import { formatTime } from "../xsbug/log-server.js";
import type { FleetDevice } from "./devices.js";

export interface FollowOptions {
	devices: FleetDevice[];
	/** Whether a device's line (its text as the device logged it) is shown: --level, --tag, --grep. */
	shown: (text: string) => boolean;
	/** One JSON object a line instead of text: log, following, unreachable, closed. */
	json: boolean;
	/** Colour a printed line (by its level). */
	colour?: (line: string) => string;
	/** stdout: the lines, or the JSON objects. */
	out: (line: string) => void;
	/** stderr: what happens to each device's log. */
	say: (line: string) => void;
	/** Ctrl-C: every log is closed and follow() resolves. */
	signal: AbortSignal;
	/** Between attempts to reopen a log that closed. Default 2000 ms. */
	retryMs?: number;
	/** The access key of the devices' log routes (--key, or XSNETKIT_KEY); a device's own wsKey= in a devices file wins. */
	key?: string;
	/**
	 * A followed log is pinged this often (ms; default 5000); one that answered
	 * no ping for 3 of these went quiet (the device vanished without a FIN: out
	 * of range, powered off): it is said in one line, and asked for again.
	 */
	pingMs?: number;
}

/** The WebSocket URL of the device's log, from the config it runs; a string saying why it serves none otherwise. */
export function logUrl(address: string, overrides: Record<string, string>): URL | string {
	const { config, problems } = readConfig(manifestConfig("esp32", overrides), parseWebSocketUri);
	if (problems.length) return problems.map(p => `config key "${p.key}": ${p.message}`).join("; ");
	if (!config.wsServer) return "its config has no WebSocket server (wsServer=false)";
	if (config.wsImpl !== "ours") return `its WebSocket server is the SDK's (wsImpl=${config.wsImpl}), which has no log route`;
	if (!config.wsLogPath) return "its log route is off (wsLogPath empty)";
	return new URL(`ws://${address}:${config.wsPort}${config.wsLogPath}`);
}

/** The header that carries a log route's access key (never the URL: it would be logged), or none without a key. */
export function keyHeaders(key: string | undefined): Record<string, string> {
	return key ? { Authorization: `Bearer ${key}` } : {};
}

/**
 * Follow every device's log until the signal aborts; resolves with how many
 * devices were followed (0: none could be, and it returns at once).
 */
export async function follow(options: FollowOptions): Promise<number> {
	const names = options.devices.map(d => d.name ?? d.host);
	const width = Math.max(...names.map(n => n.length));
	const retryMs = options.retryMs ?? 2000;
	const pingMs = options.pingMs ?? 5000;
	const sockets = new Set<WebSocket>();
	const emit = (object: Record<string, unknown>) => options.out(JSON.stringify({ time: new Date().toISOString(), ...object }));
	const leaveOut = (name: string, why: string) => {
		options.say(`logs: ${name}: unreachable: ${why}`);
		if (options.json) emit({ type: "unreachable", device: name, why });
	};

	const line = (name: string, text: string) => {
		if (!options.shown(text)) return;
		if (options.json) emit({ type: "log", device: name, text });
		else {
			const printed = `${name.padEnd(width)}  ${formatTime(new Date())} ${text}`;
			options.out(options.colour ? options.colour(printed) : printed);
		}
	};

	/** Open the device's log (`onOpen` runs before its first line); resolves with undefined once it is open, or why it could not be. */
	const open = (name: string, url: URL, key: string | undefined, onOpen: () => void): Promise<string | undefined> =>
		new Promise(resolve => {
			const socket = new WebSocket(url, { handshakeTimeout: 5000, headers: keyHeaders(key) });
			let opened = false;
			socket.on("unexpected-response", (_request, response) => {
				socket.terminate();
				resolve(
					response.statusCode === 404
						? `no log at ${url.pathname} (HTTP 404): a build without the log route, or another wsLogPath`
						: response.statusCode === 401
							? `its log wants ${key ? "another" : "an access"} key (HTTP 401): give it with --key, XSNETKIT_KEY or wsKey=… in a --devices file`
							: response.statusCode === 429
								? `its log refused a wrong key lately (HTTP 429): wait ${response.headers["retry-after"] ?? "a while"} s`
								: `its log answered HTTP ${response.statusCode}`,
				);
			});
			socket.on("error", e => {
				if (!opened) resolve((e as Error).message);
			});
			let quiet = false;
			let heard = Date.now();
			const pinger = setInterval(() => {
				if (Date.now() - heard < 3 * pingMs) {
					socket.ping();
					return;
				}
				quiet = true;
				options.say(
					`logs: ${name}: its log went quiet (no answer to a ping for ${Math.round((Date.now() - heard) / 1000)} s); asking again every ${retryMs / 1000} s`,
				);
				if (options.json) emit({ type: "quiet", device: name });
				socket.terminate();
			}, pingMs);
			pinger.unref();
			socket.on("pong", () => (heard = Date.now()));
			socket.on("open", () => {
				opened = true;
				heard = Date.now();
				sockets.add(socket);
				onOpen();
				resolve(undefined);
			});
			socket.on("message", (data, isBinary) => {
				heard = Date.now();
				if (!isBinary) line(name, data.toString());
			});
			socket.on("close", (code, reason) => {
				clearInterval(pinger);
				sockets.delete(socket);
				if (!opened || options.signal.aborted) return;
				if (quiet) return void reopen(name, url, key); // said already
				options.say(`logs: ${name}: its log closed (${code}${reason.length ? ` ${reason}` : ""}); asking again every ${retryMs / 1000} s`);
				if (options.json) emit({ type: "closed", device: name, code });
				void reopen(name, url, key);
			});
		});

	const reopen = async (name: string, url: URL, key: string | undefined) => {
		while (!options.signal.aborted) {
			await new Promise(resolve => setTimeout(resolve, retryMs));
			if (options.signal.aborted || (await open(name, url, key, () => options.say(`logs: ${name}: following its log again`))) === undefined) break;
		}
	};

	const start = async (device: FleetDevice, name: string): Promise<boolean> => {
		let address: string;
		try {
			address = isMdnsName(device.host) ? await deviceAddress(device.host) : device.host;
		} catch (e) {
			leaveOut(name, (e as Error).message);
			return false;
		}
		const url = logUrl(address, device.config);
		if (typeof url === "string") {
			leaveOut(name, url);
			return false;
		}
		const following = () => {
			options.say(`logs: ${name}: following ${url.origin}${url.pathname}`);
			if (options.json) emit({ type: "following", device: name, url: `${url.origin}${url.pathname}` });
		};
		const why = (await unreachable(url)) ?? (await open(name, url, device.config.wsKey || options.key, following));
		if (why) {
			leaveOut(name, `${url.hostname}:${url.port || 80}: ${why}`);
			return false;
		}
		return true;
	};

	const followed = (await Promise.all(options.devices.map((device, i) => start(device, names[i])))).filter(Boolean).length;
	if (followed && !options.signal.aborted) await new Promise(resolve => options.signal.addEventListener("abort", resolve, { once: true }));
	for (const socket of sockets) socket.close(1001, "going away");
	return followed;
}
