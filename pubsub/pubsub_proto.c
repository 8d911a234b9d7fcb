/*
 * pubsub_proto: what the parser, the resolver and the validators of pubsub_proto share
 * (see pubsub_proto_parts.h): growing arrays, the string arena, name comparison, UTF-8,
 * lookups of fields and enum values, and freeing a schema.
 */
#include "pubsub_proto_parts.h"

#include <stdlib.h>
#include <string.h>

struct proto_arena_block {
    struct proto_arena_block *next;
    size_t used, size;
    char data[];
};

#define ARENA_BLOCK_SIZE 4096

bool proto_grow(void **items, size_t *cap, size_t count, size_t size)
{
    if (count < *cap)
        return true;
    size_t want = *cap ? *cap * 2 : 8;
    void *grown = realloc(*items, want * size);
    if (!grown)
        return false;
    *items = grown;
    *cap = want;
    return true;
}

char *proto_arena_alloc(struct ps_proto_schema *schema, size_t n)
{
    struct proto_arena_block *b = schema->arena;
    if (!b || b->size - b->used < n) {
        size_t size = n > ARENA_BLOCK_SIZE ? n : ARENA_BLOCK_SIZE;
        b = malloc(sizeof(*b) + size);
        if (!b)
            return NULL;
        b->size = size;
        b->used = 0;
        b->next = schema->arena;
        schema->arena = b;
    }
    char *out = b->data + b->used;
    b->used += n;
    return out;
}

int proto_str_cmp(struct proto_str a, struct proto_str b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.s, b.s, n) : 0;
    if (c)
        return c;
    return a.n < b.n ? -1 : a.n > b.n;
}

bool proto_str_eq(struct proto_str a, const char *lit)
{
    return strlen(lit) == a.n && memcmp(a.s, lit, a.n) == 0;
}

bool proto_utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t step = em_utf8_char(s + i, n - i, NULL);
        if (!step)
            return false;
        i += step;
    }
    return true;
}

const char *proto_full_name(const struct ps_proto_schema *schema, int node, char *buf, size_t size)
{
    /* walk up once to find the length, then write from the end backwards */
    size_t total = 0;
    for (int n = node; n > 0; n = schema->nodes[n].parent)
        total += schema->nodes[n].name.n + (total ? 1 : 0);
    if (total + 1 > size) { /* too long to show whole: the innermost name is what matters */
        const struct proto_str *name = &schema->nodes[node].name;
        size_t keep = name->n < size - 4 ? name->n : size - 4;
        memcpy(buf, "...", 3);
        memcpy(buf + 3, name->s + name->n - keep, keep);
        buf[3 + keep] = '\0';
        return buf;
    }
    size_t at = total;
    buf[at] = '\0';
    for (int n = node; n > 0; n = schema->nodes[n].parent) {
        const struct proto_str *name = &schema->nodes[n].name;
        at -= name->n;
        memcpy(buf + at, name->s, name->n);
        if (at > 0)
            buf[--at] = '.';
    }
    return buf;
}

void proto_copy_tail(char *out, size_t size, const char *text, size_t n)
{
    if (n + 1 <= size) {
        memcpy(out, text, n);
        out[n] = '\0';
        return;
    }
    size_t keep = size - 4; /* "..." and the NUL */
    memcpy(out, "...", 3);
    memcpy(out + 3, text + n - keep, keep);
    out[size - 1] = '\0';
}

const struct proto_field *proto_field_by_number(const struct proto_message *m, int32_t number)
{
    size_t lo = 0, hi = m->nfields;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->fields[mid].number == number)
            return &m->fields[mid];
        if (m->fields[mid].number < number)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct proto_field *proto_field_by_name(const struct proto_message *m, struct proto_str name)
{
    size_t lo = 0, hi = m->nnames;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = proto_str_cmp(m->names[mid].name, name);
        if (c == 0)
            return &m->fields[m->names[mid].field];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct proto_enum_value *proto_enum_by_name(const struct proto_enum *e, struct proto_str name)
{
    size_t lo = 0, hi = e->nvalues;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = proto_str_cmp(e->values[mid].name, name);
        if (c == 0)
            return &e->values[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool proto_enum_has_number(const struct proto_enum *e, int32_t number)
{
    size_t lo = 0, hi = e->nnumbers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->numbers[mid] == number)
            return true;
        if (e->numbers[mid] < number)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

void ps_proto_free(struct ps_proto_schema *schema)
{
    if (!schema)
        return;
    for (size_t i = 0; i < schema->nmessages; i++) {
        struct proto_message *m = &schema->messages[i];
        free(m->fields);
        free(m->names);
        free(m->reserved);
        free(m->extensions);
        free(m->reserved_names);
    }
    for (size_t i = 0; i < schema->nenums; i++) {
        struct proto_enum *e = &schema->enums[i];
        free(e->values);
        free(e->numbers);
        free(e->reserved);
        free(e->reserved_names);
    }
    while (schema->arena) {
        struct proto_arena_block *next = schema->arena->next;
        free(schema->arena);
        schema->arena = next;
    }
    free(schema->messages);
    free(schema->enums);
    free(schema->nodes);
    free(schema->text);
    free(schema);
}
