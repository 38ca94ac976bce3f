/* The whole suite, in id order. */
import type { Case, SuiteOptions } from "../case.js";
import { framingCases } from "./1-framing.js";
import { pingPongCases } from "./2-ping-pong.js";
import { reservedBitsCases } from "./3-reserved-bits.js";
import { opcodeCases } from "./4-opcodes.js";
import { fragmentationCases } from "./5-fragmentation.js";
import { utf8Cases } from "./6-utf8.js";
import { closeCases } from "./7-close.js";
import { limitCases } from "./9-limits.js";
import { autoFragmentationCases } from "./10-auto-fragmentation.js";
import { handshakeCases } from "./12-handshake.js";

/** "6.10.2" after "6.9.4": ids compare number by number. */
function byId(a: Case, b: Case): number {
	const x = a.id.split(".").map(Number),
		y = b.id.split(".").map(Number);
	for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? -1) !== (y[i] ?? -1)) return (x[i] ?? -1) - (y[i] ?? -1);
	return 0;
}

export function allCases(options: SuiteOptions): Case[] {
	return [
		...framingCases(options),
		...pingPongCases(),
		...reservedBitsCases(),
		...opcodeCases(),
		...fragmentationCases(),
		...utf8Cases(),
		...closeCases(options),
		...limitCases(options),
		...autoFragmentationCases(options),
		...handshakeCases(),
	].sort(byId);
}
