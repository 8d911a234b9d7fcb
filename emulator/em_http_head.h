/*
 * em_http_head: the syntax check of a request's head (request line and header lines,
 * RFC 9112 sections 2-3 and 5-6), on bytes that may still be arriving. No sockets, no
 * libmicrohttpd: em_http_accept runs it on the first request of every connection, before
 * libmicrohttpd sees it, so that what libmicrohttpd 0.9.75 would answer with its own HTML
 * page is answered with Google's JSON error instead.
 *
 * What it accepts is what libmicrohttpd serves, less what RFC 9112 says to reject:
 *
 *   request-line = method SP request-target SP HTTP-version (CRLF or a bare LF)
 *     method: a token; request-target: no space, no control byte, at most EM_HTTP_MAX_URL
 *     bytes; HTTP-version "HTTP/1.d" (HTTP/1.2-1.9 are served as 1.1, RFC 9110 2.5)
 *   header-line = field-name ":" OWS value OWS; field-name: a token; value: no control
 *     byte but HTAB; no obsolete line folding (RFC 9112 5.2)
 *   empty lines before the request line are skipped (RFC 9112 2.2); the head ends at an
 *   empty line and is at most EM_HTTP_MAX_HEADER bytes
 *   HTTP/1.1 needs a Host header; Content-Length is digits only, and repeated only with
 *   the same value
 *
 * and what it refuses:
 *
 *   a malformed request line, header line or Content-Length; no Host   400 INVALID_ARGUMENT
 *   a Content-Length over 2^64 - 1                                      413 INVALID_ARGUMENT
 *   HTTP/0.x, HTTP/2.0, HTTP/3.0 ...                                    505 UNIMPLEMENTED
 *   a request-target over EM_HTTP_MAX_URL                               414 INVALID_ARGUMENT
 *   a head over EM_HTTP_MAX_HEADER                                      431 INVALID_ARGUMENT
 *
 * 505 carries UNIMPLEMENTED: the request is well-formed but asks for a protocol version
 * this server does not implement, which is what UNIMPLEMENTED means in google.rpc.Code
 * ("not implemented or not supported/enabled in this service"); INVALID_ARGUMENT would
 * say the client wrote something wrong in a version the server understands.
 */
#ifndef EM_HTTP_HEAD_H
#define EM_HTTP_HEAD_H

#include "em_status.h"

#include <stddef.h>

enum em_http_head {
    EM_HTTP_HEAD_INCOMPLETE, /* no violation in the complete lines so far: wait for more */
    EM_HTTP_HEAD_OK,         /* the whole head arrived and is well-formed */
    EM_HTTP_HEAD_REFUSED,    /* *st says why, with the HTTP status in st->http_override */
};

/* Checks the head at the start of buf[0, len), which may be cut anywhere; bytes after the
 * head (a body, a pipelined request) are not looked at. len above EM_HTTP_MAX_HEADER with
 * the head still incomplete is refused (414 or 431). */
enum em_http_head em_http_head_check(const char *buf, size_t len, struct em_status *st);

#endif
