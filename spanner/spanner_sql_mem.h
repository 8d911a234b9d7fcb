/*
 * spanner_sql_mem: the two memory helpers of the GoogleSQL layer.
 *
 * - struct sp_arena: every node of a parsed statement (tokens, AST, schema copies made
 *   while translating) is allocated from one arena and freed at once with
 *   sp_arena_free(), so an error anywhere in parsing or translation leaks nothing.
 * - struct sp_buf: a growing NUL-terminated text buffer for the SQL we emit. An
 *   allocation failure is sticky (buf->failed) and checked once at the end.
 */
#ifndef SPANNER_SQL_MEM_H
#define SPANNER_SQL_MEM_H

#include <stdbool.h>
#include <stddef.h>

struct sp_arena_block;

struct sp_arena {
    struct sp_arena_block *head;
    bool failed; /* an allocation failed: the caller reports INTERNAL */
};

/* Zeroed memory from the arena; NULL (and arena->failed) when out of memory. */
void *sp_arena_alloc(struct sp_arena *arena, size_t size);
/* A NUL-terminated copy of len bytes of text. */
char *sp_arena_strndup(struct sp_arena *arena, const char *text, size_t len);
char *sp_arena_strdup(struct sp_arena *arena, const char *text);
void sp_arena_free(struct sp_arena *arena);

struct sp_buf {
    char *data; /* always NUL-terminated once anything was appended */
    size_t len, cap;
    bool failed;
};

void sp_buf_append(struct sp_buf *buf, const char *text, size_t len);
void sp_buf_puts(struct sp_buf *buf, const char *text);
void sp_buf_printf(struct sp_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends text as a SQLite identifier: "name" with inner quotes doubled. */
void sp_buf_ident(struct sp_buf *buf, const char *name);
/* Appends text as a SQLite string literal: 'text' with inner quotes doubled. */
void sp_buf_string(struct sp_buf *buf, const char *text, size_t len);
/* Appends bytes as a SQLite blob literal X'..'. */
void sp_buf_blob(struct sp_buf *buf, const unsigned char *data, size_t len);
/* Hands the text over to the caller (malloc'd, never NULL unless failed) and resets buf. */
char *sp_buf_take(struct sp_buf *buf);
void sp_buf_free(struct sp_buf *buf);

#endif
