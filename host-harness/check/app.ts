/*
 * host-harness check --app <dir> --target node|sim
 *
 * What the harness can judge of an app it does not know: that it builds,
 * boots and logs `app: services up {…}`, that each service it names there
 * answers as its kind says (device/services.ts; docs/own-app.md), and that
 * it logged no error and no XS exception meanwhile:
 * - TCP: a connection is accepted;
 * - WebSocket: a connection is accepted, and with a path, a handshake there
 *   is answered 101;
 * - UDP: one datagram ("xs-netkit check\n") draws no ICMP port unreachable;
 *   an answer is reported, silence passes too (a service need not answer
 *   every datagram).
 * The app's own behaviour is for its own suite (tests/device/user-app.test.ts
 * is one such).
 */

import type { App } from "../device/app.js";
import { probeUdp } from "../device/reach.js";
import { type AppService, appServices } from "../device/services.js";
import { type HostTarget, type RunningDevice, startDevice } from "../device/targets.js";
import { connect } from "../oracle/tcp-echo.js";
import { openWs } from "../oracle/ws-echo.js";

/** The datagram a UDP service is sent. */
export const udpProbePayload = Buffer.from("xs-netkit check\n");

const kindNames = { tcp: "TCP", udp: "UDP", ws: "WebSocket" } as const;

export interface AppCase {
	name: string;
	state: "passed" | "failed" | "skipped";
	error?: string;
}

export async function checkApp(app: App, target: HostTarget, config: Record<string, string>, say: (text: string) => void): Promise<AppCase[]> {
	const cases: AppCase[] = [];
	let device: RunningDevice;
	try {
		device = await startDevice({ target, app, config, progress: say });
	} catch (e) {
		return [{ name: `${app.name} boots on ${target} and logs its services up`, state: "failed", error: (e as Error).message }];
	}
	try {
		cases.push({ name: `${app.name} boots on ${target} and logs its services up`, state: "passed" });
		let services: AppService[] = [];
		try {
			services = appServices(device.endpoints.services ?? {});
		} catch (e) {
			cases.push({ name: `${app.name} names its services in the documented form`, state: "failed", error: (e as Error).message });
		}
		for (const service of services) cases.push(await probeService(service));
		const faults = device.process.log.filter(line => line.level === "E" || /# Exception|Error:/.test(line.raw));
		cases.push({
			name: `${app.name} logged no error and no exception`,
			state: faults.length ? "failed" : "passed",
			error: faults.length
				? faults
						.slice(0, 3)
						.map(line => line.raw)
						.join("\n")
				: undefined,
		});
	} finally {
		await device.stop();
	}
	return cases;
}

/** One service, judged as its kind says. */
export async function probeService(service: AppService): Promise<AppCase> {
	const { name, kind, port, path } = service;
	const about = `service ${name} (${kindNames[kind]}${service.stated ? "" : ", its kind not stated"}, port ${port}${path ? `, ${path}` : ""})`;
	if (kind === "udp") {
		const probe = await probeUdp("127.0.0.1", port, udpProbePayload);
		const label = `${about} takes a datagram`;
		if ("refused" in probe) return { name: label, state: "failed", error: `port unreachable (${probe.refused}): no socket is bound to UDP port ${port}` };
		return { name: `${label}: ${"answered" in probe ? `answered ${probe.answered.length} bytes` : "no answer, no port unreachable"}`, state: "passed" };
	}
	if (kind === "ws" && path) {
		const label = `${about} answers a WebSocket handshake`;
		try {
			(await openWs(`ws://127.0.0.1:${port}${path}`)).terminate();
			return { name: label, state: "passed" };
		} catch (e) {
			return { name: label, state: "failed", error: (e as Error).message };
		}
	}
	const label = `${about} accepts a TCP connection`;
	try {
		(await connect({ host: "127.0.0.1", port })).destroy();
		return { name: label, state: "passed" };
	} catch (e) {
		return { name: label, state: "failed", error: (e as Error).message };
	}
}
