// The seams between the device layers are typed: where a library hands an
// object to another (a server to its listener and its connections, a client
// to its attempts), the object is typed as the interface the receiver calls
// (AcceptTarget, TcpConnectionOwner, ConnectionOwner, AttemptEvents), so a
// hook renamed on either side is a type error. A double cast
// (`x as unknown as T`) would let it pass both type checks: this reads every
// device source and fails on one; where a Moddable API's typings cannot say
// what the code relies on, an interface of the kit's says it instead
// (modules/secure-socket PlatformSocket), and allowedCasts stays empty.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { deviceFolders } from "../../host-harness/node-host/module-map.js";

const root = path.resolve(import.meta.dirname, "../..");

/** Device source → how many double casts it may have, and why. */
export const allowedCasts: Readonly<Record<string, { count: number; reason: string }>> = {};

/** The double casts in a source: its line numbers. */
export function doubleCasts(text: string): number[] {
	return [...text.matchAll(/\bas\s+unknown\s+as\b/g)].map(match => text.slice(0, match.index).split("\n").length);
}

/** Every .ts source of the device libraries and the kit's app (not declarations), and main.ts. */
function deviceSources(): string[] {
	const walk = (dir: string): string[] =>
		fs
			.readdirSync(path.join(root, dir), { withFileTypes: true })
			.flatMap(entry =>
				entry.isDirectory() ? walk(`${dir}/${entry.name}`) : entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [`${dir}/${entry.name}`] : [],
			);
	return ["main.ts", ...deviceFolders.flatMap(walk)];
}

describe("the seams between device layers are typed: no double casts", () => {
	it("the check finds a double cast, over a line break too, and not a single cast", () => {
		expect(doubleCasts("const a = b as TCP;\nconst target = this as unknown as AcceptTarget;\n")).toEqual([2]);
		expect(doubleCasts("x as  unknown\n\tas T")).toEqual([1]);
		expect(doubleCasts("const a = b as unknown;\nconst c = d as Unknownish;\n")).toEqual([]);
	});

	it("covers every device folder and the kit's app", () => {
		const sources = deviceSources();
		for (const folder of ["tcp", "udp", "websocket", "wifi", "sntp", "mdns", "modules", "app"])
			expect(
				sources.some(file => file.startsWith(`${folder}/`)),
				folder,
			).toBe(true);
		expect(sources).toContain("tcp/server.ts");
		expect(sources).toContain("main.ts");
	});

	it("no device source casts through unknown, except the listed Moddable typing gaps", () => {
		const found: string[] = [];
		for (const file of deviceSources()) {
			const lines = doubleCasts(fs.readFileSync(path.join(root, file), "utf8"));
			if (lines.length !== (allowedCasts[file]?.count ?? 0))
				found.push(`${file}: ${lines.length} double cast(s), at lines ${lines.join(", ") || "none"}; allowed ${allowedCasts[file]?.count ?? 0}`);
		}
		expect(found, "type the seam (an interface the handed-over object implements) instead of casting it").toEqual([]);
	});

	it("every listed exception names a source that exists and says why", () => {
		for (const [file, { reason }] of Object.entries(allowedCasts)) {
			expect(fs.existsSync(path.join(root, file)), file).toBe(true);
			expect(reason.length).toBeGreaterThan(40);
		}
	});
});
