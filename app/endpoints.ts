/*
 * What the app serves, as its `services up {…}` line reports it (app/app):
 * the harness reads the line, app/exposure says what it opens to whom.
 */

/** What the app reports in its `services up` line. */
export interface ServiceEndpoints {
	address: string;
	/** The station's MAC, where the platform gives one. */
	mac?: string;
	tcp?: number;
	udp?: number;
	tcpClient?: string;
	ws?: number;
	wsPath?: string;
	/** The WebSocket server's port serves TLS (wss://, https://). */
	wsTls?: boolean;
	wsBroadcastPath?: string;
	/** The device's log, on the WebSocket server's port. */
	wsLogPath?: string;
	wsClient?: string;
	sntp?: string;
	mdns?: string;
	/** The device's own page, on the WebSocket server's port. */
	page?: string;
}
