/*
 * fuzz_runner_envelope: arbitrary message attributes and data through seed 002's envelope
 * transforms (runner_envelope.h). The input's first line is the attributes (JSON), the
 * rest the element's value; both DecryptEnvelope and VerifySignature run on it with a
 * stand-in for KMS (XOR "unwrapping", so any 32-byte wrapped key opens). Nothing may crash
 * or leak, and every element must come out exactly once: decrypted/verified, or a dead
 * letter with an error_reason.
 */
#include "fuzz_text.h"
#include "runner/runner_envelope.h"
#include "runner/runner_pipeline.h"

#include "em_json.h"

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool xor_unwrap(void *arg, const char *key_name, const unsigned char *wrapped,
                       size_t wrapped_len, unsigned char dek[EM_AES_KEY_BYTES],
                       const char **reason_code, char *message, size_t message_len)
{
    (void)arg;
    (void)key_name;
    if (wrapped_len != EM_AES_KEY_BYTES) {
        *reason_code = "BAD_WRAPPED_KEY";
        snprintf(message, message_len, "bad ciphertext");
        return false;
    }
    for (size_t i = 0; i < EM_AES_KEY_BYTES; i++)
        dek[i] = wrapped[i] ^ 0x5a;
    return true;
}

static const char pipeline[] =
    "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadPubSub\",\"topic\":\"projects/p/topics/t\","
    "\"binary\":true},{\"name\":\"d\",\"transform\":\"DecryptEnvelope\",\"input\":\"r\"},"
    "{\"name\":\"v\",\"transform\":\"VerifySignature\",\"input\":\"r\"}]}";

static void run_step(struct rn_envelope *env, const struct rn_step *step, const cJSON *attrs,
                     const char *value)
{
    struct rn_elem e = rn_elem_make(cJSON_CreateString(value), 0);
    e.attrs = attrs ? cJSON_Duplicate(attrs, true) : NULL;
    struct rn_batch out = {0}, failed = {0};
    if (rn_envelope_apply(env, step, &e, 0, &out, &failed) == RN_ENVELOPE_DONE) {
        if (out.count + failed.count != 1)
            abort();
        if (failed.count && !em_json_string(failed.items[0].attrs, "error_reason"))
            abort();
    }
    rn_batch_clear(&out);
    rn_batch_clear(&failed);
    rn_elem_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    char *newline = strchr(text, '\n');
    const char *value = newline ? newline + 1 : "";
    if (newline)
        *newline = '\0';
    cJSON *attrs = cJSON_Parse(text);
    struct rn_pipeline *p = NULL;
    struct em_status st = {0};
    struct rn_envelope *env = rn_envelope_new(NULL, NULL);
    if (env && rn_pipeline_parse(pipeline, NULL, &p, &st) == EM_OK) {
        env->unwrap = xor_unwrap;
        for (int i = 1; i < p->count; i++)
            run_step(env, &p->steps[i], attrs, value);
    }
    rn_pipeline_free(p);
    rn_envelope_free(env);
    cJSON_Delete(attrs);
    free(text);
    return 0;
}
