/*
 * The lwip tier's platform header for Moddable's lwIP sockets
 * ($MODDABLE/modules/io/socket/lwip/tcp.c, udp.c). Those files include
 * "modLwipSafe.h"; this folder comes first on the include path, so they get
 * this header, which
 * - includes the SDK's own modLwipSafe.h with its ESP32 branch selected: the
 *   sockets call the same *_safe functions as on a board (implemented by the
 *   SDK's modLwipSafe.c, compiled the same way by lwip-safe.c);
 * - declares what ESP32's platform headers give those files and the Linux
 *   simulator's do not: posting to the XS machine, a critical section, and
 *   the network check every socket constructor makes.
 */
#ifndef XSNK_MODLWIPSAFE_H
#define XSNK_MODLWIPSAFE_H

#include "xsmc.h"
#include "xsHost.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

#pragma push_macro("ESP32")
#undef ESP32
#define ESP32 1
#include_next "modLwipSafe.h"
#pragma pop_macro("ESP32")

#include "xsnk-host.h"

/* As builtinCommon.h on ESP32 (portENTER_CRITICAL). */
#undef builtinCriticalSectionBegin
#undef builtinCriticalSectionEnd
#define builtinCriticalSectionBegin() xsnkCriticalSectionBegin()
#define builtinCriticalSectionEnd() xsnkCriticalSectionEnd()

/* As builtinCommon.h on ESP32 ("no network" until the interface is up): here the first socket starts lwIP. */
#undef CHECK_NETWORK_SAFE
#define CHECK_NETWORK_SAFE() \
	if (!xsnkLwipStart()) { \
		xsUnknownError("no network"); \
	}

#endif
