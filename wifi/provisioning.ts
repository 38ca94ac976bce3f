/*
 * Provisioning, the smart-config case of the classic TCP-server example:
 * with no credentials known (or the known ones rejected), the device opens
 * its own access point and serves a small page where a phone or laptop
 * enters the network's name and password. They are saved (wifi/credentials)
 * and handed to the station.
 *
 *   GET  /         the form
 *   POST /join     ssid=…&password=… (form-encoded) → saved, then joined
 *   GET  /status   {"state":"provisioning","ap":"xs-netkit"}
 *   POST /forget   erases saved credentials
 *
 * One request per connection, head and body bounded (2 KB, 512 bytes),
 * responses written within the socket's write budget.
 */

import WiFi from "wifi";
import Listener from "embedded:io/socket/listener";
import TCP from "embedded:io/socket/tcp";
import Timer from "timer";
import { Log, peerName } from "modules/log";
import { RequestHeadParser } from "websocket/handshake";
import { Credentials, credentialsProblem, forgetCredentials, saveCredentials } from "wifi/credentials";

const log = new Log("provisioning");

type ClosableListener = Listener & { close(): void };

export interface PortalOptions {
	/** The access point's name. */
	ssid: string;
	/** Its password: empty for an open network, else 8-63 characters. */
	password: string;
	port: number;
}

const page = `<!doctype html><html><head><meta name="viewport" content="width=device-width"><title>xs-netkit WiFi</title></head>
<body style="font-family:sans-serif;max-width:22em;margin:2em auto">
<h1>Join a network</h1>
<form method="post" action="/join">
<p><label>Network name<br><input name="ssid" maxlength="32" required autofocus></label></p>
<p><label>Password<br><input name="password" type="password" maxlength="63"></label></p>
<p><button>Join</button></p>
</form></body></html>
`;

export class ProvisioningPortal {
	readonly options: PortalOptions;
	/** Called with credentials entered on the page, already saved. */
	onCredentials: (credentials: Credentials) => void = () => {};
	#listener: ClosableListener | undefined;
	#lastProblem = "";

	constructor(options: PortalOptions) {
		this.options = options;
	}

	get running(): boolean {
		return this.#listener !== undefined;
	}

	get port(): number {
		return this.#listener?.port ?? this.options.port;
	}

	/** Open the access point and the page; `why` says what brought the device here. */
	start(why: string): void {
		if (this.#listener)
			return;
		this.#lastProblem = why;
		const { ssid, password } = this.options;
		// Station and access point together: the station keeps trying the known network meanwhile.
		WiFi.mode = (WiFi.Mode.station | WiFi.Mode.accessPoint) as typeof WiFi.mode;
		WiFi.accessPoint(password ? { ssid, password } : { ssid });
		const portal = this;
		this.#listener = <ClosableListener>new Listener({
			port: this.options.port,
			onReadable(count: number) {
				while (count-- > 0) {
					const from = this.read();
					if (from)
						portal.#serve(from);
				}
			},
		});
		log.info(`provisioning portal up {"ap":${JSON.stringify(ssid)},"port":${this.port}} (${why})`);
	}

	stop(): void {
		this.#listener?.close();
		this.#listener = undefined;
		WiFi.mode = WiFi.Mode.station;
		log.info("provisioning portal closed");
	}

	#serve(from: TCP): void {
		try {
			new HttpExchange(from, this);
		}
		catch (e) {
			log.error(`serving ${peerName(from.remoteAddress, from.remotePort)} failed: ${(e as Error).message}`);
		}
	}

	/** The answer to one request: status, content type, body; and what to do once it is sent. */
	answer(method: string, path: string, body: string): { status: number; type: string; body: string; then?: () => void } {
		if (method === "GET" && (path === "/" || path === "/index.html"))
			return { status: 200, type: "text/html; charset=utf-8", body: page };
		if (method === "GET" && path === "/status")
			return { status: 200, type: "application/json", body: JSON.stringify({ state: "provisioning", ap: this.options.ssid, why: this.#lastProblem }) };
		if (method === "POST" && path === "/forget") {
			const had = forgetCredentials();
			log.info(had ? "saved credentials forgotten" : "no saved credentials to forget");
			return { status: 200, type: "text/plain", body: had ? "forgotten\n" : "nothing saved\n" };
		}
		if (method === "POST" && path === "/join") {
			const form = parseForm(body);
			const credentials = { ssid: form.ssid ?? "", password: form.password ?? "" };
			const problem = credentialsProblem(credentials);
			if (problem)
				return { status: 400, type: "text/plain", body: `${problem}\n` };
			saveCredentials(credentials);
			log.info(`credentials for "${credentials.ssid}" saved; joining`);
			return { status: 200, type: "text/plain", body: `Saved. Joining "${credentials.ssid}"…\n`, then: () => this.onCredentials(credentials) };
		}
		if (path === "/" || path === "/status" || path === "/join" || path === "/forget")
			return { status: 405, type: "text/plain", body: "method not allowed\n" };
		return { status: 404, type: "text/plain", body: "not found\n" };
	}
}

const reasons: Record<number, string> = { 200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large", 431: "Request Header Fields Too Large" };

function parseForm(body: string): Record<string, string> {
	const out: Record<string, string> = {};
	for (const pair of body.split("&")) {
		const eq = pair.indexOf("=");
		if (eq <= 0)
			continue;
		try {
			out[decodeURIComponent(pair.slice(0, eq).replace(/\+/g, " "))] = decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, " "));
		}
		catch {
			// a malformed escape: leave the field out, the validation names what is missing
		}
	}
	return out;
}

/** One HTTP request and its response on one connection. */
class HttpExchange {
	#socket: TCP;
	#portal: ProvisioningPortal;
	#peer: string;
	#parser = new RequestHeadParser(2048);
	#method = "";
	#path = "";
	#body: ArrayBuffer[] = [];
	#bodyBytes = 0;
	#bodyLength = -1;
	#out: ArrayBuffer | undefined;
	#sent = 0;
	#writable = 0;
	#then: (() => void) | undefined;
	#timer: Timer | undefined;
	#done = false;

	constructor(from: TCP, portal: ProvisioningPortal) {
		this.#portal = portal;
		this.#peer = peerName(from.remoteAddress, from.remotePort);
		const exchange = this;
		this.#socket = new TCP({
			from,
			onReadable(bytes: number) {
				try {
					exchange.#read(this.read(bytes) as ArrayBuffer);
				}
				catch (e) {
					exchange.#end(`error: ${(e as Error).message}`);
				}
			},
			onWritable(bytes: number) {
				exchange.#writable = bytes;
				try {
					exchange.#flush();
				}
				catch (e) {
					exchange.#end(`error: ${(e as Error).message}`);
				}
			},
			onError() {
				exchange.#end("peer closed");
			},
		});
		this.#timer = Timer.set(() => {
			this.#timer = undefined;
			this.#end("request timed out");
		}, 10_000);
	}

	#read(chunk: ArrayBuffer): void {
		if (this.#out)
			return;		// one request per connection: anything after it is ignored
		if (!this.#method) {
			if (!this.#parser.feed(chunk))
				return;
			const { head, error, rest } = this.#parser;
			if (error || !head) {
				this.#respond(error?.status ?? 400, "text/plain", `${error?.message ?? "bad request"}\n`);
				return;
			}
			this.#method = head.method;
			this.#path = head.target.split("?")[0];
			this.#bodyLength = Number(head.headers.get("content-length") ?? "0");
			if (!(this.#bodyLength >= 0 && this.#bodyLength <= 512)) {
				this.#respond(413, "text/plain", "the form is limited to 512 bytes\n");
				return;
			}
			chunk = rest ?? new ArrayBuffer(0);
		}
		if (chunk.byteLength) {
			this.#body.push(chunk);
			this.#bodyBytes += chunk.byteLength;
		}
		if (this.#bodyBytes < this.#bodyLength)
			return;
		let body = "";
		try {
			body = String.fromArrayBuffer(new ArrayBuffer(0).concat(...this.#body).slice(0, this.#bodyLength));
		}
		catch {
			this.#respond(400, "text/plain", "the form is not UTF-8\n");
			return;
		}
		const answer = this.#portal.answer(this.#method, this.#path, body);
		log.info(`${this.#method} ${this.#path} from ${this.#peer}: ${answer.status}`);
		this.#then = answer.then;
		this.#respond(answer.status, answer.type, answer.body);
	}

	#respond(status: number, type: string, body: string): void {
		const content = ArrayBuffer.fromString(body);
		const head = `HTTP/1.1 ${status} ${reasons[status] ?? "Error"}\r\nContent-Type: ${type}\r\nContent-Length: ${content.byteLength}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n`;
		this.#out = ArrayBuffer.fromString(head).concat(content);
		this.#flush();
	}

	#flush(): void {
		const out = this.#out;
		if (!out || this.#done)
			return;
		while (this.#sent < out.byteLength && this.#writable > 0) {
			const count = Math.min(this.#writable, out.byteLength - this.#sent);
			this.#socket.write(new Uint8Array(out, this.#sent, count));
			this.#sent += count;
			this.#writable -= count;
		}
		if (this.#sent === out.byteLength) {
			const then = this.#then;
			this.#end("answered");
			then?.();
		}
	}

	#end(reason: string): void {
		if (this.#done)
			return;
		this.#done = true;
		Timer.clear(this.#timer);
		this.#timer = undefined;
		try {
			this.#socket.close();
		}
		catch {
			// already closed by the platform
		}
		if (reason !== "answered")
			log.info(`connection from ${this.#peer} ended: ${reason}`);
	}
}
