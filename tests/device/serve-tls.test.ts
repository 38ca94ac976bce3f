// `host-harness serve --tls` as an operator uses it: the device config it
// prints (tcpClientCa, wsClientUri=wss://…, wsClientCa) is taken as printed,
// and a device booted with it talks TLS to both peers: the TCP echo peer
// hears the greeting and judges echoes, the WebSocket peer echoes the
// session's hellos. On the Node-hosted device (the simulator's TLS is
// judged by tests/device/*-tls.test.ts).

import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { startDevice } from "../../host-harness/device/targets.js";
import { freeServicePorts } from "../../host-harness/lib/ports.js";
import { projectRoot } from "../../host-harness/lib/project.js";
import { opensslMissing } from "../../host-harness/lib/tls-certs.js";
import { spawn } from "./child-processes.js";

const missing = opensslMissing();
if (missing) console.log(`serve --tls case skipped: ${missing}`);

describe.skipIf(Boolean(missing))("host-harness serve --tls", () => {
	it("prints a device config that connects the device's clients to its TLS peers", async () => {
		const serve = spawn(process.execPath, [path.join(projectRoot, "build/node/host-harness/cli.js"), "serve", "--tls", "--tcp-port", "0", "--ws-port", "0"], {
			cwd: projectRoot,
		});
		let out = "";
		serve.stdout.on("data", (d: Buffer) => {
			out += d;
		});
		serve.stderr.on("data", (d: Buffer) => {
			out += d;
		});
		const exited = new Promise<number | null>(resolve => serve.once("exit", code => resolve(code)));
		const until = async (pattern: RegExp, ms = 20_000) => {
			const end = Date.now() + ms;
			while (!pattern.test(out)) {
				if (Date.now() > end) throw new Error(`serve never printed ${pattern}:\n${out}`);
				await new Promise(r => setTimeout(r, 50));
			}
			return pattern.exec(out)!;
		};
		try {
			const lines = [(await until(/device config: (tcpClient=true .*)\n/))[1], (await until(/device config: (wsClient=true .*)\n/))[1]];
			// The certificate's lines follow the config lines, maybe in a later read of the pipe.
			await until(/the CA changes every run/);
			expect(out).toMatch(/-----BEGIN CERTIFICATE-----/);
			expect(out).not.toMatch(/PRIVATE KEY/);
			const printed = Object.fromEntries(
				lines
					.join(" ")
					.split(" ")
					.map(pair => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
			);
			expect(printed.wsClientUri).toMatch(/^wss:\/\//);
			expect(printed.tcpClientTls).toBe("true");
			const device = await startDevice({
				target: "node",
				config: { ...(await freeServicePorts()), ...printed, wsClientHelloInterval: "100" },
			});
			try {
				await until(/\[tcp\] [\d.]+:\d+ greeted: "Hello World!"/);
				await until(/\[tcp\] [\d.]+:\d+: \d+ bytes, echo matches/);
				await until(/\[ws\] [\d.]+:\d+: "hello 0000" echoed/);
				expect(out).not.toMatch(/DIFFERS/);
			} finally {
				await device.stop();
			}
		} finally {
			serve.kill("SIGTERM"); // also when a step above failed: no serve left running after the suite
		}
		expect(await exited).toBe(0);
	}, 60_000);
});
