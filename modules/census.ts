/*
 * A debugger's census of the servers: each server of the libraries enrolls
 * itself when it is made, so that a program a debugger evaluates on the
 * machine (xsbug's eval; host-harness/bench/census.ts) reaches every one
 * and reads what it holds through its public getters (the WebSocket
 * server's sockets and handshakes, its routes' connections and laggards,
 * the TCP server's served and waiting connections).
 *
 * The list is the debugger's: it exists only when a debugger made it,
 * before the app built anything (globalThis.xsNetkitCensus = [] at the
 * machine's first line of JavaScript). Without it enroll() keeps nothing:
 * no slot on a board, and nothing any network can ask for.
 */

interface CensusState {
	xsNetkitCensus?: object[];
}

/** Enroll a server in the debugger's census, when a debugger asked for one. */
export function enroll(server: object): void {
	(globalThis as CensusState).xsNetkitCensus?.push(server);
}
