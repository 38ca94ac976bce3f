/*
 * host-harness discover [--type _xs-netkit._tcp] [--seconds N] [--interface <address>] [--json]
 *
 * Lists the devices that answer a DNS-SD browse (RFC 6763) on this PC's
 * LANs: each with its mDNS name, address and services, read from its
 * records by the harness's own resolver (lib/mdns.ts), without the PC's.
 * Any name it prints works wherever the harness takes an address
 * (--device xs-netkit.local, DEVICE=xs-netkit.local npm test).
 */

import { badValue, formatHelp, secondsValue, unknownArgument } from "../lib/arguments.js";
import { argumentsOr, registerCommand } from "../lib/command.js";
import { browse } from "../lib/mdns.js";

interface DiscoverArgs {
	type: string;
	seconds: number;
	interfaceAddress?: string;
	json: boolean;
}

const usage = formatHelp({
	usage: "host-harness discover [--type <service type>] [--seconds N] [--interface <address>] [--json]",
	about: `
Lists the devices on this PC's LANs that announce the kit's service type by
mDNS/DNS-SD, with their names, addresses and services. Every device that
answers within the time is listed; none is an empty list and exit 1.`,
	options: [
		["--type <type>", "the DNS-SD service type to browse (default _xs-netkit._tcp; _echo._tcp lists the TCP echo servers)"],
		["--seconds N", "how long to wait for answers (default 2)"],
		["--interface <address>", "ask on the interface with this address only (default: every IPv4 interface but loopback)"],
		["--json", "the list as JSON on stdout"],
	],
	examples: ["host-harness discover", "host-harness discover --json --seconds 5"],
});

const flags = ["--type", "--seconds", "--interface", "--json", "--help"];

export function parseDiscoverArgs(args: string[]): DiscoverArgs | "help" {
	const parsed: DiscoverArgs = { type: "_xs-netkit._tcp", seconds: 2, json: false };
	for (let i = 0; i < args.length; i++) {
		const arg = args[i];
		if (arg === "--type") {
			const type = args[++i] ?? "";
			if (!/^_[\w-]+\._(tcp|udp)$/.test(type)) throw badValue("--type", type, "takes a service type such as _xs-netkit._tcp");
			parsed.type = type;
		} else if (arg === "--seconds") parsed.seconds = secondsValue("--seconds", args[++i]);
		else if (arg === "--interface") {
			const address = args[++i] ?? "";
			if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) throw badValue("--interface", address, "takes an IPv4 address of this PC");
			parsed.interfaceAddress = address;
		} else if (arg === "--json") parsed.json = true;
		else if (arg === "--help" || arg === "-h") return "help";
		else throw unknownArgument(arg, flags);
	}
	return parsed;
}

registerCommand("discover", {
	summary: "list the devices announcing themselves by mDNS/DNS-SD on this PC's LANs",
	usage,
	parse: parseDiscoverArgs,
	async run(argv) {
		const args = argumentsOr(parseDiscoverArgs, argv, usage);
		if (typeof args === "number") return args;
		const devices = await browse(args.type, { interfaceAddress: args.interfaceAddress, timeoutMs: args.seconds * 1000 });
		if (args.json) process.stdout.write(`${JSON.stringify(devices, null, 2)}\n`);
		else if (!devices.length) process.stderr.write(`discover: no device answered for ${args.type} within ${args.seconds} s\n`);
		else {
			const rows = devices.map(d => [
				d.host,
				d.address,
				String(d.port),
				Object.entries(d.text)
					.map(([k, v]) => `${k}=${v}`)
					.join(" "),
			]);
			const widths = [0, 1, 2].map(c => Math.max(...rows.map(r => r[c].length), ["name", "address", "port"][c].length));
			const line = (r: string[]) =>
				r
					.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell))
					.join("  ")
					.trimEnd();
			process.stdout.write(`${line(["name", "address", "port", "services"])}\n${rows.map(line).join("\n")}\n`);
		}
		return devices.length ? 0 : 1;
	},
});
