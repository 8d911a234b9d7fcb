/*
 * fuzz_pubsub_request: libFuzzer target for the Pub/Sub request path: routing, query and
 * body parsing, schema checks, handlers (publish, pull, acknowledge, seek, snapshots,
 * IAM ...) and error rendering, through em_dispatch() with a real Pub/Sub service on a
 * temporary data directory (no sockets, see fuzz_service.h; pulls never wait).
 *
 * A topic with a subscription and a published message exist so that inputs reach the
 * data calls (an exactly-once subscription holds the message outstanding), and an Avro
 * and a Protocol Buffer schema with a topic each (JSON and BINARY) so that publishes
 * reach the schema checks.
 */
#include "fuzz_service.h"
#include "pubsub/pubsub_registry.h"
#include "pubsub/pubsub_service.h"

#define PROJECT "/v1/projects/fuzz-project"

static void create_fixtures(void)
{
    fuzz_service_call("PUT", PROJECT "/topics/topic", NULL, NULL,
                      "{\"labels\":{\"env\":\"fuzz\"}}");
    fuzz_service_call("PUT", PROJECT "/topics/dead-letters", NULL, NULL, "{}");
    fuzz_service_call(
        "PUT", PROJECT "/subscriptions/sub", NULL, NULL,
        "{\"topic\":\"projects/fuzz-project/topics/topic\",\"enableMessageOrdering\":true,"
        "\"deadLetterPolicy\":{\"deadLetterTopic\":\"projects/fuzz-project/topics/"
        "dead-letters\",\"maxDeliveryAttempts\":5},\"filter\":\"NOT attributes:skip\"}");
    fuzz_service_call("PUT", PROJECT "/subscriptions/once", NULL, NULL,
                      "{\"topic\":\"projects/fuzz-project/topics/topic\","
                      "\"enableExactlyOnceDelivery\":true}");
    fuzz_service_call("POST", PROJECT "/topics/topic:publish", NULL, NULL,
                      "{\"messages\":[{\"data\":\"aGVsbG8=\",\"attributes\":{\"k\":\"v\"},"
                      "\"orderingKey\":\"o\"}]}");
    fuzz_service_call("POST", PROJECT "/subscriptions/once:pull", NULL, NULL,
                      "{\"maxMessages\":1}"); /* an outstanding delivery under exactly-once */
    /* schemas, and topics validating what is published to them */
    fuzz_service_call("POST", PROJECT "/schemas", "schemaId", "avro",
                      "{\"type\":\"AVRO\",\"definition\":\"{\\\"type\\\":\\\"record\\\","
                      "\\\"name\\\":\\\"R\\\",\\\"fields\\\":[{\\\"name\\\":\\\"a\\\","
                      "\\\"type\\\":[\\\"null\\\",\\\"long\\\"]}]}\"}");
    fuzz_service_call("POST", PROJECT "/schemas", "schemaId", "proto",
                      "{\"type\":\"PROTOCOL_BUFFER\",\"definition\":\"syntax = \\\"proto3\\\"; "
                      "message M { int64 a = 1; repeated string b = 2; }\"}");
    fuzz_service_call("PUT", PROJECT "/topics/avro-topic", NULL, NULL,
                      "{\"schemaSettings\":{\"schema\":\"projects/fuzz-project/schemas/avro\","
                      "\"encoding\":\"JSON\"}}");
    fuzz_service_call("PUT", PROJECT "/topics/proto-topic", NULL, NULL,
                      "{\"schemaSettings\":{\"schema\":\"projects/fuzz-project/schemas/proto\","
                      "\"encoding\":\"BINARY\"}}");
}

static void pulls_never_wait(struct em_service *svc)
{
    ((struct ps_registry *)svc->ctx)->pull_wait_ms = 0;
}

FUZZ_SERVICE_TARGET(pubsub_service, pulls_never_wait, create_fixtures)
