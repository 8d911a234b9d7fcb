/*
 * em_http_accept: the front door of em_http. One thread accepts every connection on the
 * listening socket and holds it until the head of its first request has arrived, looking
 * at the bytes without taking them (recv MSG_PEEK). A well-formed head (em_http_head)
 * hands the connection over, nothing consumed, to the server (libmicrohttpd, through
 * MHD_add_connection), which reads the same bytes; a malformed one is answered here with
 * Google's JSON error and Connection: close. Later requests on a connection are the
 * server's alone: this costs one hand-over per connection and nothing per request.
 *
 * A connection held here (all non-blocking, one epoll set, never a wait per socket):
 *
 *   IDLE --first byte--> RECEIVING --head complete, well-formed--> handed over
 *    |                     |    \--malformed: answered--> DRAINING --EOF, DRAIN_MS--> closed
 *    |                     +--request_timeout_ms after its first byte, or the client
 *    |                        closed before the head's end--> closed, no answer
 *    +--idle_timeout_ms, or the client closed--> closed
 *
 * DRAINING reads and discards what the client still sends after the answer, so that
 * closing with unread bytes does not reset the connection (an RST can destroy the
 * answer before the client reads it).
 *
 * The connection ceiling: a connection is accepted only while those held here plus the
 * server's own (connections_elsewhere) are fewer than max_connections; at the ceiling the
 * listening socket is not watched, and new clients wait in its backlog.
 */
#ifndef EM_HTTP_ACCEPT_H
#define EM_HTTP_ACCEPT_H

#include "em_status.h"

#include <stdint.h>
#include <sys/socket.h>

struct em_http_accept;

struct em_http_accept_options {
    int listen_fd; /* listening and non-blocking; closed by em_http_accept_stop */
    unsigned max_connections;
    int request_timeout_ms;
    int idle_timeout_ms;
    /* connections the server holds */
    unsigned (*connections_elsewhere)(void *ctx);
    /* takes fd, whose request's first byte was seen at first_byte_ms (monotonic) */
    void (*hand_over)(void *ctx, int fd, const struct sockaddr *addr, socklen_t addr_len,
                      int64_t first_byte_ms);
    void *ctx;
};

enum em_code em_http_accept_start(const struct em_http_accept_options *opt,
                                  struct em_http_accept **out, struct em_status *st);

/* Stops accepting, closes the connections not handed over and the listening socket. */
void em_http_accept_stop(struct em_http_accept *a);

#endif
