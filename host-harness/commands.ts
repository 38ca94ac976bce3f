// Every host-harness command beyond device and start: importing this file registers them.
export {};
import "./check/command.js";
import "./serve/command.js";
import "./wifi/command.js";
