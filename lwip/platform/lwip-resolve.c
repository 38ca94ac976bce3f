/*
 * Net.resolve() on the lwip tier: the board's resolver, the SDK's
 * modules/network/net/esp/modResolve.c (lwIP's DNS client,
 * dns_gethostbyname, one name at a time, the answer posted to the XS
 * machine), compiled as it is with what ESP32's xsHost.h gives it and the
 * simulator's does not (xsnk-host.h, lwIP's DNS declarations). The DNS
 * server is the one the platform layer sets (XSNK_LWIP_DNS), as a board's
 * comes from DHCP.
 */
#include "xs.h"
#include "xsHost.h"
#include "lwip/dns.h"
#include "xsnk-host.h"

#define modCriticalSectionBegin() xsnkCriticalSectionBegin()
#define modCriticalSectionEnd() xsnkCriticalSectionEnd()
/* Before lwIP is up a lookup fails, as on a board with no network (a macro does not expand itself: the call inside is lwIP's). */
#define dns_gethostbyname(name, address, found, arg) (xsnkLwipStart() ? dns_gethostbyname(name, address, found, arg) : ERR_VAL)

#include "esp/modResolve.c"
