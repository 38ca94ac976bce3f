// Before the device suites: say which tiers cannot run here (one line each),
// and make sure the Node-hosted device is built.
import * as fs from "node:fs";
import * as path from "node:path";
import { planTiers } from "../../host-harness/lib/tiers.js";
import { projectRoot } from "../../host-harness/device/project.js";

export default function setup(): void {
	const plan = planTiers();
	for (const line of plan.skipped)
		console.log(line);
	console.log(`device tiers running: ${plan.tiers.map(t => t.target).join(", ")}`);
	const boot = path.join(projectRoot, "build", "node", "host-harness", "node-host", "boot.js");
	if (!fs.existsSync(boot))
		throw new Error(`${boot} is missing: npm test builds it first ("npm run build")`);
}
