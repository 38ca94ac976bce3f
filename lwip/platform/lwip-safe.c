/*
 * The *_safe calls of a board: the SDK's modLwipSafe.c compiled with its
 * ESP32 branch (each call a message to lwIP's tcpip thread through
 * tcpip_api_call / tcpip_callback), unchanged but for one thing below.
 */
#include "xsPlatform.h"
#include "lwip/tcpip.h"

/*
 * DEVIATION (docs/platform-lwip.md): with lwIP's core lock, which the XS
 * thread holds (lwip-platform.c), tcpip_api_call runs its call at once while
 * tcpip_callback_with_block queues it for lwIP's thread, which waits for the
 * lock. So a tcp_recved_safe() (a callback: the app read bytes) reached lwIP
 * after the tcp_close_safe() (an api call) made after it, and lwIP reset the
 * connection for bytes it thought unread. On a board both are messages to
 * the tcpip task, handled in the order made. Here both run at once, in that
 * order, under the lock the caller holds.
 */
static err_t xsnkCallNow(tcpip_callback_fn function, void *context)
{
	function(context);
	return ERR_OK;
}
#undef tcpip_callback_with_block
#define tcpip_callback_with_block(function, context, block) xsnkCallNow(function, context)

#pragma push_macro("ESP32")
#undef ESP32
#define ESP32 1
#include "modLwipSafe.c"
#pragma pop_macro("ESP32")
