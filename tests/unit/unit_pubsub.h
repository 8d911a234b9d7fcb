/*
 * unit_pubsub: a real Pub/Sub service for the unit tests below HTTP (registry, flow, push):
 * default options (as a process with no arguments), a fresh temporary data directory,
 * the service opened on it (CMEK engine with Google default encryption), and the calls
 * those tests make again and again. Pulls never wait (a pull with no message returns at
 * once).
 *
 *   UNIT_PUBSUB_TEST(test_x)                       in the cmocka table: setup and teardown
 *   struct unit_pubsub *ps = *state;
 *   unit_pubsub_create_topic(ps, "projects/p/topics/t", NULL, &st);
 *   ps_topic_get(unit_pubsub_reg(ps), ...);
 *   unit_pubsub_restart(ps);                      close and open again on the same data
 */
#ifndef UNIT_PUBSUB_H
#define UNIT_PUBSUB_H

#include "em_clock.h"
#include "em_config.h"
#include "em_service.h"
#include "pubsub/pubsub_flow.h"
#include "pubsub/pubsub_registry.h"
#include "pubsub/pubsub_service.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unit_pubsub {
    struct em_config cfg;
    struct em_service *svc;
};

static inline struct ps_registry *unit_pubsub_reg(const struct unit_pubsub *ps)
{
    return ps->svc->ctx;
}

/* Opens the service on ps->cfg's data directory, pulls that never wait; 0 on success. */
static inline int unit_pubsub_open(struct unit_pubsub *ps)
{
    struct em_status st = {0};
    if (em_service_open(&pubsub_service, &ps->cfg, &ps->svc, &st)) {
        fprintf(stderr, "open: %s\n", st.message);
        return -1;
    }
    unit_pubsub_reg(ps)->pull_wait_ms = 0;
    return 0;
}

/* Default options, a fresh temporary data directory, the service open on it. */
static inline int unit_pubsub_start(struct unit_pubsub *ps)
{
    struct em_status st = {0};
    bool help;
    char *args[] = {"test", NULL};
    if (em_config_load(&ps->cfg, 1, args, &help, &st) ||
        em_make_temp_dir(ps->cfg.data_dir, sizeof(ps->cfg.data_dir), &st))
        return -1;
    return unit_pubsub_open(ps);
}

/* Closes the service and removes its data directory. */
static inline void unit_pubsub_stop(struct unit_pubsub *ps)
{
    em_service_close(ps->svc);
    ps->svc = NULL;
    em_remove_tree(ps->cfg.data_dir);
}

/* Closes the service and opens it again on the same data (a process restart). */
static inline int unit_pubsub_restart(struct unit_pubsub *ps)
{
    em_service_close(ps->svc);
    ps->svc = NULL;
    return unit_pubsub_open(ps);
}

/* cmocka setup and teardown for tests whose state is a struct unit_pubsub. */
static inline int unit_pubsub_setup(void **state)
{
    struct unit_pubsub *ps = calloc(1, sizeof(*ps));
    *state = ps;
    return ps && unit_pubsub_start(ps) == 0 ? 0 : -1;
}

static inline int unit_pubsub_teardown(void **state)
{
    unit_pubsub_stop(*state);
    free(*state);
    return 0;
}

/* A cmocka test run on a fresh service (include cmocka.h first). */
#define UNIT_PUBSUB_TEST(test)                                                                     \
    cmocka_unit_test_setup_teardown(test, unit_pubsub_setup, unit_pubsub_teardown)

/* Creates a topic (cfg NULL: no settings) at the current emulator time. */
static inline enum em_code unit_pubsub_create_topic(struct unit_pubsub *ps, const char *name,
                                                    const struct ps_topic_config *cfg,
                                                    struct em_status *st)
{
    struct ps_topic_config none = {0};
    struct ps_topic *t = NULL;
    enum em_code code =
        ps_topic_create(unit_pubsub_reg(ps), name, cfg ? cfg : &none, em_clock_now(), &t, st);
    ps_topic_put(t);
    return code;
}

static inline enum em_code unit_pubsub_create_sub(struct unit_pubsub *ps, const char *name,
                                                  struct ps_sub_config cfg, struct em_status *st)
{
    struct ps_sub *s = NULL;
    enum em_code code = ps_sub_create(unit_pubsub_reg(ps), name, &cfg, em_clock_now(), &s, st);
    ps_sub_put(s);
    return code;
}

/* Publishes one message (data text, attributes as JSON) now; its sequence number in *seq
 * (may be NULL). */
static inline enum em_code unit_pubsub_publish(struct unit_pubsub *ps, const char *topic,
                                               const char *data, const char *attributes,
                                               int64_t *seq, struct em_status *st)
{
    struct ps_message m = {.data = (unsigned char *)strdup(data),
                           .data_len = strlen(data),
                           .attributes = strdup(attributes),
                           .ordering_key = strdup("")};
    enum em_code code = ps_publish(unit_pubsub_reg(ps), topic, &m, 1, em_clock_now(), st);
    if (seq)
        *seq = m.seq;
    ps_message_clear(&m);
    return code;
}

#endif
