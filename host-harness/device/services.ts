/*
 * The services an app names in its `services up {json}` line, with their
 * kinds (docs/own-app.md, "The services up line"):
 *
 *   {"address":"10.0.0.7","upper":{"tcp":7070},"sizes":{"udp":7072},"shout":{"ws":7071,"path":"/shout"}}
 *
 * - "address": the device's address, not a service;
 * - a key whose value is an object with one port under "tcp", "udp" or
 *   "ws" is a service of that kind (ws: "path", optional, where its
 *   WebSocket route is);
 * - a key named "tcp", "udp" or "ws" with a port is a service of that
 *   kind: the kit's own app's line ({"tcp":8080,"udp":9000,"ws":8081,
 *   "wsPath":"/ws",…}, whose "wsPath" is the ws service's path);
 * - any other key with a port is a TCP service (the form before kinds);
 * - anything else (a string, a list) says something about the device and
 *   names no service.
 */

export type ServiceKind = "tcp" | "udp" | "ws";

export const serviceKinds: readonly ServiceKind[] = ["tcp", "udp", "ws"];

export interface AppService {
	name: string;
	kind: ServiceKind;
	port: number;
	/** ws: the path of its WebSocket route, when the line says. */
	path?: string;
	/** Whether the line stated the kind (else a bare port: TCP). */
	stated: boolean;
}

const isPort = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value) && value > 0 && value < 65536;

/** The services of a `services up` line, in its order; throws naming a service whose object states no kind, or more than one. */
export function appServices(line: Record<string, unknown>): AppService[] {
	const services: AppService[] = [];
	for (const [name, value] of Object.entries(line)) {
		if (name === "address") continue;
		if (isPort(value)) {
			const kind = serviceKinds.find(k => k === name);
			services.push({
				name,
				kind: kind ?? "tcp",
				port: value,
				stated: kind !== undefined,
				...(kind === "ws" && typeof line.wsPath === "string" ? { path: line.wsPath } : {}),
			});
			continue;
		}
		if (!value || typeof value !== "object" || Array.isArray(value)) continue;
		const entry = value as Record<string, unknown>;
		const kinds = serviceKinds.filter(k => k in entry);
		if (kinds.length !== 1 || !isPort(entry[kinds[0]]))
			throw new Error(
				`services up: "${name}" states ${kinds.length ? `${kinds.join(" and ")}, not one kind with a port` : "no kind"}: give it as {"tcp":port}, {"udp":port} or {"ws":port,"path":"/…"}`,
			);
		const kind = kinds[0];
		services.push({ name, kind, port: entry[kind] as number, stated: true, ...(kind === "ws" && typeof entry.path === "string" ? { path: entry.path } : {}) });
	}
	return services;
}
