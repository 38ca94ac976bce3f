/*
 * The xsbug debugging protocol, debugger side (after the SDK's
 * xs/sources/xsDebug.c, the machine side).
 *
 * A debug build of an XS machine connects as a TCP client to the debugger
 * (localhost:5002; XSBUG_HOST/XSBUG_PORT on the simulator; serial2xsbug
 * bridges a board's serial port to that port, one connection per machine).
 *
 * What the machine sends: messages "\r\n<xsbug>…</xsbug>\r\n", each holding
 *   <login name="main" value="XS 17.7.0 64-bit LE 16-bit ID" flags="e"/>
 *       first; then the machine waits for a command (handshake)
 *   <log [path line]>text</log>     trace() output, one element per argument,
 *       no line ending added: lines are the concatenation up to "\n";
 *       "# Exception: …!\n" (an exception while break-on-exceptions is off),
 *       "# Error: …", "# Warning: …" reports carry path and line
 *   <frames><frame name value path line/>…</frames><local …/><global …/>
 *   <grammar …/><break path line># Break: debugger!\n</break>   a break; the
 *       message after "# Break: " is "debugger", "breakpoint", "step",
 *       "C: xsDebugger", "C: xsThrow", or the exception thrown ("RangeError:
 *       boom") when breaking on exceptions; the machine then waits for go,
 *       step, step-inside, step-outside, abort or logout
 *   <instruments><instrument name="Chunk used" value=" / "/>…</instruments>
 *   <samples>1,2,3,…</samples>  one value per instrument, in their order
 *   <bubble name value path line>…</bubble>   trace.left/center/right
 *   <result line>…</result>   the value of a program evaluated at a break
 *       (<eval>): one <property name value/>, or "# " and the exception
 *   <eval>, <import>, <pr>/<ps>/<pt> (profiler) we only parse.
 * Text is escaped with numeric references (&#10; &#60; &#38; &#34; …).
 *
 * What the machine accepts: "\r\n<command …/>\r\n" — it acts only after the
 * trailing CR LF. Attributes it reads: path (raw up to the closing quote, no
 * entity decoding), line (decimal), id (hex, optionally "@"-prefixed).
 */

import { StringDecoder } from "node:string_decoder";

export interface XsbugElement {
	name: string;
	attributes: Record<string, string>;
	children: XsbugElement[];
	/** The decoded character data directly inside this element (CDATA included). */
	text: string;
}

const named: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** Decode XML character references: &#10; &#x3C; &lt; &gt; &amp; &quot; &apos;. Unknown ones stay as they are. */
export function decodeEntities(text: string): string {
	if (!text.includes("&")) return text;
	return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, body: string) => {
		if (body[0] === "#") {
			const code = body[1] === "x" || body[1] === "X" ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
			return code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
		}
		return named[body] ?? whole;
	});
}

const nameStart = /[A-Za-z_:]/;
const attributePattern = /([A-Za-z_:][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/**
 * An incremental parser of the machine's stream. feed() takes bytes in any
 * chunking (a UTF-8 sequence, an entity or a tag may be cut anywhere) and
 * returns the top-level elements (the <xsbug> messages) completed so far.
 * Text between messages and processing instructions (<?xs…?>) are skipped.
 * A new <xsbug> arriving while a message is still open (a machine that
 * restarted mid-message) discards the unfinished one.
 */
export class XsbugParser {
	#decoder = new StringDecoder("utf8");
	#buffer = "";
	#stack: XsbugElement[] = [];
	/** Bytes to keep at most while waiting for the end of one token. */
	readonly maxPending: number;

	constructor(options: { maxPending?: number } = {}) {
		this.maxPending = options.maxPending ?? 8 * 1024 * 1024;
	}

	/** True while a message has begun but not ended. */
	get inMessage(): boolean {
		return this.#stack.length > 0;
	}

	feed(chunk: Buffer | Uint8Array | string): XsbugElement[] {
		this.#buffer += typeof chunk === "string" ? chunk : this.#decoder.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
		const done: XsbugElement[] = [];
		const s = this.#buffer;
		let pos = 0;
		for (;;) {
			if (pos >= s.length) break;
			if (s[pos] !== "<") {
				const lt = s.indexOf("<", pos);
				const end = lt < 0 ? s.length : lt;
				let take = end;
				if (lt < 0) {
					// Keep a possibly cut entity ("&#6") for the next chunk.
					const amp = s.lastIndexOf("&", end - 1);
					if (amp >= pos && !s.slice(amp, end).includes(";") && end - amp < 16) take = amp;
				}
				this.#text(s.slice(pos, take));
				pos = take;
				if (lt < 0) break;
				continue;
			}
			// A markup token: wait until it is complete.
			if (s.startsWith("<![CDATA[", pos)) {
				const close = s.indexOf("]]>", pos + 9);
				if (close < 0) break;
				this.#cdata(s.slice(pos + 9, close));
				pos = close + 3;
				continue;
			}
			if (s.startsWith("<!--", pos)) {
				const close = s.indexOf("-->", pos + 4);
				if (close < 0) break;
				pos = close + 3;
				continue;
			}
			if (s.startsWith("<?", pos)) {
				const close = s.indexOf("?>", pos + 2);
				if (close < 0) break;
				pos = close + 2;
				continue;
			}
			if (pos + 1 >= s.length) break;
			const closing = s[pos + 1] === "/";
			if (!nameStart.test(s[pos + (closing ? 2 : 1)] ?? "a")) {
				// Not markup after all ("< " or "<3"): keep it as text.
				this.#text("<");
				pos += 1;
				continue;
			}
			const close = findTagEnd(s, pos + 1);
			if (close === -1) break;
			if (close < -1) {
				// Another "<" before this tag ended: the first was text.
				this.#text("<");
				pos += 1;
				continue;
			}
			const body = s.slice(pos + 1, close);
			pos = close + 1;
			if (closing) this.#close(body.slice(1).trim(), done);
			else this.#open(body, done);
		}
		this.#buffer = s.slice(pos);
		if (this.#buffer.length > this.maxPending) {
			// A token that never ends: drop it and whatever message it was in.
			this.#buffer = "";
			this.#stack = [];
		}
		return done;
	}

	#text(raw: string): void {
		const top = this.#stack.at(-1);
		if (top && raw) top.text += decodeEntities(raw);
	}

	#cdata(raw: string): void {
		const top = this.#stack.at(-1);
		if (top) top.text += raw;
	}

	#open(body: string, done: XsbugElement[]): void {
		const selfClosing = body.endsWith("/");
		const inner = selfClosing ? body.slice(0, -1) : body;
		const match = /^[A-Za-z_:][\w.:-]*/.exec(inner);
		const name = match ? match[0] : inner;
		const attributes: Record<string, string> = {};
		for (const m of inner.slice(name.length).matchAll(attributePattern)) attributes[m[1]] = decodeEntities(m[2] ?? m[3] ?? "");
		const element: XsbugElement = { name, attributes, children: [], text: "" };
		if (name === "xsbug" && this.#stack.length) this.#stack = [];
		const parent = this.#stack.at(-1);
		if (parent) parent.children.push(element);
		if (!selfClosing) this.#stack.push(element);
		else if (!parent) done.push(element);
	}

	#close(name: string, done: XsbugElement[]): void {
		// Close up to the matching element; a stray end tag is ignored.
		const index = this.#stack.map(e => e.name).lastIndexOf(name);
		if (index < 0) return;
		const element = this.#stack[index];
		this.#stack.length = index;
		if (index === 0) done.push(element);
	}
}

/** Index of the ">" ending the tag that starts before `from`, outside quoted values; -1 if not there yet, < -1 if a "<" comes first. */
function findTagEnd(s: string, from: number): number {
	let quote = "";
	for (let i = from; i < s.length; i++) {
		const c = s[i];
		if (quote) {
			if (c === quote) quote = "";
		} else if (c === '"' || c === "'") quote = c;
		else if (c === ">") return i;
		else if (c === "<") return -2;
	}
	return -1;
}

/* Commands: what the debugger sends. The machine reads the path attribute raw up to the next quote. */

function attribute(name: string, value: string | number): string {
	const text = String(value);
	if (/["\r\n]/.test(text)) throw new Error(`xsbug ${name} cannot contain quotes or line breaks: ${JSON.stringify(text)}`);
	return ` ${name}="${text}"`;
}

export function command(name: string, attributes: Record<string, string | number> = {}): string {
	return `\r\n<${name}${Object.entries(attributes)
		.map(([k, v]) => attribute(k, v))
		.join("")}/>\r\n`;
}

export interface Breakpoint {
	path: string;
	line: number;
}

export const commands = {
	/** Resume a machine stopped at login or at a break. */
	go: () => command("go"),
	step: () => command("step"),
	stepInside: () => command("step-inside"),
	stepOutside: () => command("step-outside"),
	/** Ends the machine (fxAbort with XS_DEBUGGER_EXIT). */
	abort: () => command("abort"),
	/** The machine disconnects from the debugger and runs on (serial2xsbug exits when it sees this). */
	logout: () => command("logout"),
	clearAllBreakpoints: () => command("clear-all-breakpoints"),
	setBreakpoint: (b: Breakpoint) => command("set-breakpoint", { path: b.path, line: b.line }),
	clearBreakpoint: (b: Breakpoint) => command("clear-breakpoint", { path: b.path, line: b.line }),
	/** The special paths "exceptions" and "start" (line 0) switch break-on-exceptions and break-on-start. */
	setAllBreakpoints(options: { exceptions?: boolean; start?: boolean; breakpoints?: Breakpoint[] } = {}): string {
		let body = "";
		if (options.start) body += `<breakpoint${attribute("path", "start")} line="0"/>`;
		if (options.exceptions) body += `<breakpoint${attribute("path", "exceptions")} line="0"/>`;
		for (const b of options.breakpoints ?? []) body += `<breakpoint${attribute("path", b.path)}${attribute("line", b.line)}/>`;
		return `\r\n<set-all-breakpoints>${body}</set-all-breakpoints>\r\n`;
	},
	select: (id: string) => command("select", { id }),
	/**
	 * Run a compiled program (xsc -e -eval -p: an XS_B atom, sent as hex in
	 * the path attribute) in the frame `frameId` ("@…" from the break's
	 * <frames>) of a machine stopped at a break; it answers <result>.
	 */
	evaluate: (frameId: string, code: Uint8Array, line = 0) => command("eval", { id: frameId, path: Buffer.from(code).toString("hex").toUpperCase(), line }),
	toggle: (id: string) => command("toggle", { id }),
	startProfiling: () => command("start-profiling"),
	stopProfiling: () => command("stop-profiling"),
};

/* Reading messages. */

export interface StackFrame {
	name: string;
	/** The frame's address ("@…"), which <eval> and <select> name it by. */
	id?: string;
	path?: string;
	line?: number;
}

export type BreakKind = "debugger" | "breakpoint" | "step" | "exception";

export interface BreakInfo {
	kind: BreakKind;
	/** What follows "# Break: ", without the final "!": "debugger", "RangeError: boom". */
	message: string;
	path?: string;
	line?: number;
	stack: StackFrame[];
}

function lineOf(attributes: Record<string, string>): number | undefined {
	const n = Number(attributes.line);
	return attributes.line !== undefined && Number.isFinite(n) ? n : undefined;
}

export function frameOf(element: XsbugElement): StackFrame {
	const frame: StackFrame = { name: element.attributes.name ?? "" };
	if (element.attributes.value) frame.id = element.attributes.value;
	if (element.attributes.path) frame.path = element.attributes.path;
	const line = lineOf(element.attributes);
	if (line !== undefined) frame.line = line;
	return frame;
}

const nonExceptionBreaks = new Set(["debugger", "breakpoint", "step", "C: xsDebugger"]);

/** The break in a message (its <frames> sibling gives the stack), or undefined. */
export function breakOf(message: XsbugElement): BreakInfo | undefined {
	const element = message.children.find(c => c.name === "break");
	if (!element) return undefined;
	const text = element.text.replace(/\r?\n$/, "");
	const reason = (text.startsWith("# Break: ") ? text.slice(9) : text).replace(/!$/, "");
	const kind: BreakKind = reason === "breakpoint" ? "breakpoint" : reason === "step" ? "step" : nonExceptionBreaks.has(reason) ? "debugger" : "exception";
	const frames = message.children.find(c => c.name === "frames");
	const info: BreakInfo = { kind, message: reason, stack: (frames?.children ?? []).filter(c => c.name === "frame").map(frameOf) };
	if (element.attributes.path) info.path = element.attributes.path;
	const line = lineOf(element.attributes);
	if (line !== undefined) info.line = line;
	return info;
}

/** What an <eval> gave: its value as the machine shows it (a string without its quotes), or the exception it threw. */
export type EvalResult = { ok: true; value: string } | { ok: false; exception: string };

/** The <result> in a message, or undefined. */
export function resultOf(message: XsbugElement): EvalResult | undefined {
	const element = message.children.find(c => c.name === "result");
	if (!element) return undefined;
	const text = element.text.trim();
	if (text.startsWith("# ")) return { ok: false, exception: text.slice(2).replace(/!$/, "") };
	const property = element.children.find(c => c.name === "property" || c.name === "node");
	const value = property?.attributes.value ?? "";
	return { ok: true, value: value.length >= 2 && value.startsWith("'") && value.endsWith("'") ? value.slice(1, -1) : value };
}

export interface InstrumentDescription {
	name: string;
	/** As the machine gives it: " bytes", " / " (the next instrument is the total). */
	unit: string;
}

export function instrumentsOf(element: XsbugElement): InstrumentDescription[] {
	return element.children.filter(c => c.name === "instrument").map(c => ({ name: c.attributes.name ?? "", unit: c.attributes.value ?? "" }));
}

export function samplesOf(element: XsbugElement): number[] {
	return element.text.trim() ? element.text.split(",").map(v => Number(v.trim())) : [];
}

/** "Chunk used: 4960 / 32768 bytes, Slot used: …" — " / " units pair an instrument with the next. */
export function formatSamples(instruments: InstrumentDescription[], values: number[]): string {
	const parts: string[] = [];
	for (let i = 0; i < instruments.length; i++) {
		const instrument = instruments[i];
		let part = `${instrument.name}: ${values[i] ?? "?"}${instrument.unit}`;
		if (instrument.unit === " / " && i + 1 < instruments.length) {
			i++;
			part += `${values[i] ?? "?"}${instruments[i].unit}`;
		}
		parts.push(part);
	}
	return parts.join(", ");
}
