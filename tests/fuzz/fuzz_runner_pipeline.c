/*
 * fuzz_runner_pipeline: arbitrary text as a JSON pipeline (runner_pipeline.h): parsed and
 * validated with a fixed set of launch parameters, and, when valid, a few elements run
 * through each of its stateless steps and folded into its grouping steps' accumulators
 * (runner_elements.h, runner_state.h). Nothing may crash or leak, and every refusal must
 * carry INVALID_ARGUMENT with a message.
 */
#include "fuzz_text.h"
#include "runner/runner_elements.h"
#include "runner/runner_pipeline.h"
#include "runner/runner_state.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const inputs[] = {"the quick brown fox", "", "{\"user\":\"ann\",\"n\":3}", "42",
                                     "[1,2]"};

static void run_element(const struct rn_pipeline *p, struct rn_state *state, int i,
                        const char *text)
{
    const struct rn_step *step = &p->steps[i];
    struct rn_elem e = rn_elem_make(cJSON_CreateString(text), 61000000000LL);
    e.attrs = cJSON_CreateObject();
    cJSON_AddStringToObject(e.attrs, "lang", "en");
    e.key = cJSON_CreateString("k");
    struct rn_batch out = {0}, failed = {0};
    bool oom = false;
    if (rn_step_is_stateful(step))
        rn_state_add(state, step, i, &e, &oom);
    else if (step->kind != RN_WRITE_PUBSUB && step->kind != RN_READ_TEXT &&
             step->kind != RN_READ_PUBSUB)
        rn_apply_stateless(step, &e, &out, &failed);
    rn_batch_clear(&out);
    rn_batch_clear(&failed);
    rn_elem_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "in", "gs://fuzz-bucket/in.txt");
    struct rn_pipeline *p = NULL;
    struct em_status st = {0};
    if (rn_pipeline_parse(text, params, &p, &st) == EM_OK) {
        struct rn_state *state = rn_state_new();
        for (int i = 0; state && i < p->count; i++)
            for (size_t k = 0; k < sizeof(inputs) / sizeof(inputs[0]); k++)
                run_element(p, state, i, inputs[k]);
        rn_state_free(state);
        rn_pipeline_free(p);
    } else if (st.code != EM_INVALID_ARGUMENT || !st.message[0]) {
        abort();
    }
    cJSON_Delete(params);
    free(text);
    return 0;
}
