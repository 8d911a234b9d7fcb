/*
 * empty_server: the reference point of the benchmarks: the fastest an HTTP server on this
 * machine answers, with the same libmicrohttpd threading as the services (a pool of
 * epoll workers). Two modes:
 *
 *   empty_server raw   <port> <threads>   a bare libmicrohttpd handler answering "{}"
 *   empty_server stack <port> <threads>   the emulator's own stack (em_http, router,
 *                                          dispatcher) with a handler that replies {}
 *
 * It serves until SIGTERM/SIGINT.
 */
#include "em_call.h"
#include "em_http.h"
#include "em_router.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum MHD_Result raw_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload,
                                   size_t *upload_size, void **state)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload;
    static int marker;
    if (*state == NULL) {
        *state = &marker;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum em_code empty_handler(struct em_call *call)
{
    return em_call_reply(call, cJSON_CreateObject());
}

static const struct em_route routes[] = {{"GET", "empty", empty_handler, "Empty"}};

static void wait_for_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig;
    sigwait(&set, &sig);
}

static int serve_raw(int port, int threads)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD, 0, NULL, NULL, raw_handler, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_END);
    if (!d)
        return 1;
    wait_for_signal();
    MHD_stop_daemon(d);
    return 0;
}

static int serve_stack(int port, int threads)
{
    struct em_status st = {0};
    struct em_router *router = em_router_new();
    struct em_http *http;
    struct em_http_options opt = {"127.0.0.1", port, threads, 1 << 20};
    if (em_router_add(router, routes, 1, &st) || em_http_start(&opt, router, NULL, &http, &st)) {
        fprintf(stderr, "empty_server: %s\n", st.message);
        return 1;
    }
    wait_for_signal();
    em_http_stop(http);
    em_router_free(router);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s raw|stack <port> <threads>\n", argv[0]);
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int port = atoi(argv[2]), threads = atoi(argv[3]);
    return strcmp(argv[1], "raw") == 0 ? serve_raw(port, threads) : serve_stack(port, threads);
}
