// The device under a client suite (the device's own TCP and WebSocket
// clients against the harness's peers), which the suite configures itself:
// - on the host targets (node, sim) the suite starts the device on this PC
//   and the peers listen on 127.0.0.1;
// - on the lwip tier the suite starts its own lwip device in a network
//   namespace of its own, and the peers listen on the link's host end: the
//   device's clients reach them through lwIP, as a board's reach a PC on
//   its LAN, by address or by the name the harness's DNS server gives it.
// A board's clients must be flashed pointing at this PC: no board here.

import { startLanDevice } from "../../host-harness/device/lan.js";
import { harnessHostName } from "../../host-harness/device/lwip.js";
import { type RunningDevice, startDevice } from "../../host-harness/device/targets.js";
import type { Tier } from "../../host-harness/device/tiers.js";
import { createLink, type LanLink } from "../../host-harness/lib/netns.js";
import { freeTcpPort, freeUdpPort } from "../../host-harness/lib/ports.js";
import { tiers } from "./device-under-test.js";

export const clientTiers: Tier[] = tiers.filter(t => t.target !== "board" || t.name === "lwip");

export class ClientDevice {
	#link: LanLink | undefined;

	constructor(readonly tier: Tier) {}

	/** The address the device's clients reach the peers at: the peers listen on it. */
	get host(): string {
		if (this.tier.name !== "lwip") return "127.0.0.1";
		this.#link ??= createLink();
		return this.#link.hostAddress;
	}

	/** A name the device resolves to `host`: localhost on this PC; on the lwip tier the name the harness's DNS server gives the link's host end (lwIP's DNS client asks it, as a board asks its router). */
	get hostName(): string {
		return this.tier.name === "lwip" ? harnessHostName : "localhost";
	}

	/** `host` as a RegExp source, for the device's log lines that name it. */
	get hostPattern(): string {
		return this.host.replace(/\./g, "\\.");
	}

	/** Start the device with this mcconfig-style config; stop() stops it (the link stays for the next one). */
	async start(config: Record<string, string>): Promise<RunningDevice> {
		if (this.tier.name !== "lwip") return startDevice({ target: this.tier.target as "node" | "sim", config });
		const link = (this.#link ??= createLink());
		const lan = await startLanDevice("lwip", config, { link, keepLink: true });
		return { ...lan.running, stop: () => lan.stop() };
	}

	/** Config for the device as a TCP echo client of the peer at `port` on `host`: its own servers out of the way, quick retries; `extra` adds or overrides. */
	async tcpClientConfig(port: number, extra: Record<string, string> = {}): Promise<Record<string, string>> {
		return {
			tcpServer: "false",
			udpPort: String(await freeUdpPort()),
			wsPort: String(await freeTcpPort()),
			tcpClient: "true",
			tcpClientHost: this.host,
			tcpClientPort: String(port),
			tcpClientRetryDelay: "200",
			tcpClientRetryMaxDelay: "800",
			...extra,
		};
	}

	/** Remove the lwip tier's link, after the suite. */
	close(): void {
		this.#link?.remove();
		this.#link = undefined;
	}
}
