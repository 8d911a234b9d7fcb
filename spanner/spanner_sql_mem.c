/*
 * spanner_sql_mem: the arena that owns a parsed statement and the text buffer the
 * translator writes SQL into (see spanner_sql_mem.h).
 */
#include "spanner_sql_mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_MIN 4096

struct sp_arena_block {
    struct sp_arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

void *sp_arena_alloc(struct sp_arena *arena, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    struct sp_arena_block *b = arena->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > ARENA_BLOCK_MIN ? size : ARENA_BLOCK_MIN;
        b = malloc(sizeof(*b) + cap);
        if (!b) {
            arena->failed = true;
            return NULL;
        }
        b->used = 0;
        b->cap = cap;
        b->next = arena->head;
        arena->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *sp_arena_strndup(struct sp_arena *arena, const char *text, size_t len)
{
    char *copy = sp_arena_alloc(arena, len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, text, len);
    copy[len] = '\0';
    return copy;
}

char *sp_arena_strdup(struct sp_arena *arena, const char *text)
{
    return sp_arena_strndup(arena, text, strlen(text));
}

void sp_arena_free(struct sp_arena *arena)
{
    struct sp_arena_block *b = arena->head;
    while (b) {
        struct sp_arena_block *next = b->next;
        free(b);
        b = next;
    }
    arena->head = NULL;
}

static bool buf_reserve(struct sp_buf *buf, size_t extra)
{
    if (buf->failed)
        return false;
    if (buf->len + extra + 1 <= buf->cap)
        return true;
    size_t cap = buf->cap ? buf->cap : 128;
    while (cap < buf->len + extra + 1)
        cap *= 2;
    char *data = realloc(buf->data, cap);
    if (!data) {
        buf->failed = true;
        return false;
    }
    buf->data = data;
    buf->cap = cap;
    return true;
}

void sp_buf_append(struct sp_buf *buf, const char *text, size_t len)
{
    if (!buf_reserve(buf, len))
        return;
    memcpy(buf->data + buf->len, text, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
}

void sp_buf_puts(struct sp_buf *buf, const char *text)
{
    sp_buf_append(buf, text, strlen(text));
}

void sp_buf_printf(struct sp_buf *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !buf_reserve(buf, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
}

static void append_quoted(struct sp_buf *buf, const char *text, size_t len, char quote)
{
    sp_buf_append(buf, &quote, 1);
    for (size_t i = 0; i < len; i++) {
        if (text[i] == quote)
            sp_buf_append(buf, &quote, 1);
        sp_buf_append(buf, &text[i], 1);
    }
    sp_buf_append(buf, &quote, 1);
}

void sp_buf_ident(struct sp_buf *buf, const char *name)
{
    append_quoted(buf, name, strlen(name), '"');
}

void sp_buf_string(struct sp_buf *buf, const char *text, size_t len)
{
    append_quoted(buf, text, len, '\'');
}

void sp_buf_blob(struct sp_buf *buf, const unsigned char *data, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    sp_buf_puts(buf, "X'");
    for (size_t i = 0; i < len; i++) {
        char pair[2] = {hex[data[i] >> 4], hex[data[i] & 15]};
        sp_buf_append(buf, pair, 2);
    }
    sp_buf_puts(buf, "'");
}

char *sp_buf_take(struct sp_buf *buf)
{
    if (buf->failed) {
        sp_buf_free(buf);
        return NULL;
    }
    if (!buf->data && !buf_reserve(buf, 0))
        return NULL;
    if (buf->len == 0)
        buf->data[0] = '\0';
    char *text = buf->data;
    buf->data = NULL;
    buf->len = buf->cap = 0;
    return text;
}

void sp_buf_free(struct sp_buf *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
    buf->failed = false;
}
