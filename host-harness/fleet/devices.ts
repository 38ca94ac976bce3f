/*
 * Which devices a fleet run judges, from the command line:
 *   --device a,b,c          addresses or mDNS names
 *   --devices FILE          one device a line: "host [key=value …]" (the
 *                           config it was flashed with, as --config takes
 *                           it; and pace=sim for a simulator standing in
 *                           for a board, judged at its pace); "#" starts a
 *                           comment
 *   --devices discover      every device that answers an mDNS/DNS-SD browse
 *                           (host-harness discover), with the ports and
 *                           paths its records announce as its config, and
 *                           what they say of it: its name, build and MAC
 */

import * as fs from "node:fs";
import { schema } from "../../app/config-schema.js";
import { UsageError } from "../lib/arguments.js";
import { browse, type DiscoveredDevice } from "../lib/mdns.js";

export interface FleetDevice {
	/** How the run names it: its address or mDNS name as given. */
	host: string;
	/** Its config (key=value), as a board's --config. */
	config: Record<string, string>;
	/** "sim": a simulator standing in for a board, judged with the simulator's volumes and waits (DEVICE_KNOBS). */
	pace?: "sim";
	/** What it says about itself, when known: its mDNS name, build (config buildId) and MAC address. */
	name?: string;
	build?: string;
	mac?: string;
}

/** "a,b,c" → devices; empty names are refused. */
export function devicesFromList(list: string): FleetDevice[] {
	const hosts = list.split(",").map(h => h.trim());
	if (hosts.some(h => !h)) throw new UsageError(`--device takes addresses or names separated by commas, not "${list}"`);
	return hosts.map(host => ({ host, config: {} }));
}

/** A devices file: "host [key=value …]" per line, "#" comments, blank lines ignored. */
export function devicesFromFile(file: string): FleetDevice[] {
	let text: string;
	try {
		text = fs.readFileSync(file, "utf8");
	} catch (e) {
		throw new UsageError(`--devices ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
	}
	const devices: FleetDevice[] = [];
	text.split("\n").forEach((raw, i) => {
		const line = raw.replace(/#.*/, "").trim();
		if (!line) return;
		const [host, ...pairs] = line.split(/\s+/);
		const config: Record<string, string> = {};
		let pace: "sim" | undefined;
		for (const pair of pairs) {
			const eq = pair.indexOf("=");
			if (eq <= 0) throw new UsageError(`--devices ${file}:${i + 1}: "${pair}" is not key=value`);
			const key = pair.slice(0, eq);
			if (pair === "pace=sim") pace = "sim";
			else if (!(key in schema)) throw new UsageError(`--devices ${file}:${i + 1}: "${key}" is not a configuration key (docs/configuration.md lists them)`);
			else config[key] = pair.slice(eq + 1);
		}
		devices.push({ host, config, pace });
	});
	if (!devices.length) throw new UsageError(`--devices ${file}: no device in it (one address or name a line)`);
	return devices;
}

/** A device as its DNS-SD records describe it: the ports and paths they announce as its config, and what they say of it. */
export function deviceAnnounced(d: DiscoveredDevice): FleetDevice {
	const config: Record<string, string> = { wsPort: String(d.port) };
	if (d.text.ws) config.wsPath = d.text.ws;
	if (d.text.tcp) config.tcpPort = d.text.tcp;
	if (d.text.udp) config.udpPort = d.text.udp;
	config.wsLogPath = d.text.log ?? "";
	return { host: d.address, config, name: d.host, build: d.text.build, mac: d.text.mac };
}

/** The devices an mDNS browse finds, each with the ports and paths it announces as its config. */
export async function devicesDiscovered(timeoutMs = 2000): Promise<FleetDevice[]> {
	return (await browse("_xs-netkit._tcp", { timeoutMs })).map(deviceAnnounced);
}

/** The fleet a command line names, or undefined for an ordinary one-device run (one --device without a comma, or none). */
export async function fleetOf(args: readonly string[]): Promise<FleetDevice[] | undefined> {
	const at = args.indexOf("--devices");
	if (at >= 0) {
		const value = args[at + 1];
		if (!value || value.startsWith("--")) throw new UsageError("--devices needs a value: it takes a file (one device a line) or discover");
		if (args.includes("--device")) throw new UsageError("--device and --devices name devices twice: give one");
		return value === "discover" ? devicesDiscovered() : devicesFromFile(value);
	}
	const one = args.indexOf("--device");
	const list = one >= 0 ? args[one + 1] : undefined;
	return list?.includes(",") ? devicesFromList(list) : undefined;
}
