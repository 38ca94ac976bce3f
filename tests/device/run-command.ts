// A command run to its end without blocking the suite's process, its result
// in spawnSync's shape (status, signal, stdout and stderr as text). vitest's
// worker must keep answering vitest meanwhile: a spawnSync that outlasts
// vitest's 60 s RPC timeout (a simulator build, a bench) ends the whole run
// with "Timeout calling onTaskUpdate", which a machine running two device
// runs at once makes likely.
import { spawn } from "./child-processes.js";

export interface CommandResult {
	status: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
}

export interface CommandOptions {
	cwd?: string;
	env?: NodeJS.ProcessEnv;
	/** ms, then SIGTERM (as spawnSync's timeout). */
	timeout?: number;
	/** Output is always text; accepted so spawnSync's options carry over as they are. */
	encoding?: "utf8";
}

export function runCommand(command: string, args: string[], options: CommandOptions = {}): Promise<CommandResult> {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
		let stdout = "";
		let stderr = "";
		child.stdout.setEncoding("utf8").on("data", (text: string) => {
			stdout += text;
		});
		child.stderr.setEncoding("utf8").on("data", (text: string) => {
			stderr += text;
		});
		const timer = options.timeout ? setTimeout(() => child.kill("SIGTERM"), options.timeout) : undefined;
		child.once("error", reject);
		child.once("close", (status, signal) => {
			clearTimeout(timer);
			resolve({ status, signal, stdout, stderr });
		});
	});
}
