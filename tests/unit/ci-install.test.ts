// .ci/install, as CI runs it, in a scratch copy of the project's package files:
// the committed lock installs with npm ci and npm install would not change it;
// a lock without other platforms' optional packages (what made npm ci refuse
// "Missing: @rollup/rollup-android-arm-eabi … from lock file") fails with the fix to apply.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "..");

function scratch(lock: (text: string) => string): string {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xsnk-ci-"));
	fs.mkdirSync(path.join(dir, ".ci"));
	fs.copyFileSync(path.join(root, ".ci", "install"), path.join(dir, ".ci", "install"));
	fs.copyFileSync(path.join(root, "package.json"), path.join(dir, "package.json"));
	fs.writeFileSync(path.join(dir, "package-lock.json"), lock(fs.readFileSync(path.join(root, "package-lock.json"), "utf8")));
	return dir;
}

const install = (dir: string) =>
	spawnSync(path.join(dir, ".ci", "install"), [], { cwd: dir, encoding: "utf8", timeout: 120_000, env: { ...process.env, npm_config_prefer_offline: "true" } });

describe(".ci/install", () => {
	it("refuses a lock that lacks other platforms' optional packages, says what to do, and leaves the lock as it was", () => {
		const dir = scratch(text => {
			const lock = JSON.parse(text) as { packages: Record<string, unknown> };
			for (const key of Object.keys(lock.packages))
				if (key.startsWith("node_modules/@rollup/rollup-") && !key.endsWith("linux-x64-gnu")) delete lock.packages[key];
			return `${JSON.stringify(lock, null, 2)}\n`;
		});
		try {
			const before = fs.readFileSync(path.join(dir, "package-lock.json"), "utf8");
			const out = install(dir);
			expect(out.status, out.stderr).toBe(1);
			expect(out.stderr).toMatch(/^\.ci\/install: .*run npm install and commit the package-lock\.json it writes$/m);
			expect(fs.readFileSync(path.join(dir, "package-lock.json"), "utf8")).toBe(before);
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	}, 120_000);

	it("installs the committed lock with npm ci, and finds that npm install would not change it", () => {
		const dir = scratch(text => text);
		try {
			const out = install(dir);
			expect(out.status, out.stderr).toBe(0);
			expect(out.stderr).toMatch(/^\.ci\/install: npm ci installed the committed lock, and npm install would not change it$/m);
			expect(fs.existsSync(path.join(dir, "node_modules", "vitest", "package.json"))).toBe(true);
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	}, 120_000);

	it("will not npm ci over a node_modules that is a symlink to a shared install", () => {
		const dir = scratch(text => text);
		const shared = fs.mkdtempSync(path.join(os.tmpdir(), "xsnk-shared-"));
		try {
			fs.symlinkSync(shared, path.join(dir, "node_modules"));
			const out = install(dir);
			expect(out.status).toBe(2);
			expect(out.stderr).toMatch(/node_modules is a symlink/);
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
			fs.rmSync(shared, { recursive: true, force: true });
		}
	});
});
