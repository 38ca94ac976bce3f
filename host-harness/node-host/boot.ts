/*
 * Entry point of the Node-hosted device: one Node process is one device.
 * It installs the XS globals, routes Moddable module specifiers to the host
 * providers, and runs the app's `main`, whose `trace()` output goes to
 * stdout as it does on the simulator. SIGINT/SIGTERM power the device off.
 */

import { register } from "node:module";
import { abort } from "./callbacks.js";
import { startControl } from "./control.js";
import { installDeviceClock } from "./time.js";
import { installXsGlobals } from "./xs-globals.js";

installXsGlobals();
// A board's clock reads 1970 until SNTP sets it: XSNK_HOST_CLOCK (ms since 1970) starts this device's clock there (time.ts).
if (process.env.XSNK_HOST_CLOCK) installDeviceClock(Number(process.env.XSNK_HOST_CLOCK));
register("./hooks.js", import.meta.url);

if (process.env.XSNK_HOST_CONTROL_PORT) startControl(Number(process.env.XSNK_HOST_CONTROL_PORT));

process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
process.on("uncaughtException", abort);
process.on("unhandledRejection", abort);

// "main" is resolved by the hook above to the compiled device app.
const main = "main";
await import(main);
