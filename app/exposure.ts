/*
 * What the device exposes to the network, said at boot: one line per
 * listening service (its port, whether it needs a key, whether it is TLS),
 * and a warning for each one open to anyone that is not an echo of the
 * kit's mission (the log, the broadcast, the page), so the person who
 * flashed the board reads what a stranger on the LAN can reach
 * (docs/security.md). The provisioning portal says its own at start
 * (wifi/provisioning).
 */

import type { Config } from "app/config-schema";
import type { ServiceEndpoints } from "app/endpoints";

export interface Exposure {
	/** One line per listening service. */
	listening: string[];
	/** One line per service open to anyone that is more than an echo. */
	warnings: string[];
}

/** What the services up in `endpoints` expose, by `config`. */
export function exposure(endpoints: ServiceEndpoints, config: Config): Exposure {
	const listening: string[] = [];
	const warnings: string[] = [];
	const line = (what: string, port: number | string, keyed: boolean, tls = false) =>
		listening.push(`listening: ${what}, port ${port}, ${keyed ? "key needed" : "open to anyone"}, ${tls ? "TLS" : "no TLS"}`);
	if (endpoints.tcp !== undefined) line("TCP echo", endpoints.tcp, false);
	if (endpoints.udp !== undefined) line("UDP echo", endpoints.udp, false);
	if (endpoints.ws !== undefined) {
		const keyed = config.wsKey !== "";
		const tls = endpoints.wsTls === true;
		line(`WebSocket echo ${endpoints.wsPath ?? "/"}`, endpoints.ws, false, tls);
		for (const [what, path] of [
			["WebSocket broadcast", endpoints.wsBroadcastPath],
			["WebSocket log", endpoints.wsLogPath],
		]) {
			if (!path) continue;
			line(`${what} ${path}`, endpoints.ws, keyed, tls);
			if (!keyed) warnings.push(`${what} ${path} on port ${endpoints.ws} is open to anyone on the network: wsKey=… puts it behind a key`);
		}
		if (endpoints.page) {
			line(`${tls ? "HTTPS" : "HTTP"} page ${endpoints.page} and /routes.json`, endpoints.ws, false, tls);
			warnings.push(
				`the page ${endpoints.page} on port ${endpoints.ws} (and /routes.json: name, build, MAC) is open to anyone on the network: httpPage=false turns it off`,
			);
		}
		if (config.httpUpload && config.wsImpl === "ours") {
			line(`${tls ? "HTTPS" : "HTTP"} /upload (POST, PUT, DELETE)`, endpoints.ws, false, tls);
			warnings.push(
				`/upload on port ${endpoints.ws} takes bodies from anyone on the network (it answers their length and CRC-32): httpUpload=false turns it off`,
			);
		}
	}
	if (endpoints.mdns) listening.push(`listening: mDNS responder (${endpoints.mdns}), UDP port 5353, open to anyone, no TLS`);
	return { listening, warnings };
}
