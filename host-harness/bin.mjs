#!/usr/bin/env node
// The host-harness program (package.json "bin"; `npm run -s harness -- …`
// and `node host-harness/bin.mjs …` come here without asking the registry).
// It runs the compiled CLI, compiling the project first when the build is
// missing or older than a source file.
import { pathToFileURL } from "node:url";
import { compiled } from "./build-if-stale.mjs";

const { runAsProgram } = await import(pathToFileURL(compiled("cli")).href);
runAsProgram(process.argv.slice(2));
