/*
 * fuzz_service.h: what the request fuzz targets share. A target opens one service with
 * fuzz_service_open() (a real service on a temporary data directory, removed at exit)
 * and feeds each input to fuzz_service_request(), which reads it as
 *
 *   "METHOD PATH[?a=b&c=d]\n" followed by the body
 *
 * and runs it through em_dispatch() exactly as the HTTP layer would, without sockets.
 * Header-only (static functions) so `make fuzz` can build each target from one file.
 *
 * A target's libFuzzer entry points come from one line,
 *
 *   FUZZ_SERVICE_TARGET(kms_service, NULL, create_fixtures)
 *
 * which opens the service, lets an optional function adjust it, creates the target's
 * fixtures (what inputs should find: a key ring, a topic ...), runs every input, and
 * resets the service and creates the fixtures again every FUZZ_RESET_EVERY inputs so
 * memory stays bounded.
 */
#ifndef FUZZ_SERVICE_H
#define FUZZ_SERVICE_H

#include "em_call.h"
#include "em_log.h"
#include "em_service.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_RESET_EVERY 500

static struct em_service *fuzz_svc;
static char fuzz_data_dir[PATH_MAX];

static void fuzz_service_cleanup(void)
{
    em_service_close(fuzz_svc);
    em_remove_tree(fuzz_data_dir);
}

/* Opens def on a fresh temporary directory; aborts when it cannot. */
static struct em_service *fuzz_service_open(const struct em_service_def *def)
{
    struct em_config cfg;
    struct em_status st = {0};
    bool help;
    char *args[] = {"fuzz", NULL};
    em_log_init("fuzz", EM_LOG_ERROR);
    if (em_config_load(&cfg, 1, args, &help, &st) ||
        em_make_temp_dir(cfg.data_dir, sizeof(cfg.data_dir), &st) ||
        em_service_open(def, &cfg, &fuzz_svc, &st))
        abort();
    snprintf(fuzz_data_dir, sizeof(fuzz_data_dir), "%s", cfg.data_dir);
    atexit(fuzz_service_cleanup);
    return fuzz_svc;
}

/* Runs one call: method, path, one optional query argument, body. */
static void fuzz_service_call(const char *method, const char *path, const char *query_key,
                              const char *query_value, const char *body)
{
    struct em_call c = {0};
    c.method = method;
    c.path = path;
    if (query_key) {
        c.query[0] = (struct em_query_arg){query_key, query_value};
        c.query_count = 1;
    }
    c.body_text = body;
    c.body_len = body ? strlen(body) : 0;
    c.svc = fuzz_svc;
    em_dispatch(fuzz_svc->router, &c);
    em_call_reset(&c);
}

/* Splits "a=b&c=d" in place into the call's query arguments. */
static void fuzz_split_query(char *query, struct em_call *c)
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

/* Runs a fuzz input ("METHOD PATH?QUERY\nBODY") through the dispatcher. */
static void fuzz_service_request(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return;
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
            fuzz_split_query(question + 1, &c);
        }
        c.body_text = body;
        c.body_len = body ? size - (size_t)(body - text) : 0;
        c.svc = fuzz_svc;
        em_dispatch(fuzz_svc->router, &c);
        em_call_reset(&c);
    }
    free(text);
}

/* LLVMFuzzerInitialize: opens def, adjusts it (configure may be NULL), creates fixtures. */
static void fuzz_service_start(const struct em_service_def *def,
                               void (*configure)(struct em_service *svc), void (*fixtures)(void))
{
    struct em_service *svc = fuzz_service_open(def);
    if (configure)
        configure(svc);
    fixtures();
}

/* LLVMFuzzerTestOneInput: runs the input through request (fuzz_service_request or a target's
 * own rewriting of it); every FUZZ_RESET_EVERY inputs, a fresh state. */
static void fuzz_service_input(const uint8_t *data, size_t size, void (*fixtures)(void),
                               void (*request)(const uint8_t *data, size_t size))
{
    static unsigned runs;
    request(data, size);
    if (++runs % FUZZ_RESET_EVERY == 0) {
        struct em_status st = {0};
        fuzz_svc->def->reset(fuzz_svc, &st);
        fixtures();
    }
}

/* The two libFuzzer entry points of a request target (see the top of this file). */
#define FUZZ_SERVICE_TARGET(def, configure, fixtures)                                              \
    FUZZ_SERVICE_TARGET_REQUEST(def, configure, fixtures, fuzz_service_request)

/* The same, with the target's own request function (which ends in fuzz_service_request). */
#define FUZZ_SERVICE_TARGET_REQUEST(def, configure, fixtures, request)                             \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                                              \
    {                                                                                              \
        (void)argc;                                                                                \
        (void)argv;                                                                                \
        fuzz_service_start(&(def), (configure), (fixtures));                                       \
        return 0;                                                                                  \
    }                                                                                              \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                   \
    {                                                                                              \
        fuzz_service_input(data, size, (fixtures), (request));                                     \
        return 0;                                                                                  \
    }

#endif
