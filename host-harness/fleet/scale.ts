/*
 * How a fleet run scales: `check` on 1 device, then on N at once, each a
 * Node-hosted device in a network namespace of its own (as the lan tiers
 * make them), and the wall time of each run. A measurement, not a test:
 *
 *   npm run -s build && node build/node/host-harness/fleet/scale.js [N=8] [--only udp,tcp]
 *
 * Prints one line per run and a ratio; needs root (namespaces).
 */

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type LanDevice, startLanDevice } from "../device/lan.js";
import { whyNoNamespaces } from "../lib/netns.js";
import { projectRoot } from "../lib/project.js";

function run(args: string[]): Promise<{ status: number | null; seconds: number; stdout: string }> {
	const started = Date.now();
	return new Promise(resolve => {
		const child = spawn(process.execPath, [path.join(projectRoot, "build/node/host-harness/cli.js"), ...args], {
			stdio: ["ignore", "pipe", "ignore"],
			env: { ...process.env, TARGETS: undefined },
		});
		let stdout = "";
		child.stdout.on("data", (d: Buffer) => {
			stdout += d;
		});
		child.once("exit", status => resolve({ status, seconds: (Date.now() - started) / 1000, stdout }));
	});
}

async function main(): Promise<number> {
	const why = whyNoNamespaces();
	if (why) {
		process.stderr.write(`fleet scale: ${why}\n`);
		return 1;
	}
	const count = Number(process.argv.slice(2).find(a => /^\d+$/.test(a)) ?? 8);
	const onlyAt = process.argv.indexOf("--only");
	const only = onlyAt > 0 ? process.argv[onlyAt + 1] : "tcp,udp";
	const devices: LanDevice[] = [];
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xsnk-scale-"));
	try {
		for (let i = 0; i < count; i++) devices.push(await startLanDevice("node"));
		const file = path.join(dir, "devices.txt");
		fs.writeFileSync(file, devices.map(d => d.link.deviceAddress).join("\n"));
		const one = await run(["check", "--device", devices[0].link.deviceAddress, "--only", only]);
		const all = await run(["check", "--devices", file, "--only", only, "--parallel", String(count)]);
		process.stdout.write(`check --only ${only} on 1 node device: ${one.seconds.toFixed(1)} s (exit ${one.status})\n`);
		process.stdout.write(
			`check --only ${only} on ${count} node devices at once (--parallel ${count}): ${all.seconds.toFixed(1)} s (exit ${all.status}), ${(all.seconds / one.seconds).toFixed(2)}× the one-device time, on ${os.cpus().length} cores\n`,
		);
		return one.status === 0 && all.status === 0 ? 0 : 1;
	} finally {
		for (const device of devices) await device.stop();
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

process.exitCode = await main();
