/*
 * xs-netkit device app. Everything it does is configured through
 * modules/config (mcconfig key=value arguments and manifest `config`).
 */

import { App } from "modules/app";

new App().start();
