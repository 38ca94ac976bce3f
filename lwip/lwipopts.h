/*
 * lwIP options of the lwip tier: lwIP 2.1.3 (upstream, Debian's source
 * package) configured as an esp32 build of xs-netkit configures esp-lwip.
 *
 * The numbers come from lwip/sdkconfig/sdkconfig.defaults (through the
 * sdkconfig.h that lwip/install.sh generates from it), mapped to lwIP options
 * the way ESP-IDF's components/lwip/port/include/lwipopts.h maps them. The
 * rest of this file is what a Linux process needs instead of FreeRTOS and the
 * Wi-Fi driver; each difference from a board is marked DEVIATION and listed
 * in docs/platform-lwip.md.
 */
#ifndef XSNK_LWIPOPTS_H
#define XSNK_LWIPOPTS_H

#include "sdkconfig.h"

/* Threads: lwIP runs in its own tcpip thread, as in ESP-IDF's "tiT" task. */
#define NO_SYS                          0
#define SYS_LIGHTWEIGHT_PROT            1
/* DEVIATION: lwIP's core lock, held by the simulator's XS thread except
   while it waits for events (lwip/platform/lwip-platform.c), so lwIP's thread
   and XS never run at the same time. On a board they do (ESP-IDF's default:
   no core lock, each *_safe call a message to the tcpip task), and the SDK's
   sockets read and write state that lwIP's error callback changes from its
   own task: here those races cannot strike (unserialized, they corrupted
   lwIP's control-block lists within seconds of the reset floods). The *_safe
   calls run on the XS thread under the lock instead of as messages. */
#define LWIP_TCPIP_CORE_LOCKING         1
#define LWIP_TCPIP_CORE_LOCKING_INPUT   0
void xsnkLockCore(void);
void xsnkUnlockCore(void);
#define LOCK_TCPIP_CORE()               xsnkLockCore()
#define UNLOCK_TCPIP_CORE()             xsnkUnlockCore()
#define TCPIP_MBOX_SIZE                 CONFIG_LWIP_TCPIP_RECVMBOX_SIZE
#define TCPIP_THREAD_NAME               "tiT"

/* Moddable's sockets use the raw (callback) API only. */
#define LWIP_SOCKET                     0
#define LWIP_NETCONN                    0
#define LWIP_RAW                        1
#define LWIP_TCP                        1
#define LWIP_UDP                        1
#define LWIP_IGMP                       1
#define LWIP_DNS                        1
#define LWIP_ICMP                       1
#define LWIP_ARP                        1
#define LWIP_ETHERNET                   1
#define ARP_QUEUEING                    1
#define LWIP_IPV4                       1
/* DEVIATION: IPv4 only (ESP-IDF also enables IPv6). The SDK's lwip/udp.c
   builds its generic-lwIP branch (CYW43_LWIP), which reads an IPv4-only
   ip_addr_t. */
#define LWIP_IPV6                       0
#define LWIP_DHCP                       0
#define LWIP_NETIF_TX_SINGLE_PBUF       1
#define LWIP_NETIF_LINK_CALLBACK        1
#define LWIP_NETIF_STATUS_CALLBACK      1

/* Memory: the C library's heap, as ESP-IDF (MEM_LIBC_MALLOC). */
#define MEM_LIBC_MALLOC                 1
#if defined __LP64__
#define MEM_ALIGNMENT                   8
#else
#define MEM_ALIGNMENT                   4
#endif
/* DEVIATION: ESP-IDF sets MEMP_MEM_MALLOC 1 (control blocks from the heap,
   MEMP_NUM_* not enforced for the raw API). Here they come from fixed pools,
   so the control-block counts below are hard limits, and lwIP's statistics
   count each pool's use and high-water mark. */
#define MEMP_MEM_MALLOC                 0
#define MEMP_NUM_TCP_PCB                CONFIG_LWIP_MAX_ACTIVE_TCP
#define MEMP_NUM_TCP_PCB_LISTEN         CONFIG_LWIP_MAX_LISTENING_TCP
#define MEMP_NUM_UDP_PCB                CONFIG_LWIP_MAX_UDP_PCBS
/* Pools a board takes from its heap: sized so that no connection waits for
   another's segments or pbufs (every control block with a full send queue
   and a full receive window). */
#define MEMP_NUM_TCP_SEG                (MEMP_NUM_TCP_PCB * TCP_SND_QUEUELEN)
#define MEMP_NUM_PBUF                   (2 * MEMP_NUM_TCP_PCB * TCP_SND_QUEUELEN)
#define PBUF_POOL_SIZE                  (MEMP_NUM_TCP_PCB * (TCP_WND / TCP_MSS + 2) + 16)
/* One received Ethernet frame in one pbuf, as ESP-IDF's CONFIG_LWIP_L2_TO_L3_COPY
   (Moddable's esp32 default) copies each Wi-Fi frame into one PBUF_RAM pbuf: the
   SDK's udp.c reads a datagram's first pbuf only (a 1472-byte datagram in a
   pool of MSS-sized pbufs came back as 1454 bytes). */
#define PBUF_POOL_BUFSIZE               LWIP_MEM_ALIGN_SIZE(1536)
#define MEMP_NUM_TCPIP_MSG_API          64
#define MEMP_NUM_TCPIP_MSG_INPKT        64
#define MEMP_NUM_SYS_TIMEOUT            (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 4)

/* TCP, from the sdkconfig fragment. */
#define TCP_MSS                         CONFIG_LWIP_TCP_MSS
#define TCP_SND_BUF                     CONFIG_LWIP_TCP_SND_BUF_DEFAULT
#define TCP_WND                         CONFIG_LWIP_TCP_WND_DEFAULT
/* lwIP's default, which ESP-IDF keeps: 23 segments for 8192 B and MSS 1436. */
#define TCP_SND_QUEUELEN                ((4 * (TCP_SND_BUF) + (TCP_MSS - 1)) / (TCP_MSS))
#ifdef CONFIG_LWIP_TCP_OVERSIZE_MSS
#define TCP_OVERSIZE                    TCP_MSS
#endif
#ifdef CONFIG_LWIP_TCP_QUEUE_OOSEQ
#define TCP_QUEUE_OOSEQ                 1
#else
#define TCP_QUEUE_OOSEQ                 0
#endif
#ifdef CONFIG_LWIP_WND_SCALE
#define LWIP_WND_SCALE                  1
#define TCP_RCV_SCALE                   CONFIG_LWIP_TCP_RCV_SCALE
#endif
#define TCP_MSL                         CONFIG_LWIP_TCP_MSL
/* TCP_FIN_WAIT_TIMEOUT: fixed at 20000 ms in upstream lwIP 2.1.3 (tcp_priv.h),
   the fragment's value; configurable only in esp-lwip. */
#define TCP_TMR_INTERVAL                CONFIG_LWIP_TCP_TMR_INTERVAL
#define TCP_SYNMAXRTX                   CONFIG_LWIP_TCP_SYNMAXRTX
#define TCP_MAXRTX                      CONFIG_LWIP_TCP_MAXRTX
#define TCP_LISTEN_BACKLOG              1
#define LWIP_TCP_KEEPALIVE              1
/* DEVIATION: ESP-IDF's initial RTO (CONFIG_LWIP_TCP_RTO_TIME, 1500 ms) is an
   esp-lwip patch; upstream lwIP 2.1.3 starts at 3000 ms. */

#define SO_REUSE                        1
#define LWIP_RANDOMIZE_INITIAL_LOCAL_PORTS 1

/* lwIP's own statistics: per-pool use and high-water marks. */
#ifdef CONFIG_LWIP_STATS
#define LWIP_STATS                      1
#define LWIP_STATS_DISPLAY              1
#define MEMP_STATS                      1
#define MEM_STATS                       1
#define TCP_STATS                       1
#define SYS_STATS                       1
#else
#define LWIP_STATS                      0
#endif

#define LWIP_NOASSERT_ON_ERROR          1

#endif /* XSNK_LWIPOPTS_H */
