/*
 * The reference oracle for the provisioning page (wifi/provisioning): given
 * the bytes of one request, the status the device must answer, written from
 * the rules (RFC 7230 3 and 3.3, docs/api-wifi.md), not from the device's
 * code:
 *
 *   400  a head that is not HTTP/1.x: a malformed request or header line,
 *        control characters, bytes that are not UTF-8; a Content-Length
 *        that is not 1 to 9 digits (two of them included)
 *   431  a head over 2 KB
 *   411  a Transfer-Encoding (the page takes a Content-Length only)
 *   413  a Content-Length over 512
 *   404  a path other than /, /index.html, /status, /join, /forget
 *        (the path is the target up to "?", not percent-decoded)
 *   405  GET on /join or /forget, anything but GET on the others
 *   200  GET / or /index.html
 *   403  a missing or wrong code: in the query for GET /status, in the
 *        form body (its first Content-Length bytes) for POST; the code is
 *        read as the form oracle reads a field (form-oracle.ts)
 *   200  /status, /forget with the right code
 *   400  /join with the right code and a name that is not 1 to 32 UTF-8
 *        bytes or a password that is neither empty nor 8 to 63 characters
 *   200  /join with the right code and credentials WPA2 takes
 *
 * `triesCode` says whether the request is one the device counts as a
 * wrong code (5 a minute, then 429): the generator keeps a run below that.
 */

import { expectedField } from "./form-oracle.js";
import { validUtf8 } from "./utf8.js";

export interface PortalExpectation {
	status: number;
	why: string;
	/** A wrong or missing code the device counts. */
	triesCode: boolean;
	/** A /join the device takes (it then tries the network). */
	joins: boolean;
}

const headLimit = 2048;
const bodyLimit = 512;
const TCHAR = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const answer = (status: number, why: string, triesCode = false, joins = false): PortalExpectation => ({ status, why, triesCode, joins });

/** The head's end in `data` (after leading empty lines): the index just past its empty line, or -1. */
function headEnd(data: Buffer, from: number): number {
	for (let i = from; i < data.length; i++) {
		if (data[i] === 0x0a && i > from && (data[i - 1] === 0x0a || (data[i - 1] === 0x0d && i - 2 >= from && data[i - 2] === 0x0a))) return i + 1;
	}
	return -1;
}

export function expectPortal(data: Buffer, code: string): PortalExpectation | "incomplete" {
	let start = 0;
	while (start < data.length && (data[start] === 0x0d || data[start] === 0x0a)) start++; // empty lines before the request line are ignored (RFC 7230 3.5)
	const end = headEnd(data, start);
	if (end < 0) return data.length - start >= headLimit ? answer(431, "head over 2 KB, unfinished") : "incomplete";
	if (end - start > headLimit) return answer(431, `head of ${end - start} B`);
	const headBytes = data.subarray(start, end);
	for (const b of headBytes) {
		if ((b < 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) || b === 0x7f) return answer(400, "control character in the head");
	}
	if (!validUtf8(headBytes)) return answer(400, "head not UTF-8");
	const lines = headBytes.toString("utf8").split("\n");
	const stripped: string[] = [];
	for (const line of lines) {
		const cr = line.indexOf("\r");
		if (cr >= 0 && cr !== line.length - 1) return answer(400, "bare CR");
		stripped.push(cr >= 0 ? line.slice(0, -1) : line);
	}
	const request = /^([^ ]+) ([^ ]+) HTTP\/\d\.\d$/.exec(stripped[0]);
	if (!request || !TCHAR.test(request[1]) || /[\x00-\x20\x7F]/.test(request[2])) return answer(400, "malformed request line");
	const [, method, target] = request;
	const headers = new Map<string, string>();
	for (const line of stripped.slice(1)) {
		if (line === "") break;
		const colon = line.indexOf(":");
		if (colon <= 0 || !TCHAR.test(line.slice(0, colon))) return answer(400, "malformed header line");
		const name = line.slice(0, colon).toLowerCase(),
			value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
		headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
	}
	if (headers.has("transfer-encoding")) return answer(411, "Transfer-Encoding");
	const lengthText = headers.get("content-length") ?? "0";
	if (!/^\d{1,9}$/.test(lengthText)) return answer(400, `Content-Length "${lengthText}"`);
	const length = Number(lengthText);
	if (length > bodyLimit) return answer(413, `Content-Length ${length}`);
	const body = data.subarray(end, end + length);
	if (body.length < length) return "incomplete";
	const question = target.indexOf("?");
	const path = question < 0 ? target : target.slice(0, question);
	const query = question < 0 ? "" : target.slice(question + 1);
	const read = path === "/" || path === "/index.html" || path === "/status";
	if (!read && path !== "/join" && path !== "/forget") return answer(404, `path ${path}`);
	if (method !== (read ? "GET" : "POST")) return answer(405, `${method} ${path}`);
	if (path !== "/status" && read) return answer(200, "the form");
	const given = method === "GET" ? expectedField(Buffer.from(query, "utf8"), "code") : expectedField(body, "code");
	if (given !== code) return answer(403, given === undefined ? "no code" : "wrong code", true);
	if (path !== "/join") return answer(200, `${path} with the code`);
	const ssid = expectedField(body, "ssid") ?? "",
		password = expectedField(body, "password") ?? "";
	const ssidBytes = Buffer.byteLength(ssid, "utf8");
	if (ssidBytes < 1 || ssidBytes > 32) return answer(400, `network name of ${ssidBytes} B`);
	if (password.length !== 0 && (password.length < 8 || password.length > 63)) return answer(400, `password of ${password.length} characters`);
	return answer(200, "credentials taken", false, true);
}
