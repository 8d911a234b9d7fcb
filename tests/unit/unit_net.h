/*
 * unit_net: what the unit tests that run a real em_http server on the loopback interface
 * share (test_http, test_stream): bounded waits, a free port and a server started on it,
 * and a raw TCP connection to it.
 *
 *   struct em_http_options opt = {"127.0.0.1", 0, threads, max_body, 0};
 *   int port = unit_http_serve(svc, routes, count, &opt, 31, &router, &http);   -1: failed
 *   int fd = unit_connect(port);
 *   unit_wait_flag(&flag, 2000);
 */
#ifndef UNIT_NET_H
#define UNIT_NET_H

#include "em_http.h"
#include "em_router.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define UNIT_PORT_FIRST    20000 /* ports are tried in [FIRST, FIRST + SPAN): below 32768 */
#define UNIT_PORT_SPAN     12000
#define UNIT_PORT_ATTEMPTS 40

static inline void unit_sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

/* Monotonic milliseconds. */
static inline int64_t unit_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Waits until *flag is set, at most ms; true when it was. */
static inline bool unit_wait_flag(atomic_bool *flag, int ms)
{
    int64_t until = unit_now_ms() + ms;
    while (!atomic_load(flag)) {
        if (unit_now_ms() >= until)
            return false;
        unit_sleep_ms(1);
    }
    return true;
}

static inline struct sockaddr_in unit_loopback(int port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

/* em_http listens with SO_REUSEPORT, so it starts even on a port another server holds:
 * a port is only taken when a plain bind succeeds. */
static inline bool unit_port_is_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in addr = unit_loopback(port);
    bool free_port = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
    close(fd);
    return free_port;
}

/* Starts em_http with opt on a free port (opt->port is set); returns the port, or -1 with
 * st set. salt spreads the ports tried, so that test files running at the same time
 * rarely try the same ones. */
static inline int unit_http_start(struct em_http_options *opt, const struct em_router *router,
                                  struct em_service *svc, int salt, struct em_http **out,
                                  struct em_status *st)
{
    for (int attempt = 0; attempt < UNIT_PORT_ATTEMPTS; attempt++) {
        opt->port = UNIT_PORT_FIRST + (int)((getpid() * salt + attempt * 7919) % UNIT_PORT_SPAN);
        if (unit_port_is_free(opt->port) && em_http_start(opt, router, svc, out, st) == EM_OK)
            return opt->port;
    }
    return -1;
}

/* A router with routes[0 .. count) served for svc on a free port (unit_http_start);
 * returns the port, or -1 (said on stderr, nothing left behind). */
static inline int unit_http_serve(struct em_service *svc, const struct em_route *routes,
                                  size_t count, struct em_http_options *opt, int salt,
                                  struct em_router **router, struct em_http **http)
{
    struct em_status st = {0};
    *router = em_router_new();
    if (!*router || em_router_add(*router, routes, count, &st)) {
        fprintf(stderr, "routes: %s\n", st.message);
    } else {
        int port = unit_http_start(opt, *router, svc, salt, http, &st);
        if (port > 0)
            return port;
        fprintf(stderr, "no free port: %s\n", st.message);
    }
    em_router_free(*router);
    *router = NULL;
    return -1;
}

/* A blocking TCP connection to 127.0.0.1:port, or -1. */
static inline int unit_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr = unit_loopback(port);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

#endif
