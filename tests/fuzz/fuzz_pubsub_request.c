/*
 * fuzz_pubsub_request: libFuzzer target for the Pub/Sub request path: routing, query and
 * body parsing, schema checks, handlers (publish, pull, acknowledge, seek, snapshots,
 * IAM ...) and error rendering, through em_dispatch() with a real Pub/Sub service on a
 * temporary data directory (no sockets; pulls never wait).
 *
 * Input: "METHOD PATH[?QUERY]\n" followed by the body. A topic with a subscription and a
 * published message exist so that inputs reach the data calls. State is reset every 500
 * inputs so memory stays bounded.
 */
#include "em_call.h"
#include "em_log.h"
#include "em_service.h"
#include "pubsub/pubsub.h"
#include "pubsub/pubsub_service.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct em_service *svc;
static unsigned runs;
static char data_dir[PATH_MAX];

static void cleanup(void)
{
    em_service_close(svc);
    em_remove_tree(data_dir);
}

#define PROJECT "/v1/projects/fuzz-project"

static void call(const char *method, const char *path, const char *body)
{
    struct em_call c = {0};
    c.method = method;
    c.path = path;
    c.body_text = body;
    c.body_len = body ? strlen(body) : 0;
    c.svc = svc;
    em_dispatch(svc->router, &c);
    em_call_reset(&c);
}

static void create_fixtures(void)
{
    call("PUT", PROJECT "/topics/topic", "{\"labels\":{\"env\":\"fuzz\"}}");
    call("PUT", PROJECT "/topics/dead-letters", "{}");
    call("PUT", PROJECT "/subscriptions/sub",
         "{\"topic\":\"projects/fuzz-project/topics/topic\",\"enableMessageOrdering\":true,"
         "\"deadLetterPolicy\":{\"deadLetterTopic\":\"projects/fuzz-project/topics/"
         "dead-letters\",\"maxDeliveryAttempts\":5},\"filter\":\"NOT attributes:skip\"}");
    call("POST", PROJECT "/topics/topic:publish",
         "{\"messages\":[{\"data\":\"aGVsbG8=\",\"attributes\":{\"k\":\"v\"},"
         "\"orderingKey\":\"o\"}]}");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct em_config cfg;
    struct em_status st = {0};
    bool help;
    char *args[] = {"fuzz", NULL};
    em_log_init("fuzz", EM_LOG_ERROR);
    if (em_config_load(&cfg, 1, args, &help, &st) ||
        em_make_temp_dir(cfg.data_dir, sizeof(cfg.data_dir), &st) ||
        em_service_open(&pubsub_service, &cfg, &svc, &st))
        abort();
    ((struct ps_registry *)svc->ctx)->pull_wait_ms = 0;
    snprintf(data_dir, sizeof(data_dir), "%s", cfg.data_dir);
    atexit(cleanup);
    create_fixtures();
    return 0;
}

/* Splits "a=b&c=d" in place into the call's query arguments. */
static void split_query(char *query, struct em_call *c)
{
    for (char *save = NULL, *pair = strtok_r(query, "&", &save);
         pair && c->query_count < EM_MAX_QUERY; pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (eq)
            *eq++ = '\0';
        c->query[c->query_count].key = pair;
        c->query[c->query_count].value = eq ? eq : "";
        c->query_count++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *newline = strchr(text, '\n');
    char *body = newline ? newline + 1 : NULL;
    if (newline)
        *newline = '\0';
    char *space = strchr(text, ' ');
    if (space) {
        *space = '\0';
        struct em_call c = {0};
        c.method = text;
        c.path = space + 1;
        char *question = strchr(space + 1, '?');
        if (question) {
            *question = '\0';
            split_query(question + 1, &c);
        }
        c.body_text = body;
        c.body_len = body ? size - (size_t)(body - text) : 0;
        c.svc = svc;
        em_dispatch(svc->router, &c);
        em_call_reset(&c);
    }
    free(text);
    if (++runs % 500 == 0) {
        struct em_status st = {0};
        svc->def->reset(svc, &st);
        create_fixtures();
    }
    return 0;
}
