/*
 * Every knob of the device app, typed, with its default, in one place
 * (app/config-schema).
 *
 * Values come from Moddable's `mc/config`: the manifest `config` blocks
 * (typed JSON) overridden by `mcconfig … key=value` arguments (always
 * strings). Each key is parsed and validated here at boot; a bad value is
 * reported naming the key, and the app then starts nothing rather than
 * half-starting (see app/app).
 */

import { type Config, type ConfigProblem, controlBlockWarnings, readConfig } from "app/config-schema";
import mcConfig from "mc/config";
import { parseWebSocketUri } from "websocket/uri";

export type { Config, ConfigKey, ConfigProblem } from "app/config-schema";

const parsed = readConfig(mcConfig as Record<string, unknown>, parseWebSocketUri);

/** The device's configuration, parsed once at boot (frozen: preloaded, it lives in flash). */
export const config: Readonly<Config> = Object.freeze(parsed.config);

/** What was wrong with the configuration, if anything; the app starts nothing while this is not empty. */
export const configProblems: readonly ConfigProblem[] = Object.freeze(parsed.problems.map(problem => Object.freeze(problem)));

/** Configured counts that do not fit the build's lwIP control blocks (app/config-schema): warned at boot, never fatal. */
export const configWarnings: readonly string[] = Object.freeze(controlBlockWarnings(parsed.config, mcConfig as Record<string, unknown>));
