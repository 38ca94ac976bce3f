/*
 * What ESP32's xs/platforms/esp/xsHost.h and builtinCommon.h give the SDK's
 * lwIP code (the sockets, the resolver) and the Linux simulator's headers
 * do not, implemented by lwip-platform.c: posting to the XS machine, a
 * critical section, and starting lwIP (a board's station is up before its
 * first socket; here the first socket brings lwIP up).
 */
#ifndef XSNK_HOST_H
#define XSNK_HOST_H

#include <stdint.h>
#include "xs.h"

/* As xs/platforms/esp/xsHost.h: run callback(the, refcon, message) on the machine's thread. */
typedef void (*modMessageDeliver)(void *the, void *refcon, uint8_t *message, uint16_t messageLength);
int modMessagePostToMachine(xsMachine *the, uint8_t *message, uint16_t messageLength, modMessageDeliver callback, void *refcon);

/* As portENTER_CRITICAL on ESP32: here one process-wide mutex. */
void xsnkCriticalSectionBegin(void);
void xsnkCriticalSectionEnd(void);

/* lwIP up (1), or it cannot be (0: no TAP device). */
int xsnkLwipStart(void);

#endif
