/*
 * An HTTP answer's head, as the raw clients read it (the conformance
 * client and the fuzzer's): the status line, the status, and the headers
 * with lower-cased names, repeated headers joined with ", " (RFC 9110 5.3).
 */

export interface HttpHead {
	status: number;
	/** "HTTP/1.1 101 Switching Protocols" as sent. */
	statusLine: string;
	/** "1.1", "1.0", or "" when the status line is not HTTP's. */
	version: string;
	/** Header names lower-cased; repeated headers joined with ", ". */
	headers: Map<string, string>;
}

/** The head's text, up to (not including) its blank line. */
export function parseHttpHead(text: string): HttpHead {
	const [statusLine, ...lines] = text.split("\r\n");
	const headers = new Map<string, string>();
	for (const line of lines) {
		const colon = line.indexOf(":");
		if (colon <= 0) continue;
		const name = line.slice(0, colon).trim().toLowerCase(),
			value = line.slice(colon + 1).trim();
		headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
	}
	const match = /^HTTP\/(\d\.\d) (\d{3})(?: .*)?$/.exec(statusLine);
	return { status: match ? Number(match[2]) : 0, statusLine, version: match?.[1] ?? "", headers };
}
