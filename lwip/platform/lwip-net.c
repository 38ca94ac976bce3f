/*
 * The `net` module's get() on the lwip tier: the station's address and MAC
 * read from lwIP's interface, as a board's Net.get() reads them from its
 * station interface (the SDK's modules/network/net/esp/modNet.c: "IP" as a
 * dotted quad, "MAC" as six upper-case hex pairs with colons, nothing until
 * the interface is up). Without it the simulator's own net module answers
 * with the kernel's addresses, which in the tier's namespace are 127.0.0.1.
 * Other properties (SSID, RSSI, …) are not given, as on the simulator.
 * Names still resolve through the kernel (the SDK's lin modResolve.c):
 * docs/platform-lwip.md lists it.
 */

#include <stdio.h>
#include <string.h>

#include "xsmc.h"

#include "lwip/netif.h"
#include "lwip/ip4_addr.h"

#include "modLwipSafe.h"

void xs_net_get(xsMachine *the)
{
	const char *prop = xsmcToString(xsArg(0));
	struct netif *netif;

	if (!xsnkLwipStart())
		return;
	netif = netif_default;		/* the XS thread holds lwIP's core lock here (lwip-platform.c) */
	if (!netif || !netif_is_up(netif))
		return;
	if (0 == strcmp(prop, "IP")) {
		char address[IP4ADDR_STRLEN_MAX];
		if (ip4_addr_isany_val(*netif_ip4_addr(netif)))
			return;
		ip4addr_ntoa_r(netif_ip4_addr(netif), address, sizeof(address));
		xsmcSetString(xsResult, address);
	}
	else if (0 == strcmp(prop, "MAC") && netif->hwaddr_len == 6) {
		char mac[18];
		snprintf(mac, sizeof(mac), "%02X:%02X:%02X:%02X:%02X:%02X",
			netif->hwaddr[0], netif->hwaddr[1], netif->hwaddr[2], netif->hwaddr[3], netif->hwaddr[4], netif->hwaddr[5]);
		xsmcSetString(xsResult, mac);
	}
}
