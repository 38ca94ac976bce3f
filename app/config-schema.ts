/*
 * The schema of the device configuration: every key with its kind, default
 * and one line of documentation, and the parsing and validation applied to
 * raw values (manifest JSON or mcconfig strings). Pure: no imports, so the
 * harness uses the same definitions to know a board's defaults.
 */

/** port: 0..65535; count: >= 1; number and milliseconds: >= 0; flag: true/false (also 1/0, on/off, yes/no); choice: one of `choices`. */
type Kind = "string" | "port" | "count" | "number" | "milliseconds" | "flag" | "choice";

interface KeySpec {
	kind: Kind;
	default: string | number | boolean;
	doc: string;
	/** kind "choice": the values accepted. */
	choices?: readonly string[];
}

/** The schema: key → kind, default, one line of documentation (docs/configuration.md holds it as a table, checked by a test). */
export const schema = freezeSchema({
	ssid: { kind: "string", default: "", doc: "WiFi network to join (station mode)" },
	password: { kind: "string", default: "", doc: "WiFi password" },
	wifiRetries: { kind: "count", default: 5, doc: "quick WiFi join attempts before backing off" },
	wifiRetryDelay: { kind: "milliseconds", default: 1000, doc: "delay between quick WiFi join attempts; the backoff starts at twice this" },
	wifiBackoffMax: { kind: "milliseconds", default: 60000, doc: "longest delay between WiFi join attempts" },
	wifiConnectTimeout: { kind: "milliseconds", default: 15000, doc: "a WiFi join with no address after this long has failed" },
	wifiForget: { kind: "flag", default: false, doc: "erase WiFi credentials saved on the device at boot" },
	provisionSsid: { kind: "string", default: "xs-netkit", doc: "name of the device's own access point while provisioning" },
	provisionPassword: {
		kind: "string",
		default: "",
		doc: 'the access point\'s WPA2 passphrase: empty, the device makes one at its first boot, keeps it and prints it on its console only; or 8-63 characters; or "open" for an open access point (warned at every boot)',
	},
	provisionCode: {
		kind: "string",
		default: "",
		doc: "the code the provisioning page asks for before it saves, forgets or reports anything: empty, the device makes one (8 characters) at its first boot, keeps it and prints it on its console only; or 6-32 printable characters",
	},
	provisionPort: { kind: "port", default: 80, doc: "port of the provisioning page (host targets: 8082)" },

	logLevel: {
		kind: "choice",
		choices: ["error", "warn", "info", "debug"],
		default: "info",
		doc: "log lines printed: error, warn, info, or debug (adds a line per message and datagram; host targets default to debug)",
	},

	tcpServer: { kind: "flag", default: true, doc: "run the TCP echo server" },
	tcpPort: { kind: "port", default: 8080, doc: "TCP echo server port" },
	tcpMaxClients: { kind: "count", default: 2, doc: "TCP clients served at once" },
	tcpBacklog: { kind: "number", default: 1, doc: "TCP connections kept waiting (accepted, not served) when all slots are busy; more are closed" },
	tcpIdleTimeout: { kind: "milliseconds", default: 60000, doc: "close a TCP connection that moved no byte for this long (0: never)" },
	tcpChunk: { kind: "count", default: 1536, doc: "bytes the TCP echo holds per connection, read ahead of the write budget" },
	tcpLruPurge: {
		kind: "flag",
		default: false,
		doc: "a connection that finds every slot and the backlog taken closes the longest-idle one instead of being refused",
	},

	tcpClient: { kind: "flag", default: false, doc: "run the TCP echo client" },
	tcpClientHost: { kind: "string", default: "", doc: "TCP echo client peer address (IPv4)" },
	tcpClientPort: { kind: "port", default: 8080, doc: "TCP echo client peer port" },
	tcpClientConnectTimeout: { kind: "milliseconds", default: 5000, doc: "TCP echo client: give up a connection attempt after this long" },
	tcpClientRetryDelay: { kind: "milliseconds", default: 1000, doc: "TCP echo client: first reconnect delay, doubled after each failure" },
	tcpClientRetryMaxDelay: { kind: "milliseconds", default: 30000, doc: "TCP echo client: longest reconnect delay" },
	tcpClientMaxAttempts: { kind: "number", default: 0, doc: "TCP echo client: connection attempts before giving up (0: forever)" },
	tcpClientTls: { kind: "flag", default: false, doc: "TCP echo client: connect over TLS (SNI and certificate name: tcpClientHost)" },
	tcpClientCa: {
		kind: "string",
		default: "",
		doc: "TCP echo client over TLS: the CA that issued the peer's certificate, a resource name (DER or PEM) or base64:<DER>",
	},

	udpServer: { kind: "flag", default: true, doc: "run the UDP echo server" },
	udpPort: { kind: "port", default: 9000, doc: "UDP echo server port" },

	wsServer: { kind: "flag", default: true, doc: "run the WebSocket echo server" },
	wsPort: { kind: "port", default: 80, doc: "WebSocket echo server port (host targets: 8081)" },
	wsPath: { kind: "string", default: "/ws", doc: "WebSocket echo server path" },
	wsMaxClients: {
		kind: "count",
		default: 4,
		doc: "WebSocket clients served at once; 2 more are answered 503 while they wait, and a connection beyond those is closed without an answer",
	},
	wsHandshakeTimeout: {
		kind: "milliseconds",
		default: 5000,
		doc: "drop a WebSocket upgrade that has not completed after this long; also how long a kept HTTP connection waits for its next request",
	},
	wsHeartbeat: {
		kind: "milliseconds",
		default: 20000,
		doc: "ping every WebSocket client this often and drop those that did not pong since the last ping, so a vanished peer frees its slot (0: off)",
	},
	wsLruPurge: { kind: "flag", default: false, doc: "a client beyond wsMaxClients closes the longest-idle client (1001) instead of being answered 503" },
	wsKey: {
		kind: "string",
		default: "",
		doc: "access key of the log and broadcast routes: a client gives it as Authorization: Bearer <key>, a bearer.<key> subprotocol or ?key=<key>, else 401; a wrong one makes its address wait, doubling (429). Letters, digits and -._~, 8 to 64 (empty: those routes are open, and the boot log warns)",
	},
	wsProtocols: { kind: "string", default: "", doc: "WebSocket subprotocols supported, comma-separated, preferred first" },
	wsTls: {
		kind: "flag",
		default: false,
		doc: "serve the WebSocket server, its routes and page over TLS (wss://, https://) with wsTlsCertificate and wsTlsKey: TLS 1.2, RSA key exchange, an RSA certificate; about 4 KB more XS heap per client",
	},
	wsTlsCertificate: {
		kind: "string",
		default: "ws-tls-cert.pem",
		doc: "wsTls: the server's certificate, then its chain if any: a resource name (DER, or PEM holding one or more CERTIFICATE blocks) or base64:<DER>[,base64:<DER>…]",
	},
	wsTlsKey: {
		kind: "string",
		default: "ws-tls-key.pem",
		doc: 'wsTls: the certificate\'s private key, unencrypted PKCS #8 RSA: a resource name (DER, or PEM "BEGIN PRIVATE KEY") or base64:<DER>',
	},

	httpPage: {
		kind: "flag",
		default: true,
		doc: "serve the device's own page at / on the WebSocket server's port: it opens the broadcast route (else the echo) and shows messages as they come",
	},
	httpUpload: {
		kind: "flag",
		default: false,
		doc: 'serve /upload on the WebSocket server\'s port: POST takes a body in pieces (up to 1 MiB) and answers its length and CRC-32, PUT the same for a body read whole (up to 1024 bytes), DELETE answers {"deleted": true}',
	},

	wsImpl: {
		kind: "choice",
		choices: ["ours", "sdk"],
		default: "ours",
		doc: "WebSocket echo server implementation: ours (websocket/), or the SDK's websocket module (simulator and esp32; echo and Trigger async only)",
	},
	wsBroadcastPath: {
		kind: "string",
		default: "",
		doc: "path of the WebSocket broadcast service on the WebSocket server's port: each message a client sends goes to every other client there (empty: off)",
	},
	wsBroadcastMaxMessage: { kind: "count", default: 1024, doc: "largest message the broadcast relays (1009 beyond)" },
	wsBroadcastQueue: {
		kind: "count",
		default: 4096,
		doc: "bytes each broadcast client may have waiting; a message that does not fit is skipped for that client",
	},
	wsBroadcastSlowTimeout: { kind: "milliseconds", default: 2000, doc: "a broadcast client that could take no message for this long is dropped with 1008" },
	wsLogPath: {
		kind: "string",
		default: "/log",
		doc: "path of the device's log on the WebSocket server's port: each line the app logs from then on goes to every client there as a text message, which host-harness logs --device follows (empty: off)",
	},

	buildId: {
		kind: "string",
		default: "",
		doc: "what this build is called: the app logs it at boot and announces it by mDNS, so a board with stale firmware is found (npm run flash sets the git commit)",
	},
	hostname: {
		kind: "string",
		default: "xs-netkit",
		doc: "the device's name on the LAN: it answers to <hostname>.local (mDNS) and announces its services (DNS-SD); letters, digits and inner hyphens",
	},
	mdns: { kind: "flag", default: true, doc: "announce <hostname>.local and the services by mDNS/DNS-SD (host targets on loopback: off)" },
	sntpServers: {
		kind: "string",
		default: "pool.ntp.org,time.cloudflare.com",
		doc: "SNTP servers that set the clock once the station has an address, host[:port] comma-separated, asked in turn; TLS certificate dates need it (empty: the app leaves the clock alone; host targets: empty)",
	},
	sntpInterval: { kind: "milliseconds", default: 3600000, doc: "time between SNTP syncs once the clock is set (0: once)" },
	sntpRetryDelay: { kind: "milliseconds", default: 2000, doc: "SNTP: delay after the first failed attempt, doubled after each failure" },
	sntpRetryMaxDelay: { kind: "milliseconds", default: 60000, doc: "SNTP: longest delay between attempts" },
	tlsClockWait: {
		kind: "milliseconds",
		default: 30000,
		doc: "a TLS client started while the clock was never set waits this long for SNTP before it connects anyway (certificate dates then fail)",
	},

	wsClient: { kind: "flag", default: false, doc: "run the WebSocket client session" },
	wsClientUri: { kind: "string", default: "", doc: "WebSocket client peer, ws://host:port/path or wss://host:port/path (TLS)" },
	wsClientCa: { kind: "string", default: "", doc: "for wss://: the CA that issued the server's certificate, a resource name (DER or PEM) or base64:<DER>" },
	wsClientHelloCount: { kind: "number", default: 5, doc: 'WebSocket client session: "hello NNNN" messages sent' },
	wsClientHelloInterval: { kind: "milliseconds", default: 1000, doc: "WebSocket client session: time between its messages" },
	wsClientNoDataTimeout: { kind: "milliseconds", default: 5000, doc: "WebSocket client session: close with 1000 after this long without data" },
	wsClientMaxMessage: { kind: "count", default: 8192, doc: "largest message the WebSocket client receives whole (1009 beyond); mind the heap" },
	wsClientSendBuffer: { kind: "count", default: 1024, doc: "largest frame the WebSocket client sends; longer messages are fragmented" },
	wsClientPingInterval: { kind: "milliseconds", default: 10000, doc: "WebSocket client ping interval (0: none)" },
	wsClientPongTimeout: { kind: "milliseconds", default: 120000, doc: "WebSocket client: drop the connection after this long without a pong" },
	wsClientNetworkTimeout: { kind: "milliseconds", default: 10000, doc: "WebSocket client: connect and handshake must finish within this" },
	wsClientRetryDelay: { kind: "milliseconds", default: 1000, doc: "WebSocket client: first reconnect delay, doubled after each failure" },
	wsClientRetryMaxDelay: { kind: "milliseconds", default: 30000, doc: "WebSocket client: longest reconnect delay" },
} as const satisfies Record<string, KeySpec>);

/** Frozen to the leaves: the schema is preloaded, so its tables live in flash. */
function freezeSchema<T extends Record<string, KeySpec>>(specs: T): T {
	for (const spec of Object.values(specs)) {
		if (spec.choices) Object.freeze(spec.choices);
		Object.freeze(spec);
	}
	return Object.freeze(specs);
}

export type ConfigKey = keyof typeof schema;

type ValueOf<K extends Kind> = K extends "string" | "choice" ? string : K extends "flag" ? boolean : number;

export type Config = { -readonly [K in ConfigKey]: ValueOf<(typeof schema)[K]["kind"]> };

export interface ConfigProblem {
	key: string;
	message: string;
}

/** Parse one raw value (a manifest value or an mcconfig string) as the key's kind. */
export function parseValue(key: string, spec: KeySpec, raw: unknown): string | number | boolean {
	const text = typeof raw === "string" ? raw.trim() : raw;
	switch (spec.kind) {
		case "string":
			if (typeof raw !== "string") throw new Error(`expected text, got ${typeof raw}`);
			return raw;
		case "choice":
			if (typeof text !== "string" || !spec.choices!.includes(text)) throw new Error(`expected one of ${spec.choices!.join(", ")}, got "${String(raw)}"`);
			return text;
		case "flag":
			if (typeof text === "boolean") return text;
			if (text === 1 || text === "1" || text === "true" || text === "on" || text === "yes") return true;
			if (text === 0 || text === "0" || text === "false" || text === "off" || text === "no") return false;
			throw new Error(`expected true or false, got "${String(raw)}"`);
		default: {
			const value = typeof text === "number" ? text : /^[0-9]+$/.test(String(text)) ? Number(text) : NaN;
			if (!Number.isInteger(value) || value < 0) throw new Error(`expected a whole number, got "${String(raw)}"`);
			if (spec.kind === "port" && (value < 0 || value > 65535)) throw new Error(`port ${value} is outside 0..65535`);
			if (spec.kind === "count" && value < 1) throw new Error(`must be at least 1, got ${value}`);
			return value;
		}
	}
}

/** Build the typed config from raw `mc/config`-shaped values; unknown keys are left alone (the SDK adds its own). */
/**
 * How the schema reads a WebSocket URI: the WebSocket client's own parser
 * (websocket/uri parseWebSocketUri), so that a URI the schema accepts is one
 * the client can use, validated at boot, never an abort later. Passed in, so
 * that this file imports nothing and the harness reads the same schema.
 */
export type WebSocketUriParser = (uri: string) => { secure: boolean };

export function readConfig(raw: Record<string, unknown>, parseUri: WebSocketUriParser): { config: Config; problems: ConfigProblem[] } {
	const config: Record<string, unknown> = {};
	const problems: ConfigProblem[] = [];
	for (const key of Object.keys(schema) as ConfigKey[]) {
		const spec: KeySpec = schema[key];
		config[key] = spec.default;
		if (raw[key] === undefined) continue;
		try {
			config[key] = parseValue(key, spec, raw[key]);
		} catch (e) {
			problems.push({ key, message: (e as Error).message });
		}
	}
	if (config.tcpClient && !config.tcpClientHost) problems.push({ key: "tcpClientHost", message: "tcpClient is on but no tcpClientHost is set" });
	if (config.wsBroadcastPath && (!String(config.wsBroadcastPath).startsWith("/") || config.wsBroadcastPath === config.wsPath))
		problems.push({ key: "wsBroadcastPath", message: `must start with "/" and differ from wsPath, got "${String(config.wsBroadcastPath)}"` });
	if (config.wsLogPath && (!String(config.wsLogPath).startsWith("/") || config.wsLogPath === config.wsPath || config.wsLogPath === config.wsBroadcastPath))
		problems.push({ key: "wsLogPath", message: `must start with "/" and differ from wsPath and wsBroadcastPath, got "${String(config.wsLogPath)}"` });
	// TLS without a CA would have to trust any server: refused, never silently unverified.
	if (config.tcpClient && config.tcpClientTls && !config.tcpClientCa)
		problems.push({ key: "tcpClientCa", message: "tcpClientTls is on but no tcpClientCa is set" });
	if (config.wsClient) {
		try {
			if (parseUri(String(config.wsClientUri)).secure && !config.wsClientCa)
				problems.push({ key: "wsClientCa", message: `wsClientUri is wss:// but no wsClientCa is set` });
		} catch (e) {
			problems.push({ key: "wsClientUri", message: `wsClient is on but ${(e as Error).message}` });
		}
	}
	// The SDK's WebSocket module (wsImpl=sdk) serves plain TCP only.
	if (config.wsServer && config.wsTls && config.wsImpl !== "ours")
		problems.push({ key: "wsTls", message: "TLS is served by the kit's WebSocket server only (wsImpl=ours)" });
	// WPA2 takes a passphrase of 8 to 63 characters (IEEE 802.11i); "open" and "" are the two words for the others.
	const passphrase = String(config.provisionPassword);
	if (passphrase !== "" && passphrase !== "open" && (passphrase.length < 8 || passphrase.length > 63))
		problems.push({
			key: "provisionPassword",
			message: `must be 8 to 63 characters (WPA2), "open" for an open access point, or empty to have the device make one; got ${passphrase.length} characters`,
		});
	const code = String(config.provisionCode);
	let printable = true;
	for (let i = 0; printable && i < code.length; i++) printable = code.charCodeAt(i) > 0x20 && code.charCodeAt(i) < 0x7f;
	if (code !== "" && (code.length < 6 || code.length > 32 || !printable))
		problems.push({ key: "provisionCode", message: "must be 6 to 32 printable ASCII characters without spaces, or empty to have the device make one" });
	// A UDP socket on the platforms does not say which port it took: "any port" could never be reported.
	if (config.udpServer && config.udpPort === 0)
		problems.push({ key: "udpPort", message: "0 (any port) cannot be used for UDP: the platform's UDP socket does not say which port it took; give a port" });
	// A DNS label (RFC 1123 2.1): what mdns/responder will claim as <hostname>.local.
	const host = String(config.hostname);
	let label = host.length >= 1 && host.length <= 63 && host[0] !== "-" && host[host.length - 1] !== "-";
	for (let i = 0; label && i < host.length; i++) label = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-".indexOf(host[i]) >= 0;
	if (!label) problems.push({ key: "hostname", message: `"${host}" is not a host name: letters, digits and inner hyphens, 1 to 63` });
	// An access key fits a subprotocol token and a URL as it is (websocket/access keyProblem, the same rule).
	const key = String(config.wsKey);
	let keyFits = key.length >= 8 && key.length <= 64;
	for (let i = 0; keyFits && i < key.length; i++) keyFits = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~".indexOf(key[i]) >= 0;
	if (key && !keyFits) problems.push({ key: "wsKey", message: "an access key is 8 to 64 letters, digits and - . _ ~" });
	try {
		parseServerList(String(config.sntpServers), 123);
	} catch (e) {
		problems.push({ key: "sntpServers", message: (e as Error).message });
	}
	return { config: config as Config, problems };
}

/** The build's lwIP control blocks, from mc/config (lwip/esp32-manifest.json, lwip/manifest.json; absent on other builds). */
export interface ControlBlocks {
	/** Active TCP control blocks (CONFIG_LWIP_MAX_ACTIVE_TCP): connections, TIME_WAIT included. */
	lwipMaxActiveTcp?: unknown;
	/** Listening TCP control blocks (CONFIG_LWIP_MAX_LISTENING_TCP). */
	lwipMaxListeningTcp?: unknown;
}

/**
 * What the configured counts need of the build's lwIP control blocks at full
 * load, and a warning for each that does not fit (the app starts anyway: a
 * connection beyond gets no answer to its SYN). Active: each served client,
 * each waiting TCP connection, one to close the TCP connection beyond the
 * backlog and one to answer 503 to the WebSocket client beyond, and the
 * device's own clients. Listening: one per server.
 */
export function controlBlockWarnings(config: Config, blocks: ControlBlocks): string[] {
	const warnings: string[] = [];
	const active = Number(blocks.lwipMaxActiveTcp);
	const listening = Number(blocks.lwipMaxListeningTcp);
	const tcp = config.tcpServer ? config.tcpMaxClients + config.tcpBacklog + 1 : 0;
	const ws = config.wsServer ? config.wsMaxClients + 1 : 0;
	const clients = (config.tcpClient ? 1 : 0) + (config.wsClient ? 1 : 0);
	const needed = tcp + ws + clients;
	if (active > 0 && needed > active)
		warnings.push(
			`the configured counts need ${needed} active TCP control blocks at full load (tcpMaxClients + tcpBacklog + 1, wsMaxClients + 1, ${clients} client${clients === 1 ? "" : "s"}), the build has ${active} (CONFIG_LWIP_MAX_ACTIVE_TCP): a connection beyond gets no answer`,
		);
	const listeners = (config.tcpServer ? 1 : 0) + (config.wsServer ? 1 : 0) + 1; // and the provisioning page, while provisioning
	if (listening > 0 && listeners > listening)
		warnings.push(
			`the servers need ${listeners} listening TCP control blocks (provisioning included), the build has ${listening} (CONFIG_LWIP_MAX_LISTENING_TCP)`,
		);
	return warnings;
}

/**
 * "host[:port],host[:port]" → hosts and ports (`port` when not given); an
 * empty list for "". Throws RangeError naming the entry that is wrong.
 * Parsed by hand: no module-level RegExp in a preloaded module.
 */
export function parseServerList(text: string, port: number): { host: string; port: number }[] {
	const servers: { host: string; port: number }[] = [];
	for (const item of text.split(",")) {
		const entry = item.trim();
		if (!entry.length) continue;
		const colon = entry.lastIndexOf(":");
		const host = colon < 0 ? entry : entry.slice(0, colon);
		let value = port;
		if (colon >= 0) {
			const digits = entry.slice(colon + 1);
			value = digits.length >= 1 && digits.length <= 5 && isDigits(digits) ? Number(digits) : NaN;
			if (!(value >= 1 && value <= 65535)) throw new RangeError(`"${entry}": the port must be 1..65535`);
		}
		if (!host.length || host.indexOf(" ") >= 0 || host.indexOf("/") >= 0) throw new RangeError(`"${entry}" is not host or host:port`);
		servers.push({ host, port: value });
	}
	return servers;
}

function isDigits(text: string): boolean {
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (c < 0x30 || c > 0x39) return false;
	}
	return true;
}
