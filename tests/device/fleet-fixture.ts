// The fleet suites' devices, around the enclosing describe: Node-hosted
// devices on LAN stand-ins (a namespace each, as the lan tiers make them),
// a simulator among them when the run has one, a link whose device never
// answers (its link down), and a scratch folder for devices files and
// reports.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { type LanDevice, startLanDevice } from "../../host-harness/device/lan.js";
import { createLink, type LanLink } from "../../host-harness/lib/netns.js";

export interface Fleet {
	/** The node devices in the order of their configs, then the simulator when there is one. */
	devices: LanDevice[];
	/** Nothing answers at its device address. */
	silent: LanLink;
	dir: string;
}

export function useFleet(nodeConfigs: Record<string, string>[], withSim: boolean, dirPrefix: string): Fleet {
	const fleet = { devices: [] as LanDevice[] } as Fleet;
	beforeAll(async () => {
		for (const config of nodeConfigs) fleet.devices.push(await startLanDevice("node", config));
		if (withSim) fleet.devices.push(await startLanDevice("sim"));
		fleet.silent = createLink();
		fleet.silent.down();
		fleet.dir = fs.mkdtempSync(path.join(os.tmpdir(), dirPrefix));
	}, 240_000);
	afterAll(async () => {
		for (const device of fleet.devices) await device.stop();
		fleet.silent?.remove();
		if (fleet.dir) fs.rmSync(fleet.dir, { recursive: true, force: true });
	});
	return fleet;
}
