/*
 * What npm start says: every line tagged [harness] or [device] on stdout
 * (none with --quiet, but for reports), and each line, counter and status
 * published to the dashboard when there is one.
 */

import type { DashboardEvent, DashboardServer } from "../dashboard/server.js";

const tty = process.stdout.isTTY;
export const paint = (code: number, text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);

export class Narrator {
	readonly quiet: boolean;
	/** The live dashboard, when asked for: every line and counter goes there too. */
	dashboard: DashboardServer | undefined;

	constructor(quiet: boolean) {
		this.quiet = quiet;
	}

	publish(event: DashboardEvent): void {
		this.dashboard?.publish(event);
	}

	harness(text: string): void {
		this.publish({ type: "log", time: Date.now(), source: "harness", text });
		if (!this.quiet) console.log(`${paint(36, "[harness]")} ${text}`);
	}

	device(text: string): void {
		this.publish({ type: "log", time: Date.now(), source: "device", text });
		if (!this.quiet) console.log(`${paint(33, "[device] ")} ${text}`);
	}

	/** Said even with --quiet. */
	report(text: string): void {
		console.log(`${paint(36, "[harness]")} ${text}`);
	}
}
