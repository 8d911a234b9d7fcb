/*
 * fuzz_http_head: arbitrary bytes as the start of a connection, into em_http_head_check,
 * from a buffer of exactly their size (so a read past the bytes that arrived is caught).
 * Must never crash or read out of bounds, and must keep its promises: a refusal carries
 * one of the statuses em_http_head.h lists and a message; a head that passes waits
 * (INCOMPLETE) at every shorter length up to its end, never refused halfway.
 */
#include "em_http_head.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static enum em_http_head check(const uint8_t *data, size_t len, struct em_status *st)
{
    char *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    memcpy(copy, data, len);
    memset(st, 0, sizeof(*st));
    enum em_http_head result = em_http_head_check(copy, len, st);
    free(copy);
    return result;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct em_status st;
    enum em_http_head result = check(data, size, &st);
    if (result == EM_HTTP_HEAD_REFUSED) {
        int http = st.http_override;
        if ((http != 400 && http != 413 && http != 414 && http != 431 && http != 505) ||
            st.message[0] == '\0')
            abort();
    }
    if (result != EM_HTTP_HEAD_OK || size > 4096)
        return 0;
    /* the head ends at its first empty line: shorter lengths that stop before it wait */
    const uint8_t *end = NULL;
    for (size_t i = 1; i < size && !end; i++)
        if (data[i] == '\n' &&
            (data[i - 1] == '\n' || (i >= 2 && data[i - 1] == '\r' && data[i - 2] == '\n')))
            end = data + i;
    size_t head_len = end ? (size_t)(end - data) : size;
    for (size_t len = 0; len < head_len; len++)
        if (check(data, len, &st) == EM_HTTP_HEAD_REFUSED)
            abort();
    return 0;
}
