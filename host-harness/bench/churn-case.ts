/*
 * What a churn case is (ChurnCase) and what it is given (ChurnTarget): the
 * shape churn-cases.ts lists and churn.ts runs.
 */

import type { Endpoint } from "../device/targets.js";
import type { Census } from "./census.js";

/** What a case needs of the device. */
export interface ChurnTarget {
	host: string;
	wsPort: number;
	tcp: Endpoint;
	udp: Endpoint;
	paths: { echo: string; broadcast: string; log: string };
	/** The device's settings the ends depend on (ms; counts). */
	handshakeTimeout: number;
	heartbeat: number;
	closeTimeout: number;
	tcpIdleTimeout: number;
	wsMaxClients: number;
	tcpMaxClients: number;
	tcpBacklog: number;
	/** Whether the device's sockets take writes after the peer's FIN (lwIP refuses them: what a half-closed client sent may not come back). */
	writesAfterFin: boolean;
	/**
	 * Whether a client that stops reading fills the device's queue for it in
	 * seconds: over lwIP (8 KiB windows), not over the simulator's kernel
	 * sockets (megabytes of buffers at its ~0.1 MB/s: minutes).
	 */
	slowConsumers: boolean;
	/** Resolves once the device has logged this client port closed or refused (since the run began). */
	deviceLetGo(port: number, timeoutMs?: number): Promise<void>;
	/** Resolves once the device has logged a line matching (since the run began). */
	deviceLogged(pattern: RegExp, timeoutMs?: number): Promise<void>;
	/** What the servers hold now (the census). */
	census(): Promise<Census>;
}

export type Service = "echo route" | "broadcast route" | "log route" | "page" | "TCP echo" | "UDP echo";

export interface ChurnCase {
	service: Service;
	/** How the connections end. */
	end: string;
	/** The server whose sockets it takes; exclusive: all of them (capacity cases). */
	server: "ws" | "tcp" | "udp";
	exclusive?: boolean;
	/** Connections one run makes. */
	connections: number;
	/** Share of the churn's connections (slow cases: a small share, they hold a socket for seconds). */
	weight: number;
	run(target: ChurnTarget): Promise<number[]>;
}

/** Generous waits: the simulator under a loaded machine answers in seconds, not milliseconds. */
export const WAIT = 20_000;

export const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));
