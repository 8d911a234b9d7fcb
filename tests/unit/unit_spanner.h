/*
 * unit_spanner: calls to the Spanner service run in process (em_dispatch, no sockets), for
 * the tests that drive it as a client would: test_spanner_data and test_spanner_txn.
 */
#ifndef UNIT_SPANNER_H
#define UNIT_SPANNER_H

#include "em_call.h"
#include "em_config.h"
#include "em_log.h"
#include "em_service.h"
#include "em_store.h"
#include "spanner/spanner_service.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs a call; returns its HTTP status and the reply in *reply (caller frees). With
 * TEST_VERBOSE set, prints each call and its answer. */
static int unit_spanner_call(struct em_service *svc, const char *method, const char *path,
                             const char *body, cJSON **reply)
{
    struct em_call c = {0};
    c.method = method;
    c.path = path;
    c.body_text = body;
    c.body_len = body ? strlen(body) : 0;
    c.svc = svc;
    em_dispatch(svc->router, &c);
    int status = c.http_status;
    if (getenv("TEST_VERBOSE"))
        fprintf(stderr, "%s %s -> %d %s\n", method, path, status, c.response ? c.response : "");
    if (reply)
        *reply = c.response ? cJSON_Parse(c.response) : NULL;
    em_call_reset(&c);
    return status;
}

/* A session call: POST /v1/<session>:<method>. */
static int unit_spanner_data_call(struct em_service *svc, const char *session, const char *method,
                                  const char *body, cJSON **reply)
{
    char path[700];
    snprintf(path, sizeof(path), "/v1/%s:%s", session, method);
    return unit_spanner_call(svc, "POST", path, body, reply);
}

/* A new session of the database at database_path ("/v1/projects/.../databases/d"). */
static void unit_spanner_new_session(struct em_service *svc, const char *database_path,
                                     char out[512])
{
    char path[600];
    cJSON *reply;
    snprintf(path, sizeof(path), "%s/sessions", database_path);
    assert_int_equal(unit_spanner_call(svc, "POST", path, "{}", &reply), 200);
    snprintf(out, 512, "%s", cJSON_GetObjectItem(reply, "name")->valuestring);
    cJSON_Delete(reply);
}

/* The service on a fresh data directory (cfg filled), with the instance
 * projects/unit-project/instances/inst and its database db made of statements (the items
 * of a JSON array, escaped for a JSON string); -1 when it cannot start. */
static int unit_spanner_start(struct em_config *cfg, struct em_service **svc,
                              const char *statements)
{
    struct em_status st = {0};
    bool help;
    char *args[] = {"test", NULL};
    em_log_init("test", EM_LOG_ERROR);
    if (em_config_load(cfg, 1, args, &help, &st) ||
        em_make_temp_dir(cfg->data_dir, sizeof(cfg->data_dir), &st) ||
        em_service_open(&spanner_service, cfg, svc, &st))
        return -1;
    assert_int_equal(
        unit_spanner_call(
            *svc, "POST", "/v1/projects/unit-project/instances",
            "{\"instanceId\":\"inst\",\"instance\":{\"config\":\"projects/unit-project/"
            "instanceConfigs/emulator-config\",\"displayName\":\"Unit test\"}}",
            NULL),
        200);
    char *body = malloc(strlen(statements) + 100);
    assert_non_null(body);
    sprintf(body, "{\"createStatement\":\"CREATE DATABASE db\",\"extraStatements\":%s}",
            statements);
    assert_int_equal(unit_spanner_call(*svc, "POST",
                                       "/v1/projects/unit-project/instances/inst/databases", body,
                                       NULL),
                     200);
    free(body);
    return 0;
}

/* Closes the service and removes its data directory. */
static void unit_spanner_stop(struct em_config *cfg, struct em_service *svc)
{
    em_service_close(svc);
    em_remove_tree(cfg->data_dir);
}

#endif
