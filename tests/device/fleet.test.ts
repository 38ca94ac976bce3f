// Many devices in one run, as a production test jig judges a batch of
// boards (host-harness/fleet): devices on LAN stand-ins (a namespace each,
// as the lan tiers make them), one broken on purpose (its TCP echo server
// off) and one that does not answer (its link down). The table names the
// broken one by its failing cases and the silent one as unreachable, the
// others pass, and the exit is 1; --json says the same; Ctrl-C keeps the
// rows so far.

import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { whyNoNamespaces } from "../../host-harness/lib/netns.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { spawn } from "./child-processes.js";
import { tiers } from "./device-under-test.js";
import { useFleet } from "./fleet-fixture.js";

const why = whyNoNamespaces();
if (why) console.log(`fleet suite skipped: ${why}`);
const hasNode = tiers.some(t => t.target === "node");
const hasSim = tiers.some(t => t.target === "sim");

function cli(args: string[], onOutput?: (stderr: string, kill: () => void) => void) {
	return new Promise<{ status: number | null; stdout: string; stderr: string }>(resolve => {
		const child = spawn(process.execPath, [path.join(projectRoot, "build/node/host-harness/cli.js"), ...args], {
			cwd: projectRoot,
			env: { ...process.env, TARGETS: undefined },
		});
		let stdout = "",
			stderr = "";
		child.stdout.on("data", (d: Buffer) => {
			stdout += d;
		});
		child.stderr.on("data", (d: Buffer) => {
			stderr += d;
			onOutput?.(stderr, () => child.kill("SIGINT"));
		});
		child.once("exit", status => resolve({ status, stdout, stderr }));
	});
}

describe.runIf(!why && hasNode)("host-harness check on a fleet", () => {
	const fleet = useFleet([{}, { tcpServer: "false" }], hasSim, "xsnk-fleet-"); // the second broken on purpose: its TCP echo server off
	const devices = fleet.devices;

	it("judges every device at once: one table, the broken device named by its failures, the silent one unreachable, exit 1", async () => {
		const [good, broken] = devices;
		const list = [...devices.map(d => d.link.deviceAddress), fleet.silent.deviceAddress];
		// The simulator stands in for a board: judged at its pace (pace=sim), as the lan-sim tier is.
		const file = path.join(fleet.dir, "jig.txt");
		fs.writeFileSync(
			file,
			devices
				.map(d => `${d.link.deviceAddress}${d.target === "sim" ? " pace=sim" : ""}`)
				.concat(fleet.silent.deviceAddress)
				.join("\n"),
		);
		const out = await cli(["check", "--devices", file, "--only", "tcp,udp", "--parallel", "4"]);
		expect(out.status, out.stderr.slice(-3000)).toBe(1);
		const row = (address: string) => out.stdout.split("\n").find(line => line.startsWith(address + " "));
		expect(row(good.link.deviceAddress)).toMatch(/ PASSED +\d+ passed, 0 failed/);
		// Named by address, each row also says what the device reports about itself (its /routes.json): its name and MAC.
		const mac = ["02", "00", ...good.link.deviceAddress.split(".").map(n => Number(n).toString(16).toUpperCase().padStart(2, "0"))].join(":");
		expect(row(good.link.deviceAddress)).toContain(`xs-netkit, mac ${mac}`);
		if (hasSim) expect(row(devices[2].link.deviceAddress)).toMatch(/ PASSED +\d+ passed, 0 failed/);
		expect(row(broken.link.deviceAddress)).toMatch(/ FAILED +\d+ passed, [1-9]\d* failed/);
		expect(out.stdout).toMatch(new RegExp(`^  ${broken.link.deviceAddress.replace(/\./g, "\\.")}: TCP echo server`, "m"));
		expect(row(fleet.silent.deviceAddress)).toMatch(/ UNREACHABLE +does not answer/);
		expect(out.stdout).toMatch(new RegExp(`^fleet check: ${list.length} devices, ${list.length - 2} passed, 1 failed, 1 unreachable$`, "m"));
	}, 300_000);

	it("takes a devices file with each device's config, and says the same as JSON", async () => {
		const [good] = devices;
		const file = path.join(fleet.dir, "devices.txt");
		fs.writeFileSync(file, `# the jig's boards\n${good.link.deviceAddress} tcpPort=8080 udpPort=9000\n\n${fleet.silent.deviceAddress}\n`);
		const out = await cli(["check", "--devices", file, "--only", "udp", "--json", "--report", path.join(fleet.dir, "fleet.html")]);
		expect(out.status).toBe(1);
		const report = JSON.parse(out.stdout);
		expect(
			report.devices.map((d: { device: string; state: string }) => [d.device, d.state]),
			out.stdout,
		).toEqual([
			[good.link.deviceAddress, "passed"],
			[fleet.silent.deviceAddress, "unreachable"],
		]);
		expect(fs.readFileSync(path.join(fleet.dir, "fleet.html"), "utf8")).toContain(`<td>${good.link.deviceAddress}</td>`);
	}, 300_000);

	it("Ctrl-C keeps the rows so far and exits 130", async () => {
		const list = [devices[0].link.deviceAddress, devices[0].link.deviceAddress, devices[0].link.deviceAddress];
		let sent = false;
		const out = await cli(["check", "--device", list.join(","), "--only", "udp", "--parallel", "1"], (stderr, kill) => {
			if (!sent && /^fleet: \S+: passed/m.test(stderr)) {
				sent = true;
				kill();
			}
		});
		expect(out.status, out.stderr.slice(-2000)).toBe(130);
		expect(out.stdout).toMatch(/^fleet check: 3 devices, [12] passed, 0 failed, 0 unreachable, [12] interrupted$/m);
		// The run under way keeps its counts so far (or, stopped before it had any, says "interrupted":
		// a device's run that had only just started may end before it can print); one not begun says so.
		const interruptedRows = out.stdout.split("\n").filter(line => / INTERRUPTED /.test(line));
		expect(interruptedRows.length).toBeGreaterThan(0);
		for (const row of interruptedRows) expect(row).toMatch(/INTERRUPTED +(\d+ passed, \d+ failed so far|not started|interrupted)/);
	}, 300_000);
});
