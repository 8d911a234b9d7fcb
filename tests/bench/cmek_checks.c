/*
 * cmek_checks: how long one round of CMEK key checks takes for N protected resources
 * (the target, README "Performance": 10,000 resources checked within one second of
 * emulator-time advance). A real KMS runs in this process behind its HTTP server on 127.0.0.1; a
 * test service protects N resources with one key through the engine, then the clock
 * moves past the check interval and the round (N KMS decrypts over REST, 32 in flight)
 * is timed.
 *
 *   cmek_checks <port base> <resources>
 */
#include "em_call.h"
#include "em_clock.h"
#include "em_cmek.h"
#include "em_config.h"
#include "em_http.h"
#include "em_json.h"
#include "em_log.h"
#include "em_service.h"
#include "kms/kms_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING "projects/bench-project/locations/global/keyRings/ring"

static const struct em_service_desc bench_desc = {
    .name = "benchsvc", .port = 2, .google_service = "bench.googleapis.com"};
static const struct em_service_def bench_service = {.desc = &bench_desc};

static void kms_post(struct em_service *kms, const char *path, const char *key, const char *value,
                     const char *body)
{
    struct em_call call = {.method = "POST",
                           .path = path,
                           .body_text = body,
                           .body_len = strlen(body),
                           .svc = kms,
                           .query_count = 1};
    call.query[0] = (struct em_query_arg){key, value};
    em_dispatch(kms->router, &call);
    if (call.http_status != 200) {
        fprintf(stderr, "cmek_checks: %s: %s\n", path, call.response);
        exit(1);
    }
    em_call_reset(&call);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void fail(const char *what, const struct em_status *st)
{
    fprintf(stderr, "cmek_checks: %s: %s\n", what, st->message);
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <port base> <resources>\n", argv[0]);
        return 2;
    }
    struct em_config cfg;
    struct em_status st = {0};
    bool help;
    char *args[] = {argv[0], NULL};
    em_log_init("bench", EM_LOG_ERROR);
    if (em_config_load(&cfg, 1, args, &help, &st) ||
        em_make_temp_dir(cfg.data_dir, sizeof(cfg.data_dir), &st))
        fail("config", &st);
    cfg.port_base = atoi(argv[1]);
    int count = atoi(argv[2]);
    struct em_service *kms, *svc;
    struct em_cmek *cmek;
    struct em_http_options opt = {"127.0.0.1", cfg.port_base + EM_PORT_KMS, 4, 1 << 20};
    if (em_service_open(&kms_service, &cfg, &kms, &st) ||
        em_http_start(&opt, kms->router, kms, &kms->http, &st) ||
        em_service_open(&bench_service, &cfg, &svc, &st) ||
        em_cmek_open(svc, "gcp-sa-bench", NULL, &cmek, &st))
        fail("start", &st);
    kms_post(kms, "/v1/projects/bench-project/locations/global/keyRings", "keyRingId", "ring",
             "{}");
    kms_post(kms, "/v1/" RING "/cryptoKeys", "cryptoKeyId", "key",
             "{\"purpose\":\"ENCRYPT_DECRYPT\"}");

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < count; i++) {
        char name[128];
        snprintf(name, sizeof(name), "projects/bench-project/topics/t%d", i);
        if (em_cmek_protect(cmek, name, "bench-project", RING "/cryptoKeys/key", &st))
            fail("protect", &st);
    }
    double protect_s = seconds_since(&start);

    int64_t offset;
    if (em_clock_advance(svc->store, cfg.key_check_interval_s * EM_NS_PER_SEC, &offset, &st))
        fail("advance", &st);
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (em_service_tick(svc, false, &st)) /* the control plane's tick: the checks run */
        fail("tick", &st);
    double check_s = seconds_since(&start);

    struct em_cmek_info info;
    em_cmek_info(cmek, "projects/bench-project/topics/t0", &info);
    printf("%-46s %12d\n", "protected resources (one KMS key)", count);
    printf("%-46s %11.2fs\n", "protecting them (one KMS encrypt each)", protect_s);
    printf("%-46s %11.2fs\n", "one round of key checks after clock:advance", check_s);
    printf("state after the round: %s; %d checks/s; target (10,000 within 1 s): %s\n",
           em_cmek_state_name(info.state), (int)(count / check_s),
           count >= 10000 && check_s <= 1.0 ? "MET" : (count < 10000 ? "n/a" : "NOT MET"));
    em_service_close(svc);
    em_service_close(kms);
    em_remove_tree(cfg.data_dir);
    return 0;
}
