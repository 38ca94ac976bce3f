/*
 * Generators of requests to the provisioning page (wifi/provisioning): a
 * form the page serves (GET /, GET /status?code=…, POST /join, POST
 * /forget) with mutations of its method, path, query, version, headers,
 * Content-Length and form body, written in pieces. The status the device
 * must answer is not decided here but by portal-oracle.ts from the bytes.
 *
 * Two things the generator keeps out, because they change what the next
 * case must get rather than what this one gets: a /join the device takes
 * (it would go and join the network), and more wrong codes than the page
 * takes in a minute (from the fifth, every request with a code gets 429;
 * tests/device/provisioning.test.ts checks that). A case that would be one
 * of them is drawn again. Heads and bodies that never complete are kept out
 * too: each would hold the page for its 10 s request timeout.
 */

import type { WritePlan } from "./case.js";
import { expectPortal, type PortalExpectation } from "./portal-oracle.js";
import type { Rng } from "./prng.js";
import { writePlan } from "./ws-cases.js";

export interface PortalCase {
	index: number;
	seed: number;
	label: string;
	request: Buffer;
	writes: WritePlan;
	expect: PortalExpectation;
}

export interface PortalGenOptions {
	/** The right code. */
	code: string;
	maxDelayMs: number;
	/** Wrong codes the run may still send (the page takes 5 a minute). */
	triesLeft: number;
}

/** Percent-encode some characters of `text` (any of them may be, %XX of its UTF-8 bytes). */
function someEncoded(rng: Rng, text: string): string {
	let out = "";
	for (const c of text) {
		if (rng.chance(0.2))
			out += [...Buffer.from(c, "utf8")]
				.map(b => {
					const hex = b.toString(16).padStart(2, "0");
					return `%${rng.chance(0.5) ? hex.toUpperCase() : hex}`;
				})
				.join("");
		else out += c === " " ? rng.pick(["+", "%20"]) : encodeURIComponent(c);
	}
	return out;
}

function codeValue(rng: Rng, code: string): string {
	return rng.weighted([
		[code, 10],
		[`${code}x`, 1],
		[code.slice(1), 1],
		[code.toUpperCase(), 1],
		["", 1],
		[`${code}%00`, 1],
	] as const);
}

const ssids = ["home", "Home Network 5G", "café", "x", "a".repeat(32), "a".repeat(33), "日本語のネットワーク名前です", ""];
const passwords = ["", "short", "correct horse", "p@ss w%rd&=", "12345678", "a".repeat(63), "a".repeat(64), "pässwörd!", "é".repeat(8)];

/** A form body: fields of the page's names (and others) with mutations. */
function formBody(rng: Rng, options: PortalGenOptions, path: string): { text: string; label: string } {
	const fields: string[] = [];
	const labels: string[] = [];
	if (path === "/join" || rng.chance(0.3)) {
		const ssid = rng.pick(ssids),
			password = rng.pick(passwords);
		fields.push(`ssid=${someEncoded(rng, ssid)}`, `password=${someEncoded(rng, password)}`);
		labels.push(`ssid ${JSON.stringify(ssid)}, password of ${password.length}`);
	}
	if (rng.chance(0.9)) {
		const code = codeValue(rng, options.code);
		fields.splice(rng.int(0, fields.length), 0, `code=${code.includes("%") ? code : someEncoded(rng, code)}`);
		labels.push(code === options.code ? "the code" : `code ${JSON.stringify(code)}`);
	}
	const mutation = rng.weighted([
		["none", 10],
		["extra", 2],
		["twice", 1],
		["empty parts", 1],
		["no =", 1],
		["raw bytes", 1],
		["bad escape", 1],
	] as const);
	switch (mutation) {
		case "extra":
			fields.splice(rng.int(0, fields.length), 0, `${rng.pick(["x", "submit", "Code", "code "])}=${rng.int(0, 99)}`);
			break;
		case "twice":
			fields.push(`code=${rng.pick([options.code, "other"])}`, `ssid=${rng.pick(["second", ""])}`);
			break;
		case "empty parts":
			fields.splice(rng.int(0, fields.length), 0, "", "");
			break;
		case "no =":
			fields.splice(rng.int(0, fields.length), 0, rng.pick(["code", "ssid", "password"]));
			break;
		case "raw bytes":
			fields.push(`ssid=${rng.pick(["\u00C3\u0028", "\u00FF", "caf\u00C3\u00A9"])}`);
			break;
		case "bad escape":
			fields.unshift(`ssid=${rng.pick(["%", "%2", "%zz", "%C3%28", "%ED%A0%80"])}`);
			break;
	}
	if (mutation !== "none") labels.push(mutation);
	return { text: fields.join("&"), label: labels.join("; ") };
}

function drawCase(rng: Rng, options: PortalGenOptions): { request: Buffer; label: string } {
	const kind = rng.weighted([
		["join", 6],
		["forget", 2],
		["status", 3],
		["page", 1],
	] as const);
	let method = kind === "status" || kind === "page" ? "GET" : "POST";
	let path = kind === "join" ? "/join" : kind === "forget" ? "/forget" : kind === "status" ? "/status" : rng.pick(["/", "/index.html"]);
	const labels: string[] = [`${method} ${path}`];
	if (rng.chance(0.1)) {
		method = rng.pick(["GET", "POST", "HEAD", "PUT", "get", "OPTIONS", "DELETE"]);
		labels.push(`method ${method}`);
	}
	if (rng.chance(0.1)) {
		path = rng.pick(["/x", "/status/", "/JOIN", "/st%61tus", "//join", "/forget/", "/index.htm", "*"]);
		labels.push(`path ${path}`);
	}
	let target = path;
	const body = formBody(rng, options, path);
	let bodyText = body.text;
	if (kind === "status" || rng.chance(0.05)) {
		target += `?${bodyText}`; // the code in the query, as GET /status carries it
		bodyText = rng.chance(0.8) ? "" : bodyText;
		labels.push(`query: ${body.label}`);
	} else labels.push(`form: ${body.label}`);
	let version = "HTTP/1.1";
	if (rng.chance(0.06)) {
		version = rng.pick(["HTTP/1.0", "HTTP/2.0", "HTTP/1", "http/1.1", "HTTP/1.1 "]);
		labels.push(`version "${version}"`);
	}
	const eol = rng.chance(0.1) ? "\n" : "\r\n";
	const bodyBytes = Buffer.from(bodyText, "latin1"); // "raw bytes" fields are single bytes as written
	const headers: [string, string][] = [["Host", "192.168.4.1"]];
	if (bodyBytes.length || rng.chance(0.3)) headers.push(["Content-Type", "application/x-www-form-urlencoded"]);
	const lengthMode = rng.weighted([
		["exact", 20],
		["none", 2],
		["shorter", 2],
		["odd", 2],
		["twice", 1],
		["huge", 1],
		["chunked", 1],
	] as const);
	const length = lengthMode === "shorter" ? rng.int(0, bodyBytes.length) : bodyBytes.length;
	if (lengthMode === "exact" || lengthMode === "shorter") headers.push(["Content-Length", rng.chance(0.1) ? `00${length}` : String(length)]);
	else if (lengthMode === "odd")
		headers.push([
			"Content-Length",
			rng.pick([`+${length}`, `${length}.0`, `0x${length.toString(16)}`, `${length} ${length}`, "", `-${length}`, `${length}e0`, `0000000000${length}`]),
		]);
	else if (lengthMode === "twice") headers.push(["Content-Length", String(length)], ["Content-Length", String(length)]);
	else if (lengthMode === "huge") headers.push(["Content-Length", rng.pick(["513", "1024", "99999999", "4294967296"])]);
	else if (lengthMode === "chunked") headers.push(["Transfer-Encoding", rng.pick(["chunked", "identity", "gzip, chunked"])]);
	if (lengthMode !== "exact") labels.push(`length ${lengthMode}`);
	if (rng.chance(0.1)) {
		const size = rng.pick([1900, 2000, 2040, 2048, 2060, 3000]);
		let n = 0;
		while (headLength() < size) {
			headers.push([`X-Fill-${n++}`, "f".repeat(rng.int(5, 60))]);
		}
		labels.push(`head of ${headLength()} B`);
	}
	if (rng.chance(0.04)) {
		const line = rng.pick(["Bad Header: x", "NoColon", "X-Ctl: a\u0001b", "X-Sp : x", " folded"]);
		headers.splice(rng.int(0, headers.length), 0, [line, "\0raw"]);
		labels.push(`header line ${JSON.stringify(line)}`);
	}
	function headText(): string {
		return `${method} ${target} ${version}${eol}${headers.map(([name, value]) => (value === "\0raw" ? name : `${name}: ${value}`)).join(eol)}${eol}${eol}`;
	}
	function headLength(): number {
		return Buffer.byteLength(headText(), "latin1");
	}
	return { request: Buffer.concat([Buffer.from(headText(), "latin1"), bodyBytes]), label: labels.join("; ") };
}

/** Case `index` of a run: drawn until it is one the run may send (see the header). */
export function portalCase(rng: Rng, index: number, seed: number, options: PortalGenOptions): PortalCase {
	for (;;) {
		const { request, label } = drawCase(rng, options);
		const expect = expectPortal(request, options.code);
		if (expect === "incomplete" || expect.joins || (expect.triesCode && options.triesLeft <= 0)) continue;
		if (expect.triesCode) options.triesLeft--;
		return { index, seed, label, request, writes: writePlan(rng, request.length, options.maxDelayMs), expect };
	}
}
