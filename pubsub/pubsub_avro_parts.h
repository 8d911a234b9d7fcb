/*
 * pubsub_avro_parts: the parsed Avro tree and the state of checking a message, shared by the
 * files of pubsub_avro (pubsub_avro.c, _schema.c, _json.c, _binary.c) and by nothing else.
 * What the tree means and which messages pass is told at the top of pubsub_avro.c.
 */
#ifndef PUBSUB_AVRO_PARTS_H
#define PUBSUB_AVRO_PARTS_H

#include "pubsub_avro.h"
#include "em_json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AVRO_DETAIL_TEXT_MAX 240 /* the problem in an error message */

struct cJSON;

enum avro_kind {
    AVRO_NULL,
    AVRO_BOOLEAN,
    AVRO_INT,
    AVRO_LONG,
    AVRO_FLOAT,
    AVRO_DOUBLE,
    AVRO_BYTES,
    AVRO_STRING,
    AVRO_RECORD,
    AVRO_ENUM,
    AVRO_ARRAY,
    AVRO_MAP,
    AVRO_UNION,
    AVRO_FIXED,
};
#define AVRO_PRIMITIVES 8 /* the kinds before AVRO_RECORD */

struct avro_field {
    char *name;
    struct avro_node *type;
    bool has_default;
    const struct cJSON *default_value; /* only while parsing: checked when every type is known */
};

struct avro_name_slot { /* one entry of a sorted index of names */
    const char *name;
    size_t len;
    size_t pos;
};

struct avro_node {
    enum avro_kind kind;
    const char *logical;            /* a valid logicalType annotation, or NULL */
    char *fullname;                 /* record, enum, fixed */
    struct avro_node *items;        /* array items, map values */
    struct avro_node **branches;    /* union */
    struct avro_field *fields;      /* record */
    char **symbols;                 /* enum */
    size_t count;                   /* of branches, fields or symbols */
    struct avro_name_slot *by_name; /* those count names, sorted, for JSON lookups */
    size_t size;                    /* fixed */
};

struct ps_avro_schema {
    struct avro_node *root;
    struct avro_node **nodes; /* every node, for freeing */
    size_t count, cap;
};

/* pubsub_avro.c: shared helpers */

/* The type names of the kinds, indexed by enum avro_kind. */
extern const char *const avro_kind_names[];
/* The name a union branch goes by in the JSON encoding. */
const char *avro_branch_name(const struct avro_node *n);
/* "record \"ns.R\"", "int" ...: what a node expects, for messages. */
const char *avro_describe(const struct avro_node *n, char *buf, size_t cap);
/* Sorts names into n->by_name; returns the first duplicate, or NULL. Sets *oom on failure. */
const char *avro_index_names(struct avro_node *n,
                             const char *(*name_of)(const struct avro_node *, size_t), bool *oom);
/* The position of key among n's names, or -1. */
long avro_find_name(const struct avro_node *n, const char *key, size_t len);

/* pubsub_avro.c: the state of checking one message, kept on the stack */

struct avro_path_step {
    const char *field; /* a record field ("" before the first), or NULL for the index-th item */
    size_t index;
};

struct avro_check {
    const unsigned char *start, *p, *end;
    struct em_status *st;
    const char *encoding;
    int depth; /* containers open, including skipped JSON */
    size_t steps;
    struct avro_path_step path[PS_AVRO_MAX_DEPTH + 1];
    uint64_t budget; /* values we may still visit */
    char *scratch;   /* JSON: the last string decoded */
    size_t scratch_len, scratch_cap;
};

/* "Invalid Avro message (<encoding> encoding) at <path>: <problem> (byte offset N)." */
enum em_code avro_check_fail(struct avro_check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Opens a record (first_field "") or an array or map (NULL), within the depth bound. */
enum em_code avro_enter(struct avro_check *c, const char *first_field);
void avro_leave(struct avro_check *c);
/* One more value visited, within the message's budget. */
enum em_code avro_spend(struct avro_check *c);

/* One datum of n at c->p and nothing after it: pubsub_avro_json.c, pubsub_avro_binary.c. */
enum em_code avro_json_datum(struct avro_check *c, const struct avro_node *n);
enum em_code avro_binary_datum(struct avro_check *c, const struct avro_node *n);

#endif
