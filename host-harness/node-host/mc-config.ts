/*
 * `mc/config` for the Node-hosted device: the configuration the launcher
 * computed as mcconfig would (manifest `config` blocks for the host platform,
 * overridden by key=value strings), passed in XSNK_DEVICE_CONFIG as JSON.
 */

const config: Record<string, unknown> = JSON.parse(process.env.XSNK_DEVICE_CONFIG ?? "{}");

export default config;
