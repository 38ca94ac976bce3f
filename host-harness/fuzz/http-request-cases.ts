/*
 * Generators of plain HTTP requests on the device's HTTP routes (the
 * handshake cases' share of them, handshake-cases.ts): POST, PUT, DELETE
 * (and GET, HEAD) with and without a body, its Content-Length right, short
 * of the body, beyond it, over the route's limit or malformed, or a chunked
 * body; asking to keep the connection or not. What the server must answer
 * is http-oracle.ts's to say, from the bytes.
 */

import type { HttpRouteTable } from "./http-oracle.js";
import type { Rng } from "./prng.js";

interface PlainRequest {
	method: string;
	target: string;
	version: string;
	headers: [string, string][];
	eol: string;
}

function render(request: PlainRequest): Buffer {
	const lines = [`${request.method} ${request.target} ${request.version}`, ...request.headers.map(([name, value]) => `${name}: ${value}`), "", ""];
	return Buffer.from(lines.join(request.eol), "latin1");
}

/** A plain HTTP request on one of the routed paths, with or without a body, its framing right or wrong. */
export function routedRequest(rng: Rng, options: { host: string; maxBody?: number }, routes: HttpRouteTable): { head: Buffer; label: string } {
	const paths = Object.keys(routes);
	// Mostly the paths that take bodies.
	const path = rng.weighted(paths.map(p => [p, "GET" in routes[p] ? 1 : 6] as const));
	const method = rng.weighted([
		["POST", 4],
		["PUT", 3],
		["DELETE", 2],
		["GET", 1],
		["HEAD", 1],
	] as const);
	const request: PlainRequest = {
		method,
		target: rng.weighted([
			[path, 6],
			[`${path}?a=1&b=x+y`, 1],
			[`http://${options.host}${path}`, 1],
		] as const),
		version: rng.weighted([
			["HTTP/1.1", 8],
			["HTTP/1.0", 1],
		] as const),
		headers: [["Host", options.host]],
		eol: "\r\n",
	};
	const labels = [`${method} ${request.target} ${request.version}`];
	const connection = rng.weighted([
		[undefined, 2],
		["keep-alive", 4],
		["Keep-Alive", 1],
		["close", 1],
		["keep-alive, close", 1],
	] as const);
	if (connection !== undefined) {
		request.headers.push(["Connection", connection]);
		labels.push(`Connection: ${connection}`);
	}
	if (rng.chance(0.3)) request.headers.push(["Content-Type", rng.pick(["application/octet-stream", "application/json", "text/plain"])]);
	const limit = routes[path][method === "HEAD" ? "GET" : method] ?? 1024;
	const sizes = [0, 1, 10, 200, 1024, 1025, 3000, options.maxBody ?? 4096].filter(n => n <= (options.maxBody ?? 4096));
	let size = rng.pick(sizes);
	let body = rng.bytes(size);
	const framing = rng.weighted([
		["none", 2],
		["right", 8],
		["short", 1],
		["beyond", 1],
		["over", 2],
		["malformed", 2],
		["chunked", 2],
	] as const);
	switch (framing) {
		case "none":
			body = Buffer.alloc(0);
			labels.push("no body");
			break;
		case "right":
			request.headers.push(["Content-Length", String(size)]);
			labels.push(`a body of ${size} B`);
			break;
		case "short":
			size = Math.max(1, size);
			request.headers.push(["Content-Length", String(size)]);
			body = body.subarray(0, rng.int(0, size - 1));
			labels.push(`Content-Length ${size}, ${body.length} B sent`);
			break;
		case "beyond":
			request.headers.push(["Content-Length", String(Math.floor(size / 2))]);
			labels.push(`Content-Length ${Math.floor(size / 2)}, ${size} B sent`);
			break;
		case "over": {
			const declared = rng.pick([String(limit + 1), "99999999999"]);
			request.headers.push(["Content-Length", declared]);
			body = body.subarray(0, rng.int(0, Math.min(size, 100)));
			labels.push(`Content-Length ${declared} (over the route's ${limit})`);
			break;
		}
		case "malformed": {
			const declared = rng.pick(["12a", "-1", "", "1 2", "0x10", "+5", "5, 5"]);
			if (declared === "5, 5") request.headers.push(["Content-Length", "5"], ["Content-Length", "5"]);
			else request.headers.push(["Content-Length", declared]);
			labels.push(`Content-Length "${declared}"`);
			break;
		}
		case "chunked":
			request.headers.push(["Transfer-Encoding", "chunked"]);
			body = Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), body, Buffer.from("\r\n0\r\n\r\n")]);
			labels.push(`a chunked body of ${size} B`);
			break;
	}
	// Now and then, what any request may have: names in another case, bare LF line ends, more headers.
	if (rng.chance(0.3)) {
		const twist = rng.pick([0, 1, 2]);
		if (twist === 0) {
			for (const h of request.headers) h[0] = h[0].toLowerCase();
		} else if (twist === 1) request.eol = "\n";
		else request.headers.splice(1, 0, [`X-Fuzz-${rng.int(0, 99999)}`, rng.bytes(rng.int(0, 30)).toString("base64")]);
		labels.push(["lower-case names", "bare LF line ends", "an extra header"][twist]);
	}
	return { head: Buffer.concat([render(request), body]), label: labels.join("; ") };
}
