/*
 * host-harness wifi status|forget --device <host> [--port N]
 *
 * Talks to the device's provisioning page (wifi/provisioning): `status`
 * says why it is provisioning; `forget` erases the credentials saved on the
 * device. Both take the code the device prints on its console (--code). A
 * device already on a network forgets them at its next boot when built
 * with wifiForget=true.
 */

import { badValue, portValue, UsageError, unknownArgument } from "../lib/arguments.js";
import { registerCommand } from "../lib/command.js";

const usage = `usage: host-harness wifi status|forget --device <host> --code <code> [--port <provisioning port>]

commands:
  status   what the device's provisioning page reports
  forget   erase the WiFi credentials saved on the device

The provisioning page is on port 80 on a board (join its access point,
"xs-netkit" by default, with the passphrase the board prints on its console,
and use --device 192.168.4.1), 8082 on the simulator. The code is printed on
the same console line ("to provision, join the access point … and enter the
code …"); 5 wrong codes a minute and the page waits.

options:
  --device <host>  the device's address (192.168.4.1 on its own access point)
  --code <code>    the code the device printed on its console
  --port N         its provisioning page's port (default 80)

examples:
  host-harness wifi status --device 192.168.4.1 --code h4tr9kzm
  host-harness wifi forget --device 127.0.0.1 --port 8082 --code h4tr9kzm`;

export function parseWifiArgs(args: string[]): { action: "status" | "forget"; device: string; port: number; code: string } | "help" {
	if (args.includes("--help") || args.includes("-h")) return "help";
	const [action, ...rest] = args;
	let device = "";
	let code = "";
	let port = 80;
	if (action !== "status" && action !== "forget")
		throw action === undefined || action.startsWith("-")
			? new UsageError("status or forget is needed")
			: badValue("wifi", action, "takes status or forget", ["status", "forget"]);
	for (let i = 0; i < rest.length; i++) {
		if (rest[i] === "--device") device = rest[++i] ?? "";
		else if (rest[i] === "--code") code = rest[++i] ?? "";
		else if (rest[i] === "--port") port = portValue("--port", rest[++i]);
		else throw unknownArgument(rest[i], ["--device", "--code", "--port", "--help"]);
	}
	if (!device) throw new UsageError("--device <host> is required");
	if (!code) throw new UsageError("--code <code> is required: the device prints it on its console at boot");
	return { action, device, port, code };
}

registerCommand("wifi", {
	summary: "ask the device's provisioning page for its status, or make it forget saved credentials",
	usage,
	parse: parseWifiArgs,
	async run(argv) {
		const args = parseWifiArgs(argv);
		if (args === "help") {
			console.log(usage);
			return 0;
		}
		const { action, device, port, code } = args;
		const form = new URLSearchParams({ code }).toString();
		const url = `http://${device}:${port}/${action === "forget" ? "forget" : `status?${form}`}`;
		try {
			const response = await fetch(
				url,
				action === "forget"
					? { method: "POST", body: form, headers: { "content-type": "application/x-www-form-urlencoded" }, signal: AbortSignal.timeout(5000) }
					: { signal: AbortSignal.timeout(5000) },
			);
			const answer = (await response.text()).trim();
			if (response.ok) console.log(answer);
			else
				console.error(`${response.status}: ${answer}${response.headers.get("retry-after") ? ` (retry after ${response.headers.get("retry-after")} s)` : ""}`);
			return response.ok ? 0 : 1;
		} catch (e) {
			console.error(`no answer from ${url}: ${(e as Error).message}. Is the device provisioning (its access point up), and is this the right port?`);
			return 1;
		}
	},
});
