/*
 * The Node-hosted device's control channel: a test double for faults a
 * real part cannot produce on demand (an access point that vanishes, a
 * link that drops mid-stream), and a window on what the device holds.
 * Listens on 127.0.0.1:XSNK_HOST_CONTROL_PORT when that is set; one command
 * per line, one JSON answer per line:
 *
 *   wifi drop              the link goes down now; the station hears "disconnect"
 *   wifi set {"apDown":true,…}   change the WiFi faults (see wifi.ts)
 *   ap join {"ssid":…,"password":…}  a client joins the device's own access point:
 *                          {"ok":true}, or {"refused":why} as a real one refuses it (see wifi.ts)
 *   ap leave               that client leaves it
 *   stats                  {"tcp":n,"listeners":n,"udp":n,"timers":n,"link":bool}
 */

import * as net from "node:net";
import { hostNetwork } from "./net.js";
import { liveListeners } from "./socket-listener.js";
import { liveSockets } from "./socket-tcp.js";
import { liveUdp } from "./socket-udp.js";
import { liveTimers } from "./timer.js";
import { currentWiFi, joinAccessPoint, leaveAccessPoint, wifiFaults } from "./wifi.js";

function answer(line: string): unknown {
	const [word, sub, ...rest] = line.trim().split(/\s+/);
	if (word === "stats")
		return { tcp: liveSockets.size, listeners: liveListeners.size, udp: liveUdp.size, timers: liveTimers.size, link: hostNetwork.connected };
	if (word === "wifi" && sub === "drop") {
		const wifi = currentWiFi();
		if (!wifi) throw new Error("the device has no WiFi station");
		wifi.drop();
		return { ok: true };
	}
	if (word === "wifi" && sub === "set") {
		Object.assign(wifiFaults, JSON.parse(rest.join(" ")));
		return { ok: true, faults: wifiFaults };
	}
	if (word === "ap" && sub === "join") {
		const { ssid, password } = JSON.parse(line.slice(line.indexOf("{"))) as { ssid?: string; password?: string }; // as sent: spaces in a passphrase kept
		const refused = joinAccessPoint(String(ssid ?? ""), String(password ?? ""));
		return refused ? { refused } : { ok: true };
	}
	if (word === "ap" && sub === "leave") {
		leaveAccessPoint();
		return { ok: true };
	}
	throw new Error(`unknown command "${line.trim()}"`);
}

export function startControl(port: number): void {
	const server = net.createServer(socket => {
		let text = "";
		socket.on("data", chunk => {
			text += chunk.toString();
			let newline;
			while ((newline = text.indexOf("\n")) >= 0) {
				const line = text.slice(0, newline);
				text = text.slice(newline + 1);
				let reply: unknown;
				try {
					reply = answer(line);
				} catch (e) {
					reply = { error: (e as Error).message };
				}
				socket.write(`${JSON.stringify(reply)}\n`);
			}
		});
		socket.on("error", () => {});
	});
	server.unref();
	server.listen(port, "127.0.0.1");
}
