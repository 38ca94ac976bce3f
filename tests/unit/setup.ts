// Unit tests import device modules directly: give them the XS globals they rely on.
import { installXsGlobals, setTraceSink } from "../../host-harness/node-host/xs-globals.js";

installXsGlobals();
// Device logs are noise in unit tests; a test that asserts on them sets its own sink.
setTraceSink(() => {});
