/*
 * pubsub_avro: Avro schemas for Pub/Sub schemas (google.pubsub.v1.SchemaService, type AVRO):
 * parses a definition (Avro 1.11 specification) into an immutable tree and checks that a
 * message is one datum of it, in Avro's JSON encoding or in its binary encoding.
 *
 * A parsed schema is read-only: any number of threads may check messages against it at
 * once. Every failure is EM_INVALID_ARGUMENT with a message that names the problem (the
 * type or field of the schema, the path and byte offset in the message); an allocation
 * failure is EM_FAIL_OOM. pubsub_avro.c says which choices differ from the Avro library
 * behind Google's Pub/Sub emulator.
 */
#ifndef PUBSUB_AVRO_H
#define PUBSUB_AVRO_H

#include "em_status.h"

#include <stddef.h>

/* How deep records, arrays and maps may nest, in a schema and in a message. */
#define PS_AVRO_MAX_DEPTH 100

struct ps_avro_schema;

/* Parses an Avro schema definition (JSON text, len bytes, no NUL needed). */
enum em_code ps_avro_parse(const char *definition, size_t len, struct ps_avro_schema **out,
                           struct em_status *st);

/* Is msg a valid datum of the schema in Avro's JSON encoding? */
enum em_code ps_avro_check_json(const struct ps_avro_schema *schema, const unsigned char *msg,
                                size_t len, struct em_status *st);

/* ... in Avro's binary encoding (one datum, no container header; every byte consumed)? */
enum em_code ps_avro_check_binary(const struct ps_avro_schema *schema, const unsigned char *msg,
                                  size_t len, struct em_status *st);

/* NULL is safe. */
void ps_avro_free(struct ps_avro_schema *schema);

#endif
