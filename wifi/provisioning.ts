/*
 * Provisioning, the smart-config case of the classic TCP-server example:
 * with no credentials known (or the known ones rejected), the device opens
 * its own access point and serves a small page where a phone or laptop
 * enters the network's name and password. They are saved (wifi/credentials)
 * and handed to the station.
 *
 *   GET  /         the form
 *   POST /join     ssid=…&password=…&code=… (form-encoded) → saved, then joined
 *   GET  /status?code=…   {"state":"provisioning","ap":"xs-netkit","why":…}
 *   POST /forget   code=… → erases saved credentials
 *
 * What protects it (docs/security.md, Provisioning):
 * - The access point is WPA2 with a passphrase the device made once and
 *   keeps (wifi/provisioning-secrets), unless one is configured or the open
 *   access point is asked for explicitly (provisionPassword=open, warned at
 *   every boot): a stranger in range can neither join it nor read what
 *   crosses it.
 * - Everything but the form itself takes the code, the proof of possession
 *   (wifi/provisioning-guard): compared in constant time, at most 5 wrong
 *   codes a minute across all clients (then 429 with Retry-After), nothing
 *   saved or erased on a wrong one.
 * - Both are printed on the device's console only (Log.console): never on
 *   the log route, in an mDNS record, on the page or in an answer.
 *
 * One provisioning at a time: once a /join is accepted, the device tries
 * that network and the page answers 503 to /join and /forget until the
 * attempt fails (the portal listens to the station: joinFailed(), /status
 * then says why, and a corrected /join is taken) or succeeds (the portal
 * closes). At most 3 connections are served at once; one beyond is closed
 * unanswered.
 *
 * One request per connection, head and body bounded (2 KB, 512 bytes),
 * the body by Content-Length only, responses written within the socket's
 * write budget; an answer given before the whole request was read is
 * followed by a linger (HttpExchange below).
 */

import type TCP from "embedded:io/socket/tcp";
import { closingResponse, type HeaderList, RequestHeadParser } from "modules/http";
import { type AcceptTarget, TcpListener } from "modules/listener";
import { Log } from "modules/log";
import { CloseCause } from "tcp/close-cause";
import { type TcpConnection, type TcpConnectionOwner, TcpEndpoint, type TcpHandler } from "tcp/connection";
import Timer from "timer";
import WiFi from "wifi";
import { type CredentialStore, type Credentials, credentialsProblem, type PreferenceStore } from "wifi/credentials";
import { formField } from "wifi/form";
import { CodeGuard, codeRight, codeWrong } from "wifi/provisioning-guard";
import { type ProvisioningSecrets, provisioningSecrets } from "wifi/provisioning-secrets";
import type { StationListener, StationState } from "wifi/station";

const log = new Log("provisioning");

/** Limits of one request: its head, its body (the form). */
const headLimit = 2048;
const bodyLimit = 512;
/** A request not answered within this long is dropped (ms). */
const requestTimeout = 10_000;
/** Connections served at once; one beyond is closed unanswered (each holds up to headLimit + bodyLimit bytes). */
const maxExchanges = 3;
/** Seconds a client is asked to wait (Retry-After) while the device tries the network entered. */
const joiningRetryAfter = 10;
/** After an answer given before the whole request was read, input is discarded until the peer is quiet this long (ms)… */
const lingerQuiet = 100;
/** …or this long at most (ms). */
const lingerTime = 1000;

export interface PortalOptions {
	/** The access point's name. */
	ssid: string;
	/** Its passphrase: "" made by the device and kept, "open" for an open access point, else 8-63 characters. */
	password: string;
	/** The code the page asks for: "" made by the device and kept, else the code. */
	code: string;
	port: number;
	/** Where the credentials entered on the page are saved (and forgotten). */
	credentials: CredentialStore;
	/** Where a passphrase and code the device made are kept (the device's preferences). */
	preferences: PreferenceStore;
}

/** What the page answers to one request. */
export interface PortalAnswer {
	status: number;
	type: string;
	body: string;
	headers?: HeaderList;
	/** Run once the answer is sent. */
	afterward?: () => void;
}

const page = `<!doctype html><html><head><meta name="viewport" content="width=device-width"><title>xs-netkit WiFi</title></head>
<body style="font-family:sans-serif;max-width:22em;margin:2em auto">
<h1>Join a network</h1>
<form method="post" action="/join">
<p><label>Network name<br><input name="ssid" maxlength="32" required autofocus></label></p>
<p><label>Password<br><input name="password" type="password" maxlength="63"></label></p>
<p><label>Code (printed on the device's console)<br><input name="code" maxlength="32" required autocomplete="off" autocapitalize="none" autocorrect="off" spellcheck="false"></label></p>
<p><button>Join</button></p>
</form></body></html>
`;

const text = "text/plain";

export class ProvisioningPortal implements StationListener {
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
	private listener: TcpListener | undefined;
	private lastProblem = "";
	private readonly hooks = new ProvisioningPortal.Hooks(this);
	/** What the portal holds only while it runs. */
	private run: PortalRun | undefined;

	constructor(options: PortalOptions) {
		this.options = options;
	}

	get running(): boolean {
		return this.listener !== undefined;
	}

	get port(): number {
		return this.listener?.port ?? this.options.port;
	}

	/**
	 * Read the passphrase and the code (made and kept at the first boot) and
	 * print them on the console, for the person who will provision the
	 * device; warn when the access point is to be open. The app calls this
	 * at every boot, once the WiFi radio is on (esp32's hardware generator,
	 * which seeds the SDK's rng, is random only while it is: ESP-IDF,
	 * "Random Number Generation"); start() does it too. Nothing is kept in
	 * the portal: the idle app holds no secret and no slot for one.
	 */
	prepare(): ProvisioningSecrets {
		const secrets = provisioningSecrets(this.options.preferences, { passphrase: this.options.password, code: this.options.code });
		const { ssid } = this.options;
		if (secrets.passphraseFrom === "open")
			log.warn(
				`provisionPassword=open: the access point "${ssid}" has no password: anyone in range can join it, read the network password entered on its page, and try the code`,
			);
		const whence =
			secrets.passphraseFrom === "made" || secrets.codeFrom === "made"
				? "made at this boot, kept"
				: secrets.passphraseFrom === "kept" || secrets.codeFrom === "kept"
					? "kept since the first boot"
					: "configured";
		const join = secrets.passphrase ? `join the access point "${ssid}" with the passphrase "${secrets.passphrase}"` : `join the open access point "${ssid}"`;
		log.console(`to provision, ${join} and enter the code "${secrets.code}" on its page (${whence}; printed on this console only)`);
		return secrets;
	}

	/** Open the access point and the page; `why` says what brought the device here. */
	start(why: string): void {
		if (this.listener) return;
		this.lastProblem = why;
		const { ssid } = this.options;
		// Station and access point together: the station keeps trying the known network meanwhile.
		WiFi.mode = (WiFi.Mode.station | WiFi.Mode.accessPoint) as typeof WiFi.mode;
		const { passphrase, code } = this.prepare(); // with the radio on; printed again for a console opened since boot
		WiFi.accessPoint(passphrase ? { ssid, password: passphrase } : { ssid });
		this.run = new PortalRun(code);
		this.listener = new TcpListener({ port: this.options.port, target: this.hooks, log });
		log.info(`provisioning portal up {"ap":${JSON.stringify(ssid)},"security":"${passphrase ? "wpa2" : "open"}","port":${this.port}} (${why})`);
	}

	stop(): void {
		this.listener?.close();
		this.listener = undefined;
		this.run = undefined;
		WiFi.mode = WiFi.Mode.station;
		log.info("provisioning portal closed");
	}

	/** StationListener: a join that fails while the portal waits for one ends the wait (joinFailed). */
	onStateChange(state: StationState, cause: string): void {
		if (state === "disconnected") this.joinFailed(cause);
	}

	/** The network entered on the page could not be joined: the page takes credentials again, and /status says why. */
	joinFailed(cause: string): void {
		const run = this.run;
		if (run?.joining === undefined) return;
		this.lastProblem = `"${run.joining}" failed: ${cause}`;
		run.joining = undefined;
		log.info(`${this.lastProblem}; the page takes credentials again`);
	}

	/** From the listener: one request per connection, at most maxExchanges at once. */
	private accept(from: TCP): void {
		const run = this.run;
		if (!run || run.exchanges >= maxExchanges) {
			log.warn(`${maxExchanges} connections already served: one more closed`);
			from.close();
			return;
		}
		run.exchanges++;
		const connection = new TcpEndpoint({ from, owner: this.hooks });
		connection.handler = new HttpExchange(this, connection);
	}

	/** From a connection: it closed. */
	private closed(connection: TcpEndpoint, cause: CloseCause, reason: string, error?: unknown): void {
		if (this.run) this.run.exchanges--;
		if (error) log.error(`serving ${connection.peer} failed: ${(error as Error)?.message ?? error}`);
		if (cause !== CloseCause.LOCAL)
			// closed here once answered
			log.info(`connection from ${connection.peer} ended: ${reason}`);
	}

	/**
	 * The answer to one request: `query` the target's part after "?", the
	 * form body[0, length). The code is checked before anything is read,
	 * saved or erased.
	 */
	answer(method: string, path: string, query: string, body: Uint8Array, length: number): PortalAnswer {
		const read = path === "/" || path === "/index.html" || path === "/status";
		if (!read && path !== "/join" && path !== "/forget") return { status: 404, type: text, body: "not found\n" };
		if (method !== (read ? "GET" : "POST")) return { status: 405, type: text, body: "method not allowed\n", headers: [["Allow", read ? "GET" : "POST"]] };
		if (path !== "/status" && read) return { status: 200, type: "text/html; charset=utf-8", body: page };
		const given = method === "GET" ? queryField(query, "code") : formField(body, length, "code");
		const run = this.run;
		const refused = this.refusal(run, given);
		if (refused || !run) return refused!;
		if (path === "/status")
			return {
				status: 200,
				type: "application/json",
				body: JSON.stringify({ state: "provisioning", ap: this.options.ssid, why: this.lastProblem, joining: run.joining }),
			};
		if (run.joining !== undefined)
			return {
				status: 503,
				type: text,
				body: `the device is trying "${run.joining}": ask again if that fails (GET /status says)\n`,
				headers: [["Retry-After", String(joiningRetryAfter)]],
			};
		if (path === "/forget") {
			const had = this.options.credentials.forget();
			log.info(had ? "saved credentials forgotten" : "no saved credentials to forget");
			return { status: 200, type: text, body: had ? "forgotten\n" : "nothing saved\n" };
		}
		const credentials = { ssid: formField(body, length, "ssid") ?? "", password: formField(body, length, "password") ?? "" };
		const problem = credentialsProblem(credentials);
		if (problem) return { status: 400, type: text, body: `${problem}\n` };
		this.options.credentials.save(credentials);
		run.joining = credentials.ssid;
		log.info(`credentials for "${credentials.ssid}" saved; joining`);
		return { status: 200, type: text, body: `Saved. Joining "${credentials.ssid}"…\n`, afterward: () => this.onCredentials(credentials) };
	}

	/** Undefined for the right code; else the answer: 403 (wrong or missing, counted) or 429 (too many lately). */
	private refusal(run: PortalRun | undefined, given: string | undefined): PortalAnswer | undefined {
		const check = run ? run.guard.check(given ?? "") : codeWrong; // no run: the portal stopped while this request came
		if (check === codeRight) return undefined;
		if (check === codeWrong) {
			log.warn(given === undefined ? "a request without the code refused" : "a wrong code refused");
			return { status: 403, type: text, body: given === undefined ? "the code is missing (it is printed on the device's console)\n" : "wrong code\n" };
		}
		log.warn(`too many wrong codes: codes are not looked at for ${check} s`);
		return { status: 429, type: text, body: `too many wrong codes: try again in ${check} s\n`, headers: [["Retry-After", String(check)]] };
	}
}

/** What the portal holds while it runs, dropped when it stops: the idle app keeps none of it. */
class PortalRun {
	/** The code's checks and their count of wrong tries. */
	readonly guard: CodeGuard;
	/** The network entered on the page while the device tries it. */
	joining: string | undefined = undefined;
	/** Connections being served. */
	exchanges = 0;

	constructor(code: string) {
		this.guard = new CodeGuard({ code });
	}
}

/** A field of a request target's query ("code=…&…"), decoded as a form's. */
function queryField(query: string, name: string): string | undefined {
	if (!query) return undefined;
	const bytes = new Uint8Array(ArrayBuffer.fromString(query));
	return formField(bytes, bytes.length, name);
}

/**
 * One HTTP request and its response on one connection, as a handler on the
 * TCP library (tcp/connection): the head parsed as it arrives, the body
 * read into a buffer of its own, the response written within the budget.
 *
 * An answer given before the whole request was read (a refused head or
 * length), or with more bytes coming after the request, is followed by a
 * linger (RFC 7230 6.6): input is read and discarded until the peer has
 * been quiet lingerQuiet ms, lingerTime at most, then TCP closes. Closing
 * with unread bytes would reset the connection, and the reset can destroy
 * the answer in the peer's buffers before it reads it.
 */
class HttpExchange implements TcpHandler {
	private portal: ProvisioningPortal;
	private parser = new RequestHeadParser(headLimit);
	/** What was read last (the head arrives through it), then the body. */
	private input = new Uint8Array(bodyLimit);
	private method = "";
	private path = "";
	private query = "";
	private bodyBytes = 0;
	private bodyLength = -1;
	private out: Uint8Array | undefined;
	private sent = 0;
	private afterward: (() => void) | undefined;
	private timer: Timer | undefined;
	/** The request was read whole (the answer came after its last byte). */
	private whole = false;
	/** Bytes came after the request (or after an early answer) and were discarded. */
	private discarded = false;
	/** While lingering: when it ends at the latest (Date.now()), else 0. */
	private lingerEnd = 0;

	constructor(portal: ProvisioningPortal, connection: TcpConnection) {
		this.portal = portal;
		this.timer = Timer.set(() => {
			this.timer = undefined;
			connection.close(CloseCause.TIMEOUT, "request timed out");
		}, requestTimeout);
	}

	get pending(): number {
		return this.out ? this.out.length - this.sent : 0;
	}

	onReadable(connection: TcpConnection): void {
		while (connection.readable && !this.out) {
			let count: number;
			if (!this.method) {
				count = connection.read(this.input);
				if (count && this.parser.feed(this.input.subarray(0, count))) this.headDone(connection);
			} else {
				count = connection.read(this.input.subarray(this.bodyBytes, this.bodyLength));
				this.bodyBytes += count;
			}
			if (this.method && !this.out && this.bodyBytes >= this.bodyLength) this.answer(connection);
			else if (!count) return; // nothing could be read: the connection closed meanwhile
		}
		// One request per connection: anything after it (or after an early answer) is read and discarded.
		while (this.out && connection.readable && connection.read(this.input)) this.discarded = true;
		if (this.discarded && this.lingerEnd) this.linger(connection); // the peer still sends: linger on, up to the end
	}

	onWritable(connection: TcpConnection): void {
		const out = this.out;
		if (!out || this.lingerEnd) return;
		this.sent += connection.write(out.subarray(this.sent));
		if (this.sent < out.length) return;
		if (!this.whole || this.discarded) {
			this.lingerEnd = Date.now() + lingerTime;
			this.linger(connection);
			return;
		}
		this.close(connection);
	}

	/** Close once the peer has been quiet lingerQuiet ms, or at the linger's end. */
	private linger(connection: TcpConnection): void {
		Timer.clear(this.timer);
		const left = this.lingerEnd - Date.now();
		if (left <= 0) {
			this.timer = undefined;
			this.close(connection);
			return;
		}
		this.timer = Timer.set(
			() => {
				this.timer = undefined;
				this.close(connection);
			},
			Math.min(lingerQuiet, left),
		);
	}

	private close(connection: TcpConnection): void {
		const afterward = this.afterward;
		connection.close(CloseCause.LOCAL, "answered");
		afterward?.();
	}

	onClose(): void {
		Timer.clear(this.timer);
		this.timer = undefined;
	}

	private headDone(connection: TcpConnection): void {
		const { head, error, rest } = this.parser;
		if (error || !head) return this.respond(connection, error?.status ?? 400, "text/plain", `${error?.message ?? "bad request"}\n`);
		this.method = head.method;
		const question = head.target.indexOf("?");
		this.path = question < 0 ? head.target : head.target.slice(0, question);
		this.query = question < 0 ? "" : head.target.slice(question + 1);
		// The body's length: Content-Length digits only (RFC 7230 3.3.2); no transfer coding is taken (411, 3.3.3).
		if (head.headers.has("transfer-encoding")) return this.respond(connection, 411, "text/plain", "send the form with a Content-Length\n");
		const length = head.headers.get("content-length") ?? "0";
		this.bodyLength = digitsValue(length);
		if (this.bodyLength < 0) return this.respond(connection, 400, "text/plain", "malformed Content-Length\n");
		if (this.bodyLength > bodyLimit) return this.respond(connection, 413, "text/plain", `the form is limited to ${bodyLimit} bytes\n`);
		if (rest) {
			const take = new Uint8Array(rest, 0, Math.min(rest.byteLength, this.bodyLength));
			this.input.set(take);
			this.bodyBytes = take.length;
		}
	}

	private answer(connection: TcpConnection): void {
		this.whole = true;
		const answer = this.portal.answer(this.method, this.path, this.query, this.input, this.bodyLength);
		log.info(`${this.method} ${this.path} from ${connection.peer}: ${answer.status}`);
		this.afterward = answer.afterward;
		this.respond(connection, answer.status, answer.type, answer.body, answer.headers);
	}

	private respond(connection: TcpConnection, status: number, type: string, body: string, headers?: HeaderList): void {
		const all: HeaderList = headers ? [["Cache-Control", "no-store"], ...headers] : [["Cache-Control", "no-store"]];
		this.out = new Uint8Array(ArrayBuffer.fromString(closingResponse(status, type, body, all)));
		this.onWritable(connection);
	}
}

/** The value of 1 to 9 ASCII digits; -1 for anything else (empty, signs, spaces, a list). */
function digitsValue(text: string): number {
	if (text.length < 1 || text.length > 9) return -1;
	let value = 0;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (c < 0x30 || c > 0x39) return -1;
		value = value * 10 + c - 0x30;
	}
	return value;
}
