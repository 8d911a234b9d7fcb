/*
 * pubsub_push_receiver: a tiny HTTP endpoint for the Pub/Sub push tests (compiled by the
 * test itself with cc, so it needs nothing beyond libc).
 *
 *   pubsub_push_receiver PORT_FILE OUT_FILE [FAILURES [HEADERS_FILE]]
 *
 * Listens on 127.0.0.1 on a free port (written to PORT_FILE), and for every request
 * appends one line to OUT_FILE: the body with newlines removed; with HEADERS_FILE, also
 * the request line and header lines there, one per line as received, then a line "--".
 * The first FAILURES requests are answered 503 (the push must be retried), the others
 * 204. Every answer closes the connection. It runs until killed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_REQUEST (1 << 20)

/* The request head (up to the blank line), one line per header line. */
static void write_head(FILE *headers, const char *buf, const char *body)
{
    for (const char *h = buf; h < body - 2;) {
        const char *end = strstr(h, "\r\n");
        fprintf(headers, "%.*s\n", (int)(end - h), h);
        h = end + 2;
    }
    fprintf(headers, "--\n");
    fflush(headers);
}

static void handle(int fd, FILE *out, FILE *headers, int fail)
{
    static char buf[MAX_REQUEST + 1];
    size_t len = 0;
    char *body = NULL;
    long want = -1;
    while (len < MAX_REQUEST) {
        ssize_t n = read(fd, buf + len, MAX_REQUEST - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        if (!body && (body = strstr(buf, "\r\n\r\n"))) {
            body += 4;
            for (char *h = buf; h < body; h = strstr(h, "\r\n") + 2)
                if (strncasecmp(h, "Content-Length:", 15) == 0)
                    want = atol(h + 15);
        }
        if (body && (want < 0 || (long)(buf + len - body) >= want))
            break;
    }
    if (body && headers)
        write_head(headers, buf, body);
    if (body) {
        for (char *p = body; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        fprintf(out, "%s\n", body);
        fflush(out);
    }
    const char *reply = fail ? "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n"
                             : "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
    if (write(fd, reply, strlen(reply)) < 0)
        perror("write");
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s PORT_FILE OUT_FILE [FAILURES [HEADERS_FILE]]\n", argv[0]);
        return 2;
    }
    int failures = argc > 3 ? atoi(argv[3]) : 0;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(addr);
    if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(s, 16) != 0 ||
        getsockname(s, (struct sockaddr *)&addr, &alen) != 0) {
        perror("listen");
        return 1;
    }
    FILE *out = fopen(argv[2], "a"), *port = fopen(argv[1], "w");
    FILE *headers = argc > 4 ? fopen(argv[4], "a") : NULL;
    if (!out || !port || (argc > 4 && !headers))
        return 1;
    fprintf(port, "%d\n", ntohs(addr.sin_port));
    fclose(port);
    for (;;) {
        int fd = accept(s, NULL, NULL);
        if (fd >= 0)
            handle(fd, out, headers, failures > 0 ? failures-- : 0);
    }
}
