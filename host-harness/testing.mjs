// The helpers for an app's own suite (host-harness/testing.ts says what
// they do), from the compiled harness, compiled first when stale: an app's
// suite imports this file of the kit and runs with plain `node --test`.
import { pathToFileURL } from "node:url";
import { compiled } from "./build-if-stale.mjs";

export const { appTargets, bootApp, closed, nextMessage } = await import(pathToFileURL(compiled("testing")).href);
