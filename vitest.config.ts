import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { deviceFolders, platformModules } from "./host-harness/node-host/module-map.js";

const root = fileURLToPath(new URL(".", import.meta.url));

// Device modules import Moddable specifiers; under vitest they resolve to the
// project's folders and to the Node host providers, as in the Node-hosted device.
const alias = [
	...Object.entries(platformModules).map(([specifier, file]) => ({
		find: new RegExp(`^${specifier.replace(/[/.]/g, "\\$&")}$`),
		replacement: `${root}host-harness/node-host/${file}.ts`,
	})),
	{ find: new RegExp(`^(${deviceFolders.join("|")})/([\\w-]+)$`), replacement: `${root}$1/$2.ts` },
];

export default defineConfig({
	resolve: { alias },
	test: {
		reporters: ["default", "./tests/summary-reporter.ts"],
		projects: [
			{
				resolve: { alias },
				test: {
					name: "unit",
					include: ["tests/unit/**/*.test.ts"],
					setupFiles: ["tests/unit/setup.ts"],
					// Device modules log as on the host targets (the manifest's lin section: logLevel debug).
					env: { XSNK_DEVICE_CONFIG: JSON.stringify({ logLevel: "debug" }) },
				},
			},
			{
				resolve: { alias },
				test: {
					name: "device",
					include: ["tests/device/**/*.test.ts"],
					globalSetup: ["tests/device/global-setup.ts"],
					// One device suite at a time: they boot devices and bind ports.
					pool: "forks",
					poolOptions: { forks: { singleFork: true } },
					testTimeout: 60_000,
					hookTimeout: 180_000,
				},
			},
		],
	},
});
