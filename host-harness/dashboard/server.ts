/*
 * The live dashboard's server: one local HTTP port serving the page
 * (page.ts), the latest reports under build/reports (conformance and bench
 * HTML), and a WebSocket at /live that sends each browser what has happened
 * so far (the latest counters, the last log lines, the latest heap figures)
 * and then every event as it happens. `npm start -- --dashboard` and
 * `host-harness dashboard` publish into it (start/command.ts).
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { type WebSocket, WebSocketServer } from "ws";
import { projectRoot } from "../lib/project.js";
import { dashboardPage } from "./page.js";

/** What the page shows. */
export type DashboardEvent =
	| { type: "counters"; time: number; round: number; services: Record<string, { ok: number; failed: number; bytes: number; rttMs?: number }> }
	| { type: "log"; time: number; source: "device" | "harness"; text: string }
	| { type: "heap"; time: number; text: string; values: Record<string, number> }
	| { type: "status"; time: number; text: string };

const LOG_KEPT = 300;

export const reportsDir = path.join(projectRoot, "build", "reports");

/** The reports a page links to: the newest HTML file of each kind under build/reports. */
export function latestReports(dir = reportsDir): { name: string; kind: string; modified: string }[] {
	if (!fs.existsSync(dir)) return [];
	const files = fs
		.readdirSync(dir)
		.filter(f => f.endsWith(".html"))
		.map(f => ({ name: f, stat: fs.statSync(path.join(dir, f)) }));
	const newest = new Map<string, { name: string; stat: fs.Stats }>();
	for (const f of files) {
		const kind = /conformance/i.test(f.name) ? "conformance" : /bench/i.test(f.name) ? "bench" : "other";
		const known = newest.get(kind);
		if (!known || known.stat.mtimeMs < f.stat.mtimeMs) newest.set(kind, f);
	}
	return [...newest.entries()].map(([kind, f]) => ({ name: f.name, kind, modified: f.stat.mtime.toISOString() }));
}

export class DashboardServer {
	readonly #http: http.Server;
	readonly #wss: WebSocketServer;
	readonly #log: DashboardEvent[] = [];
	#counters: DashboardEvent | undefined;
	#heap: DashboardEvent | undefined;
	#status: DashboardEvent | undefined;

	constructor(readonly title = "xs-netkit") {
		this.#http = http.createServer((request, response) => this.#serve(request, response));
		this.#wss = new WebSocketServer({ server: this.#http, path: "/live" });
		// ws re-emits the HTTP server's errors (a port in use) on itself: start() reports them, once.
		this.#wss.on("error", () => {});
		this.#wss.on("connection", socket => this.#welcome(socket));
	}

	/** Listen (port 0: any free port); resolves with the page's URL. */
	start(port = 8090, host = "127.0.0.1"): Promise<string> {
		return new Promise((resolve, reject) => {
			this.#http.once("error", e =>
				reject(
					(e as NodeJS.ErrnoException).code === "EADDRINUSE" ? new Error(`port ${port} for the dashboard is in use: choose another with --dashboard-port`) : e,
				),
			);
			this.#http.listen(port, host, () => resolve(`http://${host}:${(this.#http.address() as { port: number }).port}/`));
		});
	}

	publish(event: DashboardEvent): void {
		if (event.type === "log") {
			this.#log.push(event);
			if (this.#log.length > LOG_KEPT) this.#log.splice(0, this.#log.length - LOG_KEPT);
		} else if (event.type === "counters") this.#counters = event;
		else if (event.type === "heap") this.#heap = event;
		else this.#status = event;
		const text = JSON.stringify(event);
		for (const client of this.#wss.clients) if (client.readyState === client.OPEN) client.send(text);
	}

	close(): Promise<void> {
		for (const client of this.#wss.clients) client.close(1001, "dashboard stopping");
		this.#wss.close();
		return new Promise(resolve => {
			this.#http.close(() => resolve());
			this.#http.closeAllConnections();
		});
	}

	#welcome(socket: WebSocket): void {
		socket.on("error", () => {});
		for (const event of [this.#status, this.#counters, this.#heap, ...this.#log]) if (event) socket.send(JSON.stringify(event));
		socket.send(JSON.stringify({ type: "reports", reports: latestReports() }));
	}

	#serve(request: http.IncomingMessage, response: http.ServerResponse): void {
		const url = new URL(request.url ?? "/", "http://dashboard");
		if (url.pathname === "/") {
			response.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
			response.end(dashboardPage(this.title));
			return;
		}
		const report = /^\/reports\/([\w.-]+\.html)$/.exec(url.pathname);
		const file = report && path.join(reportsDir, report[1]);
		if (file && fs.existsSync(file)) {
			response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
			fs.createReadStream(file).pipe(response);
			return;
		}
		response.writeHead(404, { "content-type": "text/plain" });
		response.end("not found\n");
	}
}
