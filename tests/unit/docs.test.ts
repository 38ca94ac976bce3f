// The README and docs/ are the user's reference. This holds them to what
// they promise: the configuration table is the schema's; every file and
// link they name exists (with its heading, for a #anchor); every TypeScript
// sample compiles against the device typings; no work-log wording; the
// README stays short.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { schema } from "app/config-schema";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const docFiles = [
	"README.md",
	...fs
		.readdirSync(path.join(root, "docs"))
		.filter(f => f.endsWith(".md"))
		.map(f => `docs/${f}`),
];
const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8");

/** Pages another part of the kit adds, linked before they land: the test fails once one exists, to be taken off this list. */
const pendingPages = new Set<string>([]);

/** The text outside fenced code blocks. */
function prose(text: string): string {
	return text.replace(/^```[\s\S]*?^```/gm, "");
}

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
	return heading
		.trim()
		.toLowerCase()
		.replace(/[^\w\- ]/g, "")
		.replace(/ /g, "-");
}

function anchors(file: string): Set<string> {
	return new Set([...prose(read(file)).matchAll(/^#{1,6} (.*)$/gm)].map(m => slug(m[1].replace(/`/g, ""))));
}

/** A repository path named in backticks: top-level folders and files of the kit. */
const repoPath =
	/^(?:modules|tcp|udp|websocket|wifi|sntp|mdns|lwip|app|host-harness|tests|docs|\.ci)\/[\w./-]*$|^(?:main\.ts|manifest\.json|package\.json|package-lock\.json|README\.md|tsconfig[\w.]*\.json)$/;

function exists(file: string): boolean {
	return [file, `${file}.ts`, `${file}.js`].some(candidate => fs.existsSync(path.join(root, candidate)));
}

describe("docs/configuration.md's table", () => {
	const text = read("docs/configuration.md");
	const section = text.slice(text.indexOf("## Keys"), text.indexOf("## Ports"));
	const rows = new Map([...section.matchAll(/^\| `(\w+)` \| (.*?) \| (.*?) \|$/gm)].map(m => [m[1], { value: m[2], doc: m[3] }]));

	it.each(Object.entries(schema))("documents %s with its default", (key, spec) => {
		expect(rows.get(key)).toEqual({ value: JSON.stringify(spec.default), doc: spec.doc });
	});

	it("documents no key the schema lacks", () => {
		expect([...rows.keys()].filter(k => !(k in schema))).toEqual([]);
	});
});

describe("files and links the docs name", () => {
	it.each(docFiles)("%s names only files that exist", file => {
		const named = [...prose(read(file)).matchAll(/`([^`\s]+)`/g)].map(m => m[1]).filter(p => repoPath.test(p));
		expect(named.filter(p => !exists(p))).toEqual([]);
	});

	it.each(docFiles)("%s links only to pages and headings that exist", file => {
		const broken: string[] = [];
		for (const [, target] of prose(read(file)).matchAll(/\]\(([^)\s]+)\)/g)) {
			if (/^[a-z]+:/.test(target)) continue;
			const [page, anchor] = target.split("#");
			const linked = page ? path.posix.normalize(path.posix.join(path.posix.dirname(file), page)) : file;
			if (pendingPages.has(linked)) continue;
			if (!fs.existsSync(path.join(root, linked))) broken.push(target);
			else if (anchor && linked.endsWith(".md") && !anchors(linked).has(anchor)) broken.push(`${target} (no such heading)`);
		}
		expect(broken).toEqual([]);
	});

	it("lists as pending only pages that do not exist yet", () => {
		expect([...pendingPages].filter(page => fs.existsSync(path.join(root, page)))).toEqual([]);
	});
});

describe("the docs' wording", () => {
	it.each(docFiles)("%s holds no work-log wording", file => {
		expect(read(file)).not.toMatch(/this session|(start|end) of the session|issue \d+|goals of issue|#\d{2,}\b|this round|in the \w+ round/i);
	});

	it("keeps the README within 200 lines", () => {
		expect(read("README.md").split("\n").length).toBeLessThanOrEqual(200);
	});
});

describe("the docs' TypeScript samples", () => {
	it("compile against the device typings, as device code", () => {
		const out = path.join(root, "build", "doc-samples");
		fs.rmSync(out, { recursive: true, force: true });
		fs.mkdirSync(out, { recursive: true });
		const origin = new Map<string, string>();
		for (const file of docFiles) {
			const text = read(file);
			for (const match of text.matchAll(/^```ts\n([\s\S]*?)^```/gm)) {
				const line = text.slice(0, match.index).split("\n").length + 1;
				const name = `${file.replace(/[/.]/g, "_")}_${line}.ts`;
				origin.set(name, `${file}:${line}`);
				fs.writeFileSync(path.join(out, name), `${match[1]}export {};\n`);
			}
		}
		expect(origin.size).toBeGreaterThanOrEqual(8);
		fs.writeFileSync(
			path.join(out, "tsconfig.json"),
			JSON.stringify({ extends: "../../tsconfig.device.json", include: ["*.ts", "../../modules/typings/**/*"] }),
		);
		const tsc = spawnSync(path.join(root, "node_modules", ".bin", "tsc"), ["-p", path.join(out, "tsconfig.json")], { encoding: "utf8" });
		// Errors name the sample's file; say which doc and line it came from.
		const errors = `${tsc.stdout}${tsc.stderr}`.replace(
			/([\w]+_md_\d+\.ts)\((\d+),\d+\)/g,
			(all, name: string, line: string) => `${origin.get(name) ?? name} +${Number(line) - 1}`,
		);
		expect(errors.trim()).toBe("");
		expect(tsc.status).toBe(0);
	}, 60_000);
});
