// WiFi in one call (wifi/network) in a user's app: the JavaScript fixture
// (tests/fixtures/user-app-js) boots through joinNetwork, and on the
// Node-hosted device its link drops again and again (the host's WiFi model
// drops on demand: a test double, node-host/wifi.ts, for what no real access
// point does on request). Its start ran once, its servers keep serving
// after each rejoin. The stop/start pair is the kit's app's (wifi.test.ts,
// faults-wifi.test.ts: its clients pause and resume through it). The
// simulator's WiFi fake cannot drop a link: node only.

import * as net from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findApp } from "../../host-harness/device/app.js";
import { type RunningDevice, startDevice } from "../../host-harness/device/targets.js";
import { freeUdpPort } from "../../host-harness/lib/ports.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { tiers } from "./device-under-test.js";

const runsOnNode = tiers.some(t => t.target === "node");
if (tiers.some(t => t.target !== "node")) console.log("wifi-network drops: node only (the simulator's WiFi fake and a board's link cannot drop on demand)");

/** One line to the fixture's reverse-lines service, its answer. */
function reversed(port: number, text: string): Promise<string> {
	return new Promise((resolve, reject) => {
		const socket = net.connect(port, "127.0.0.1");
		let got = "";
		const timer = setTimeout(() => {
			socket.destroy();
			reject(new Error(`only "${got}" within 5 s`));
		}, 5000);
		socket.on("connect", () => socket.write(`${text}\n`));
		socket.on("data", d => {
			got += d.toString("latin1");
			if (got.endsWith("\n")) {
				clearTimeout(timer);
				socket.end();
				resolve(got.trim());
			}
		});
		socket.on("error", e => {
			clearTimeout(timer);
			reject(e);
		});
	});
}

describe.runIf(runsOnNode)("joinNetwork in a user's app, across WiFi drops on node", () => {
	let device: RunningDevice | undefined;
	beforeAll(async () => {
		device = await startDevice({
			target: "node",
			app: findApp(path.join(projectRoot, "tests", "fixtures", "user-app-js")),
			config: { linesPort: "0", countPort: "0", sizesPort: String(await freeUdpPort()), wifiRetryDelay: "100", wifiBackoffMax: "400" },
			wifiFaults: { step: 10 },
			control: true,
		});
	});
	afterAll(async () => {
		await device?.stop();
	});

	it("starts the services once, at the first address, and they serve after every rejoin", async () => {
		const port = (device!.endpoints.services as { lines: { tcp: number } }).lines.tcp;
		expect(await reversed(port, "before")).toBe("erofeb");
		for (let drop = 1; drop <= 3; drop++) {
			const mark = device!.process.log.length;
			await device!.control!("wifi drop");
			await device!.process.waitForLog(/wifi: link lost \(disconnected\)/, 5000, mark);
			await device!.process.waitForLog(/wifi: got IP/, 15_000, mark);
			expect(await reversed(port, `after drop ${drop}`)).toBe([...`after drop ${drop}`].reverse().join(""));
		}
		expect(device!.process.log.filter(l => /app: services up/.test(l.raw))).toHaveLength(1);
		expect(device!.process.log.filter(l => /wifi: WiFi credentials from the build configuration: "simulated-wifi"/.test(l.raw))).toHaveLength(1);
		expect(device!.process.log.filter(l => l.level === "E" || /exception/i.test(l.raw))).toEqual([]);
	}, 30_000);
});
