/*
 * The churn's cases: each is one service of the kit's app reached one way
 * and ended one way, as a client does it, with the end the client must see
 * (an echo, a Close code, an HTTP status, the device closing TCP). A run of
 * a case resolves with the client ports it used, which the runner
 * (churn.ts) then waits for in the device's log (Connection closed /
 * refused), so each run ends only once the device has let go of it.
 *
 * Services: the WebSocket echo route, the broadcast route, the log route,
 * the page (GET /, /routes.json; HEAD, 405, 404) on the WebSocket server's
 * port, the TCP echo server, the UDP echo server. Ends: Close 1000 from the
 * client, Close without a code, reset (RST), FIN without Close, an
 * unmasked frame (1002), a message over the route's limit (1009), refused
 * at capacity (503) and beyond the spare sockets (closed unanswered), the
 * handshake timeout, heartbeat loss (a client that never pongs), a
 * server-side Close the client never answers (closeTimeout), the TCP idle
 * timeout, the TCP backlog (waiting, gone while waiting, refused beyond).
 */

import type { ChurnCase, ChurnTarget } from "./churn-case.js";
import type { Route } from "./churn-clients.js";
import { pageCases, tcpCases } from "./churn-service-cases.js";
import {
	beyondSpareSockets,
	closeFromClient,
	closeUnanswered,
	closeWithoutCode,
	commandsThenClose,
	finWithoutClose,
	handshakeTimeout,
	heartbeatLoss,
	refusedAtCapacity,
	relayed,
	resetByClient,
	slowConsumers,
	tooBig,
	unmaskedFrame,
} from "./churn-ws-cases.js";

/** Every case of the churn: each WebSocket route with each end, the page, the TCP and UDP echo. */
export function churnCases(target: Pick<ChurnTarget, "tcpMaxClients" | "tcpBacklog" | "slowConsumers">): ChurnCase[] {
	const routes: Route[] = ["echo", "broadcast", "log"];
	const cases: ChurnCase[] = [];
	for (const route of routes) {
		cases.push(closeFromClient(route), closeWithoutCode(route), resetByClient(route), finWithoutClose(route), unmaskedFrame(route));
		if (route !== "echo") cases.push(tooBig(route, route === "broadcast" ? 2000 : 200)); // the echo streams: no limit
		cases.push(heartbeatLoss(route), closeUnanswered(route));
	}
	cases.push(relayed(), commandsThenClose(), handshakeTimeout(), refusedAtCapacity(), beyondSpareSockets());
	if (target.slowConsumers) cases.push(slowConsumers());
	cases.push(...pageCases(), ...tcpCases());
	const backlog = cases.find(c => c.end.startsWith("backlog"));
	if (backlog) backlog.connections = target.tcpMaxClients + target.tcpBacklog + 2;
	return cases;
}
