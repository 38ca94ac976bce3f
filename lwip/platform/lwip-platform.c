/*
 * The lwip tier's platform layer: what ESP-IDF and Moddable's esp32 host
 * give the SDK's lwIP sockets, on the Linux simulator.
 *
 * Threads, as on a board: lwIP runs in its own tcpip thread (tcpip_init), fed
 * by the unix port's TAP thread; XS runs on the simulator's main thread (its
 * GLib main loop). lwIP's callbacks run on the tcpip thread and reach XS only
 * through modMessagePostToMachine, which queues the message on the machine's
 * worker queue (a mutex-guarded list drained on the main loop, the simulator's
 * own fxQueueWorkerJob) as ESP32's xsHost.c queues it on the XS task's
 * FreeRTOS queue. XS reaches lwIP through the *_safe calls.
 *
 * Unlike a board, the two threads never run at once: the XS thread holds
 * lwIP's core lock (LOCK_TCPIP_CORE, a recursive mutex here) except while its
 * main loop waits in poll(), and lwIP's thread takes it for every message and
 * timer. The SDK's sockets read and write per-socket state from both threads
 * without a lock; serialized, those races cannot corrupt lwIP here. What this
 * changes against a board is listed in docs/platform-lwip.md.
 *
 * The network interface: a TAP device the harness made in the run's network
 * namespace (XSNK_LWIP_TAP), with the device's address, netmask, gateway
 * and DNS server (XSNK_LWIP_ADDRESS, XSNK_LWIP_NETMASK, XSNK_LWIP_GATEWAY,
 * XSNK_LWIP_DNS), brought up by the first socket as a board's station is up
 * before its first socket.
 *
 * lwIP's statistics: SIGUSR2 makes the tcpip thread print them (stats_display)
 * to stdout, one "lwip-stats" block, for the harness to read.
 */

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "xsAll.h"
#include "xsmc.h"

#include "lwip/tcpip.h"
#include "lwip/dns.h"
#include "lwip/netif.h"
#include "lwip/stats.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/timeouts.h"
#include "netif/etharp.h"
#include "netif/tapif.h"

#include "modLwipSafe.h"

/* Posting to the XS machine */

typedef struct {
	txWorkerJob job;		/* first: the simulator's queue links and frees it */
	modMessageDeliver callback;
	void *refcon;
	uint16_t length;
	uint8_t message[];
} XsnkMessage;

static void xsnkDeliver(void *machine, void *it)
{
	XsnkMessage *posted = it;
	(posted->callback)(machine, posted->refcon, posted->message, posted->length);
}

int modMessagePostToMachine(xsMachine *the, uint8_t *message, uint16_t messageLength, modMessageDeliver callback, void *refcon)
{
	XsnkMessage *posted = c_malloc(sizeof(XsnkMessage) + messageLength);
	if (!posted)
		return -1;
	posted->job.next = NULL;
	posted->job.callback = xsnkDeliver;
	posted->callback = callback;
	posted->refcon = refcon;
	posted->length = messageLength;
	if (messageLength)
		c_memcpy(posted->message, message, messageLength);
	fxQueueWorkerJob(the, posted);
	return 0;
}

#ifdef mxDebug
/*
 * A debug build: the SDK's lwIP sockets drop what lwIP hands them while the
 * machine is in its debug loop over a network connection (esp32: xsbug over
 * the same lwIP, which the packet would disturb; lwIP sends it again). Here
 * xsbug's connection is the kernel's, not lwIP's, and lwIP's thread waits for
 * the core lock while the machine is stopped: nothing to drop.
 */
uint8_t fxInNetworkDebugLoop(txMachine *the)
{
	return 0;
}
#endif

/* The critical section */

static pthread_mutex_t gCritical = PTHREAD_MUTEX_INITIALIZER;

void xsnkCriticalSectionBegin(void)
{
	pthread_mutex_lock(&gCritical);
}

void xsnkCriticalSectionEnd(void)
{
	pthread_mutex_unlock(&gCritical);
}

/* lwIP's core lock: recursive, since the XS thread holds it while its *_safe calls take it again. */

static pthread_mutex_t gCore;

void xsnkLockCore(void)
{
	pthread_mutex_lock(&gCore);
}

void xsnkUnlockCore(void)
{
	pthread_mutex_unlock(&gCore);
}

static GPollFunc gPoll;

/* The XS thread's main loop waits here: lwIP's thread runs meanwhile. */
static gint pollUnlocked(GPollFD *fds, guint count, gint timeout)
{
	gint result;
	xsnkUnlockCore();
	result = gPoll(fds, count, timeout);
	xsnkLockCore();
	return result;
}

/* Start-up */

static struct netif gNetif;
static sys_sem_t gStarted;
static int gUp = 0;
static volatile sig_atomic_t gStatsWanted = 0;

/* The active control blocks by state (TIME_WAIT ones are on a list of their own), in stats_display()'s format. */
static void printTcpStates(void)
{
	static const char *const names[] = { "CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT" };
	unsigned counts[sizeof(names) / sizeof(names[0])] = { 0 };
	struct tcp_pcb *pcb;
	unsigned i;

	for (pcb = tcp_active_pcbs; pcb; pcb = pcb->next)
		counts[pcb->state]++;
	for (pcb = tcp_tw_pcbs; pcb; pcb = pcb->next)
		counts[pcb->state]++;
	printf("\nTCP STATES\n");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		printf("\t%s: %u\n", names[i], counts[i]);
}

static void onStatsSignal(int signal)
{
	(void)signal;
	gStatsWanted = 1;
}

/* Every 100 ms on the tcpip thread: print the statistics when asked. */
static void statsPoll(void *arg)
{
	(void)arg;
	if (gStatsWanted) {
		gStatsWanted = 0;
		printf("lwip-stats begin\n");
#if LWIP_STATS
		stats_display();
#endif
		printTcpStates();
		printf("lwip-stats end\n");
		fflush(stdout);
	}
	sys_timeout(100, statsPoll, NULL);
}

static int parseAddress(const char *name, ip4_addr_t *address)
{
	const char *text = getenv(name);
	if (!text || !ip4addr_aton(text, address)) {
		fprintf(stderr, "lwip: %s is not set to an IPv4 address\n", name);
		return 0;
	}
	return 1;
}

/* On the tcpip thread, once tcpip_init has set it up. */
static void onTcpipStarted(void *arg)
{
	ip4_addr_t address, netmask, gateway, dns;
	(void)arg;
	if (parseAddress("XSNK_LWIP_ADDRESS", &address) && parseAddress("XSNK_LWIP_NETMASK", &netmask) && parseAddress("XSNK_LWIP_GATEWAY", &gateway)) {
		if (netif_add(&gNetif, &address, &netmask, &gateway, NULL, tapif_init, tcpip_input)) {
			/* Each tier device its own MAC, as boards have: locally administered (02), then the address's four bytes (tapif's is fixed). */
			gNetif.hwaddr[0] = 0x02;
			gNetif.hwaddr[1] = 0x00;
			memcpy(&gNetif.hwaddr[2], &address.addr, 4);
			netif_set_default(&gNetif);
			netif_set_up(&gNetif);
			/* The DNS server a board learns from DHCP: the harness's, on the link's host end (host-harness/peers/dns-server.ts). */
			if (parseAddress("XSNK_LWIP_DNS", &dns)) {
				ip_addr_t server;
				ip_addr_copy_from_ip4(server, dns);
				dns_setserver(0, &server);
			}
			gUp = 1;
			sys_timeout(100, statsPoll, NULL);
			printf("lwip: up on %s as %s, MSS %d, send buffer %d, window %d, %d active and %d listening TCP control blocks\n",
				getenv("PRECONFIGURED_TAPIF"), ip4addr_ntoa(&address), TCP_MSS, TCP_SND_BUF, TCP_WND, MEMP_NUM_TCP_PCB, MEMP_NUM_TCP_PCB_LISTEN);
			fflush(stdout);
		}
	}
	sys_sem_signal(&gStarted);
}

static void startOnce(void)
{
	const char *tap = getenv("XSNK_LWIP_TAP");
	int fd;
	if (!tap || !*tap) {
		fprintf(stderr, "lwip: XSNK_LWIP_TAP is not set (the TAP device the harness made)\n");
		return;
	}
	/* tapif_init exits the process when it cannot open the TAP device: look first. */
	fd = open("/dev/net/tun", O_RDWR);
	if (fd < 0) {
		perror("lwip: /dev/net/tun");
		return;
	}
	close(fd);
	setenv("PRECONFIGURED_TAPIF", tap, 1);
	signal(SIGUSR2, onStatsSignal);
	{
		pthread_mutexattr_t recursive;
		pthread_mutexattr_init(&recursive);
		pthread_mutexattr_settype(&recursive, PTHREAD_MUTEX_RECURSIVE);
		pthread_mutex_init(&gCore, &recursive);
		pthread_mutexattr_destroy(&recursive);
	}
	if (ERR_OK != sys_sem_new(&gStarted, 0))
		return;
	tcpip_init(onTcpipStarted, NULL);
	sys_sem_wait(&gStarted);
	sys_sem_free(&gStarted);
	/* From now on the XS thread (this one) holds the core lock except in its main loop's poll(). */
	xsnkLockCore();
	gPoll = g_main_context_get_poll_func(g_main_context_default());
	g_main_context_set_poll_func(g_main_context_default(), pollUnlocked);
}

int xsnkLwipStart(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, startOnce);
	return gUp;
}
