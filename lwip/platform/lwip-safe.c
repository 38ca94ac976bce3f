/*
 * The *_safe calls of a board: the SDK's modLwipSafe.c compiled with its
 * ESP32 branch (each call a message to lwIP's tcpip thread through
 * tcpip_api_call / tcpip_callback), unchanged.
 */
#include "xsPlatform.h"

#pragma push_macro("ESP32")
#undef ESP32
#define ESP32 1
#include "modLwipSafe.c"
#pragma pop_macro("ESP32")
