/*
 * Which file provides each module device code imports, when the device
 * modules run in Node (the loader hook) or under vitest (aliases).
 *
 * Platform modules (what Moddable provides on esp32 and the simulator) map
 * to this folder's host providers; the project's own device modules map to
 * their folders, named as the manifests name them ("app/tcp-echo-server").
 *
 * Deviation: two device modules of our own are native on XS and have a host
 * twin here instead: "websocket/utf8" (websocket/utf8.c + utf8.js, the
 * UTF-8 validation loop) is utf8.ts, the same rules in JS (its header lists
 * where it differs), and "websocket/mask" (mask.c + mask.js, the masking
 * loop) is mask.ts. Listed among the platform modules so that they win over
 * the websocket/ folder rule in the loader hook and under vitest.
 */

/** Moddable module specifier → provider file in host-harness/node-host (no extension). */
export const platformModules: Readonly<Record<string, string>> = {
	"embedded:io/socket/tcp": "socket-tcp",
	"embedded:io/socket/listener": "socket-listener",
	"embedded:io/socket/udp": "socket-udp",
	// The device's TLS socket (on Moddable's ssl/session) is replaced whole by one over node:tls.
	"modules/tls-socket": "socket-tls",
	// The device's TLS server socket, likewise.
	"modules/tls-server-socket": "socket-tls-server",
	Resource: "resource",
	timer: "timer",
	time: "time",
	"mc/config": "mc-config",
	wifi: "wifi",
	net: "net",
	logical: "logical",
	crypt: "crypt",
	rng: "rng",
	base64: "base64",
	instrumentation: "instrumentation",
	preference: "preference",
	websocket: "sdk-websocket",
	// Ours, native on XS (websocket/utf8.c, websocket/mask.c): their JS twins.
	"websocket/utf8": "utf8",
	"websocket/mask": "mask",
};

/** Top-level folders holding device modules; "app/tcp-echo-server" is app/tcp-echo-server.ts. */
export const deviceFolders: readonly string[] = ["modules", "tcp", "udp", "websocket", "wifi", "sntp", "mdns", "app"];
