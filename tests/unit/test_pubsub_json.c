/*
 * Unit tests of pubsub_json's request reading: how a Subscription body's policies become
 * the model, where "given but empty" and "left out" mean different things in Google's API
 * (an expirationPolicy without a ttl never expires, a ttl of "0s" is below the 1-day
 * minimum; a deadLetterPolicy without its topic is a policy naming no topic, not none;
 * schemaSettings without a schema likewise).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_log.h"
#include "pubsub/pubsub_json.h"

#include <stdio.h>
#include <string.h>

#define TOPIC "projects/test-proj/topics/t-1"

/* Reads a Subscription body; the code, and the config in *cfg on success. */
static enum em_code read_sub(const char *json, struct ps_sub_config *cfg, struct em_status *st)
{
    cJSON *body = cJSON_Parse(json);
    assert_non_null(body);
    enum em_code code = ps_json_read_sub(body, cfg, st);
    cJSON_Delete(body);
    return code;
}

static void test_expiration_policy_ttl(void **state)
{
    (void)state;
    struct em_status st = {0};
    struct ps_sub_config cfg;
    assert_int_equal(read_sub("{\"topic\":\"" TOPIC "\"}", &cfg, &st), EM_OK);
    assert_true(cfg.ttl_ns == PS_DURATION_UNSET); /* the default 31 days, filled later */
    ps_sub_config_free(&cfg);
    assert_int_equal(read_sub("{\"expirationPolicy\":{}}", &cfg, &st), EM_OK);
    assert_true(cfg.ttl_ns == 0); /* never expires */
    ps_sub_config_free(&cfg);
    assert_int_equal(read_sub("{\"expirationPolicy\":{\"ttl\":\"86400s\"}}", &cfg, &st), EM_OK);
    assert_true(cfg.ttl_ns == 86400LL * EM_NS_PER_SEC);
    ps_sub_config_free(&cfg);
    /* "0s" is a ttl below the minimum, not "never": refused, naming the field */
    static const char *const zero[] = {"0s", "0.000s", "-0s"};
    for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
        char json[80];
        snprintf(json, sizeof(json), "{\"expirationPolicy\":{\"ttl\":\"%s\"}}", zero[i]);
        assert_int_equal(read_sub(json, &cfg, &st), EM_INVALID_ARGUMENT);
        assert_non_null(strstr(st.message, "expiration_policy.ttl"));
    }
}

static void test_dead_letter_policy_without_topic(void **state)
{
    (void)state;
    struct em_status st = {0};
    struct ps_sub_config cfg;
    assert_int_equal(read_sub("{\"deadLetterPolicy\":null}", &cfg, &st), EM_OK);
    assert_null(cfg.dead_letter_topic); /* no policy */
    ps_sub_config_free(&cfg);
    /* a policy given without its topic is kept as naming "", for the check to refuse */
    assert_int_equal(read_sub("{\"deadLetterPolicy\":{\"maxDeliveryAttempts\":7}}", &cfg, &st),
                     EM_OK);
    assert_string_equal(cfg.dead_letter_topic, "");
    assert_int_equal(cfg.max_delivery_attempts, 7);
    ps_sub_config_free(&cfg);
    assert_int_equal(read_sub("{\"deadLetterPolicy\":{}}", &cfg, &st), EM_OK);
    assert_string_equal(cfg.dead_letter_topic, "");
    ps_sub_config_free(&cfg);
    assert_int_equal(
        read_sub("{\"deadLetterPolicy\":{\"deadLetterTopic\":\"" TOPIC "\"}}", &cfg, &st), EM_OK);
    assert_string_equal(cfg.dead_letter_topic, TOPIC);
    ps_sub_config_free(&cfg);
}

static void test_schema_settings_without_schema(void **state)
{
    (void)state;
    struct em_status st = {0};
    struct ps_topic_config cfg;
    static const char *const given[] = {"{\"schemaSettings\":{}}",
                                        "{\"schemaSettings\":{\"encoding\":\"JSON\"}}",
                                        "{\"schemaSettings\":{\"schema\":\"\"}}"};
    for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++) {
        cJSON *body = cJSON_Parse(given[i]);
        assert_int_equal(ps_json_read_topic(body, &cfg, &st), EM_OK);
        assert_string_equal(cfg.schema.schema, ""); /* for the check to refuse */
        ps_topic_config_free(&cfg);
        cJSON_Delete(body);
    }
    cJSON *body = cJSON_Parse("{\"schemaSettings\":null}");
    assert_int_equal(ps_json_read_topic(body, &cfg, &st), EM_OK);
    assert_null(cfg.schema.schema); /* none */
    ps_topic_config_free(&cfg);
    cJSON_Delete(body);
}

int main(void)
{
    em_log_init("test", EM_LOG_WARNING);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expiration_policy_ttl),
        cmocka_unit_test(test_dead_letter_policy_without_topic),
        cmocka_unit_test(test_schema_settings_without_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
