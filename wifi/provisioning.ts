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
import type TCP from "embedded:io/socket/tcp";
import Timer from "timer";
import { Log } from "modules/log";
import { TcpListener, type AcceptTarget } from "modules/listener";
import { RequestHeadParser, closingResponse } from "modules/http";
import { CloseCause } from "tcp/close-cause";
import { TcpEndpoint, type TcpConnection, type TcpConnectionOwner, type TcpHandler } from "tcp/connection";
import { CredentialStore, Credentials, credentialsProblem } from "wifi/credentials";

const log = new Log("provisioning");

/** Limits of one request: its head, its body (the form). */
const headLimit = 2048;
const bodyLimit = 512;
/** A request not answered within this long is dropped (ms). */
const requestTimeout = 10_000;

export interface PortalOptions {
	/** The access point's name. */
	ssid: string;
	/** Its password: empty for an open network, else 8-63 characters. */
	password: string;
	port: number;
	/** Where the credentials entered on the page are saved (and forgotten). */
	credentials: CredentialStore;
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
	// The hooks the library calls (the listener's accept, the connections'
	// closed) are TypeScript `private`, off the portal's public type. The
	// listener and the connections get `hooks` instead of the portal: one
	// object per portal, of a class that implements their interfaces (so a
	// hook renamed on either side is a type error) and, written inside this
	// class, may call its private methods. Prototype methods, no closures.
	private static readonly Hooks = class implements AcceptTarget, TcpConnectionOwner {
		constructor(readonly portal: ProvisioningPortal) {}
		get log(): Log {
			return log;
		}
		accept(from: TCP): void {
			this.portal.accept(from);
		}
		closed(connection: TcpEndpoint, cause: CloseCause, reason: string, error?: unknown): void {
			this.portal.closed(connection, cause, reason, error);
		}
	};
	readonly options: PortalOptions;
	/** Called with credentials entered on the page, already saved. */
	onCredentials: (credentials: Credentials) => void = () => {};
	#listener: TcpListener | undefined;
	#lastProblem = "";
	private readonly hooks = new ProvisioningPortal.Hooks(this);

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
		this.#listener = new TcpListener({ port: this.options.port, target: this.hooks, log });
		log.info(`provisioning portal up {"ap":${JSON.stringify(ssid)},"port":${this.port}} (${why})`);
	}

	stop(): void {
		this.#listener?.close();
		this.#listener = undefined;
		WiFi.mode = WiFi.Mode.station;
		log.info("provisioning portal closed");
	}

	/** From the listener: one request per connection. */
	private accept(from: TCP): void {
		const connection = new TcpEndpoint({ from, owner: this.hooks });
		connection.handler = new HttpExchange(this, connection);
	}

	/** From a connection: it closed. */
	private closed(connection: TcpEndpoint, cause: CloseCause, reason: string, error?: unknown): void {
		if (error)
			log.error(`serving ${connection.peer} failed: ${(error as Error)?.message ?? error}`);
		if (cause !== CloseCause.LOCAL)		// closed here once answered
			log.info(`connection from ${connection.peer} ended: ${reason}`);
	}

	/** The answer to one request: status, content type, body; and what to do once it is sent. */
	answer(method: string, path: string, body: string): { status: number; type: string; body: string; then?: () => void } {
		if (method === "GET" && (path === "/" || path === "/index.html"))
			return { status: 200, type: "text/html; charset=utf-8", body: page };
		if (method === "GET" && path === "/status")
			return { status: 200, type: "application/json", body: JSON.stringify({ state: "provisioning", ap: this.options.ssid, why: this.#lastProblem }) };
		if (method === "POST" && path === "/forget") {
			const had = this.options.credentials.forget();
			log.info(had ? "saved credentials forgotten" : "no saved credentials to forget");
			return { status: 200, type: "text/plain", body: had ? "forgotten\n" : "nothing saved\n" };
		}
		if (method === "POST" && path === "/join") {
			const form = parseForm(body);
			const credentials = { ssid: form.ssid ?? "", password: form.password ?? "" };
			const problem = credentialsProblem(credentials);
			if (problem)
				return { status: 400, type: "text/plain", body: `${problem}\n` };
			this.options.credentials.save(credentials);
			log.info(`credentials for "${credentials.ssid}" saved; joining`);
			return { status: 200, type: "text/plain", body: `Saved. Joining "${credentials.ssid}"…\n`, then: () => this.onCredentials(credentials) };
		}
		if (path === "/" || path === "/status" || path === "/join" || path === "/forget")
			return { status: 405, type: "text/plain", body: "method not allowed\n" };
		return { status: 404, type: "text/plain", body: "not found\n" };
	}
}

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

/**
 * One HTTP request and its response on one connection, as a handler on the
 * TCP library (tcp/connection): the head parsed as it arrives, the body
 * read into a buffer of its own, the response written within the budget.
 */
class HttpExchange implements TcpHandler {
	#portal: ProvisioningPortal;
	#parser = new RequestHeadParser(headLimit);
	/** What was read last (the head arrives through it), then the body. */
	#input = new Uint8Array(bodyLimit);
	#method = "";
	#path = "";
	#bodyBytes = 0;
	#bodyLength = -1;
	#out: Uint8Array | undefined;
	#sent = 0;
	#then: (() => void) | undefined;
	#timer: Timer | undefined;

	constructor(portal: ProvisioningPortal, connection: TcpConnection) {
		this.#portal = portal;
		this.#timer = Timer.set(() => {
			this.#timer = undefined;
			connection.close(CloseCause.TIMEOUT, "request timed out");
		}, requestTimeout);
	}

	get pending(): number {
		return this.#out ? this.#out.length - this.#sent : 0;
	}

	onReadable(connection: TcpConnection): void {
		while (connection.readable && !this.#out) {
			if (!this.#method) {
				const count = connection.read(this.#input);
				if (this.#parser.feed(this.#input.subarray(0, count)))
					this.#headDone(connection);
			}
			else
				this.#bodyBytes += connection.read(this.#input.subarray(this.#bodyBytes, this.#bodyLength));
			if (this.#method && !this.#out && this.#bodyBytes >= this.#bodyLength)
				this.#answer(connection);
		}
		if (this.#out && connection.readable)
			connection.read(this.#input);		// one request per connection: anything after it is read and ignored
	}

	onWritable(connection: TcpConnection): void {
		const out = this.#out;
		if (!out)
			return;
		this.#sent += connection.write(out.subarray(this.#sent));
		if (this.#sent < out.length)
			return;
		const then = this.#then;
		connection.close(CloseCause.LOCAL, "answered");
		then?.();
	}

	onClose(): void {
		Timer.clear(this.#timer);
		this.#timer = undefined;
	}

	#headDone(connection: TcpConnection): void {
		const { head, error, rest } = this.#parser;
		if (error || !head)
			return this.#respond(connection, error?.status ?? 400, "text/plain", `${error?.message ?? "bad request"}\n`);
		this.#method = head.method;
		this.#path = head.target.split("?")[0];
		this.#bodyLength = Number(head.headers.get("content-length") ?? "0");
		if (!(this.#bodyLength >= 0 && this.#bodyLength <= bodyLimit))
			return this.#respond(connection, 413, "text/plain", `the form is limited to ${bodyLimit} bytes\n`);
		if (rest) {
			const take = new Uint8Array(rest, 0, Math.min(rest.byteLength, this.#bodyLength));
			this.#input.set(take);
			this.#bodyBytes = take.length;
		}
	}

	#answer(connection: TcpConnection): void {
		let body = "";
		try {
			body = String.fromArrayBuffer(this.#input.slice(0, this.#bodyLength).buffer as ArrayBuffer);
		}
		catch {
			return this.#respond(connection, 400, "text/plain", "the form is not UTF-8\n");
		}
		const answer = this.#portal.answer(this.#method, this.#path, body);
		log.info(`${this.#method} ${this.#path} from ${connection.peer}: ${answer.status}`);
		this.#then = answer.then;
		this.#respond(connection, answer.status, answer.type, answer.body);
	}

	#respond(connection: TcpConnection, status: number, type: string, body: string): void {
		this.#out = new Uint8Array(ArrayBuffer.fromString(closingResponse(status, type, body, [["Cache-Control", "no-store"]])));
		this.onWritable(connection);
	}
}
