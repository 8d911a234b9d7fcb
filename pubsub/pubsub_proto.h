/*
 * pubsub_proto: Protocol Buffer schemas of Pub/Sub (google.pubsub.v1.SchemaService,
 * Schema.Type PROTOCOL_BUFFER): the parser of a schema definition, the text of one .proto
 * file, and the validators of a message's data against it, in the binary wire format and
 * in the proto3 JSON mapping (Encoding BINARY and JSON of a topic's SchemaSettings).
 *
 * Google's rules (https://cloud.google.com/pubsub/docs/schemas, .../create-schemas):
 * exactly one top-level type, a message, which is the type validated; no import
 * statements; proto2 and proto3 (no syntax statement means proto2); a definition of at
 * most 300 KB. pubsub_proto_parts.h describes the model, each .c file its own limits.
 *
 * A parsed schema is immutable: any number of threads may validate against it at once.
 */
#ifndef PUBSUB_PROTO_H
#define PUBSUB_PROTO_H

#include "em_status.h"

#include <stddef.h>

struct ps_proto_schema;

/* Parses a Protocol Buffer schema definition as Pub/Sub takes it. An invalid definition
 * is INVALID_ARGUMENT with "line N: <problem>"; *out is set only on success. */
enum em_code ps_proto_parse(const char *definition, size_t len, struct ps_proto_schema **out,
                            struct em_status *st);

/* Whether msg is a valid message of the schema's message type in the proto3 JSON mapping.
 * An invalid message is INVALID_ARGUMENT naming the field path ("items[2].price: ..."). */
enum em_code ps_proto_check_json(const struct ps_proto_schema *schema, const unsigned char *msg,
                                 size_t len, struct em_status *st);

/* ... in the binary wire format. */
enum em_code ps_proto_check_binary(const struct ps_proto_schema *schema, const unsigned char *msg,
                                   size_t len, struct em_status *st);

/* NULL is safe. */
void ps_proto_free(struct ps_proto_schema *schema);

#endif
