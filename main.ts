/*
 * xs-netkit device app. Everything it does is configured through
 * app/config (mcconfig key=value arguments and manifest `config`).
 */

import { App } from "app/app";
import Preference from "preference";

// Every module of the kit is preloaded; main is not, so the preferences
// (saved WiFi credentials) are loaded here, at boot (see wifi/credentials).
new App(Preference).start();
