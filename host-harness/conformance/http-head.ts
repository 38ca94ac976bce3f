/*
 * An HTTP answer's head, as the raw clients read it (the conformance
 * client, the fuzzer's, the churn's): the status line, the status, and the
 * headers with lower-cased names, repeated headers joined with ", " (RFC
 * 9110 5.3); and the whole answers in a stream of them (a kept connection's).
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

/** Whether the answer keeps its connection for the next request: it says `Connection: keep-alive` (RFC 9112 9.3). */
export function keepsConnection(head: Pick<HttpHead, "headers">): boolean {
	return head.headers.get("connection")?.toLowerCase() === "keep-alive";
}

/** An answer read whole: its head parsed, the head's text, and its body. */
export type HttpReply = HttpHead & { head: string; body: Buffer };

/**
 * The answers at the start of `bytes` that are whole, in order: each a head
 * and the Content-Length bytes after it (RFC 9112 6.3; none without one).
 */
export function wholeReplies(bytes: Buffer): HttpReply[] {
	const replies: HttpReply[] = [];
	for (let at = 0; ; ) {
		const split = bytes.indexOf("\r\n\r\n", at);
		if (split < 0) return replies;
		const head = bytes.subarray(at, split).toString("latin1");
		const parsed = parseHttpHead(head);
		const end = split + 4 + Number(parsed.headers.get("content-length") ?? 0);
		if (bytes.length < end) return replies;
		replies.push({ ...parsed, head, body: bytes.subarray(split + 4, end) });
		at = end;
	}
}
