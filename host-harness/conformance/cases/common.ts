/* Shorthands the case files share. */
import type { Case, Expect, Message, Step, SuiteOptions } from "../case.js";
import { frameCase } from "../execute.js";
import { type Bytes, type FrameOptions, frame, Op } from "../frames.js";

/** A list of frame cases and the function adding one. */
export function collect(): { cases: Case[]; add(id: string, description: string, steps: Step[], expect: Expect | Expect[]): void } {
	const cases: Case[] = [];
	return { cases, add: (id, description, steps, expect) => cases.push(frameCase({ id, description, steps, expect })) };
}

/** 7.4.1 codes the server must fail with. */
export const PROTOCOL_ERROR = 1002;
export const INVALID_PAYLOAD = 1007;
export const MESSAGE_TOO_BIG = 1009;

/** The server fails the connection with this code (7.1.7), after sending these echoes. */
export const fails = (code: number, ...messages: Message[]): Expect => ({ close: code, messages });

/** The message is over the server's whole-message limit (10.4: judged from the declared length). */
export const over = (options: SuiteOptions, size: number): boolean => options.maxMessage !== undefined && size > options.maxMessage;

/** An echo of this message, or 1009 when it is over the server's limit. */
export const echoes = (options: SuiteOptions, type: number, data: Buffer): Expect =>
	over(options, data.length) ? fails(MESSAGE_TOO_BIG) : { messages: [{ type, data }] };

export const textFrame = (payload?: Bytes, options?: FrameOptions) => frame(Op.TEXT, payload, options);
export const binaryFrame = (payload?: Bytes, options?: FrameOptions) => frame(Op.BINARY, payload, options);
export const ping = (payload?: Bytes, options?: FrameOptions) => frame(Op.PING, payload, options);
export const pong = (payload?: Bytes, options?: FrameOptions) => frame(Op.PONG, payload, options);
export const cont = (payload?: Bytes, options?: FrameOptions) => frame(Op.CONT, payload, options);

/** Human size: 65536 -> "64 KiB". */
export function size(n: number): string {
	if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n >> 20} MiB`;
	if (n >= 1024 && n % 1024 === 0) return `${n >> 10} KiB`;
	return `${n} B`;
}
