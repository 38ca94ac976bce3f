// What a fleet run says of each device: the identity its DNS-SD records
// announce (name, build, MAC) in the table, the JSON and the page; and
// where `logs --device` finds each device's log, from the config it runs.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runFleetCommand } from "../../host-harness/cli.js";
import { unreachableEndpoints } from "../../host-harness/device/reach.js";
import { deviceAnnounced, devicesFromFile } from "../../host-harness/fleet/devices.js";
import { keyHeaders, logUrl } from "../../host-harness/fleet/logs.js";
import { type FleetRow, fleetHtml, formatFleet, summarize } from "../../host-harness/fleet/run.js";

const announced = deviceAnnounced({
	instance: "jig-01._xs-netkit._tcp.local",
	host: "jig-01.local",
	address: "192.168.1.20",
	port: 80,
	text: { ws: "/ws", log: "/log", tcp: "8080", udp: "9000", build: "1a2b3c4", mac: "24:6f:28:aa:bb:cc" },
});

describe("a fleet's devices", () => {
	it("takes what a device announces: its ports and paths as its config, its name, build and MAC", () => {
		expect(announced).toEqual({
			host: "192.168.1.20",
			config: { wsPort: "80", wsPath: "/ws", tcpPort: "8080", udpPort: "9000", wsLogPath: "/log" },
			name: "jig-01.local",
			build: "1a2b3c4",
			mac: "24:6f:28:aa:bb:cc",
		});
		// A device that announces no log route has none to follow.
		expect(deviceAnnounced({ instance: "x", host: "x.local", address: "192.168.1.21", port: 80, text: {} }).config.wsLogPath).toBe("");
	});

	it("names each device by address and by what it says of itself, MAC included, where it said it", () => {
		const rows: FleetRow[] = [
			{
				device: "192.168.1.20",
				address: "192.168.1.20",
				name: "jig-01.local",
				build: "1a2b3c4",
				mac: "24:6f:28:aa:bb:cc",
				state: "passed",
				summary: "12 passed, 0 failed",
				problems: [],
				seconds: 3.1,
			},
			{ device: "192.168.1.21", state: "unreachable", summary: "does not answer", problems: ["ws 192.168.1.21:80: connect ECONNREFUSED"], seconds: 3 },
		];
		const table = formatFleet("check", rows, false);
		expect(table.split("\n")[1]).toMatch(/^192\.168\.1\.20 +jig-01\.local, build 1a2b3c4, mac 24:6f:28:aa:bb:cc +PASSED +12 passed, 0 failed +3\.1 s$/);
		expect(table.split("\n")[2]).toMatch(/^192\.168\.1\.21 +UNREACHABLE +does not answer +3 s$/);
		expect(fleetHtml("check", rows, "fleet.html")).toContain("<td>jig-01.local, build 1a2b3c4, mac 24:6f:28:aa:bb:cc</td>");
	});
});

describe("a failing device's row says why", () => {
	it("names each failed check case with the first line of its assertion", () => {
		const row = summarize("check", {
			passed: 2,
			cases: [
				{ name: "TCP echo > echoes", state: "passed" },
				{ name: "UDP echo > answers", state: "failed", error: "expected 'b' to be 'a'\n- Expected\n+ Received" },
			],
		});
		expect(row).toEqual({ state: "failed", summary: "2 passed, 1 failed", problems: ["UDP echo > answers: expected 'b' to be 'a'"] });
	});

	it("names each failed conformance case with what was expected and observed", () => {
		const row = summarize("conformance", {
			summary: { passed: 1, total: 2 },
			results: [
				{ id: "1.1.1", grade: "OK" },
				{ id: "5.1", grade: "FAILED", expected: "close 1002", observed: "echo ok" },
			],
		});
		expect(row.problems).toEqual(["5.1: expected close 1002, observed echo ok"]);
	});
});

describe("a batch that judges nothing, or is told wrong", () => {
	it("fails when no device answered: a jig whose boards are all silent must not pass", async () => {
		const said: string[] = [];
		const write = process.stderr.write;
		process.stderr.write = ((line: string) => said.push(line) > 0) as typeof process.stderr.write;
		try {
			expect(await runFleetCommand("check", [], [])).toBe(1);
		} finally {
			process.stderr.write = write;
		}
		expect(said.join("")).toMatch(/^fleet check: no device to judge: none answered/);
	});

	it("names the file and line of a key that is not a configuration key", () => {
		const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "xsnk-devices-")), "jig.txt");
		fs.writeFileSync(file, "# the jig\n192.168.1.20 wsPort=8081\n192.168.1.21 wsPrt=8081\n");
		expect(() => devicesFromFile(file)).toThrow(new RegExp(`^--devices ${file.replace(/[.]/g, "\\.")}:3: "wsPrt" is not a configuration key`));
		fs.writeFileSync(file, "192.168.1.20 wsPort=8081 pace=sim\n");
		expect(devicesFromFile(file)).toEqual([{ host: "192.168.1.20", config: { wsPort: "8081" }, pace: "sim" }]);
	});

	it("names the port of a WebSocket endpoint on the default port 80 when it does not answer", async () => {
		const [line] = await unreachableEndpoints({ target: "board", ws: "ws://127.0.0.1/ws" }, 1000);
		expect(line).toMatch(/^ws 127\.0\.0\.1:80: /);
	});

	it("counts one device as one", () => {
		const table = formatFleet("check", [{ device: "192.168.1.20", state: "passed", summary: "1 passed, 0 failed", problems: [], seconds: 1 }], false);
		expect(table).toMatch(/fleet check: 1 device, 1 passed, 0 failed, 0 unreachable: all passed\n$/);
	});
});

describe("logs --device: where each device's log is", () => {
	it("is the log route on the device's WebSocket port, from the config it runs (a board's defaults otherwise)", () => {
		expect(String(logUrl("192.168.1.20", {}))).toBe("ws://192.168.1.20/log");
		expect(String(logUrl("192.168.1.20", announced.config))).toBe("ws://192.168.1.20/log");
		expect(String(logUrl("192.168.1.20", { wsPort: "8081", wsLogPath: "/device-log", wsKey: "s3cret-key" }))).toBe("ws://192.168.1.20:8081/device-log");
		expect(keyHeaders("s3cret-key")).toEqual({ Authorization: "Bearer s3cret-key" });
		expect(keyHeaders(undefined)).toEqual({});
	});

	it("says why a device serves none", () => {
		expect(logUrl("192.168.1.20", { wsLogPath: "" })).toBe("its log route is off (wsLogPath empty)");
		expect(logUrl("192.168.1.20", { wsServer: "false" })).toBe("its config has no WebSocket server (wsServer=false)");
		expect(logUrl("192.168.1.20", { wsImpl: "sdk" })).toMatch(/^its WebSocket server is the SDK's \(wsImpl=sdk\)/);
		expect(logUrl("192.168.1.20", { wsLogPath: "log" })).toMatch(/^config key "wsLogPath": must start with "\/"/);
	});
});
