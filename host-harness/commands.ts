// Every host-harness command beyond device and start: importing this file registers them.
export {};
import "./start/dashboard.js";
import "./bench/command.js";
import "./conformance/command.js";
import "./wifi/command.js";
import "./check/command.js";
import "./serve/command.js";
import "./logs/command.js";
import "./fuzz/command.js";
import "./soak/command.js";
import "./ws/command.js";
import "./discover/command.js";
import "./flash/command.js";
import "./new/command.js";
