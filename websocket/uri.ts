/*
 * WebSocket URIs (RFC 6455 3): what a ws:// or wss:// URI points at. Pure:
 * no imports, so the app's configuration schema checks a URI with this very
 * parser (app/config-schema) and the harness can load it as it is.
 */

/** Where a ws:// or wss:// URI points: what the WebSocket client connects to. */
export interface WebSocketTarget {
	secure: boolean;
	host: string;
	port: number;
	/** Request target: path and query. */
	path: string;
	/** Host header value. */
	hostHeader: string;
}

/** Split "ws://host:port/path?query" (RFC 6455 3); throws URIError on anything else. */
export function parseWebSocketUri(uri: string): WebSocketTarget {
	const match = /^(wss?):\/\/([^/:?#[\]@\s]+)(?::(\d{1,5}))?([/?][^#]*)?(?:#.*)?$/i.exec(uri);
	if (!match) throw new URIError(`invalid WebSocket URI "${uri}" (ws://host[:port][/path])`);
	const secure = match[1].toLowerCase() === "wss";
	const defaultPort = secure ? 443 : 80;
	const port = match[3] ? Number(match[3]) : defaultPort;
	if (port < 1 || port > 65535) throw new URIError(`invalid port ${port} in "${uri}" (1..65535)`);
	let path = match[4] ?? "/";
	if (path.startsWith("?")) path = "/" + path;
	const host = match[2];
	return { secure, host, port, path, hostHeader: port === defaultPort ? host : `${host}:${port}` };
}
