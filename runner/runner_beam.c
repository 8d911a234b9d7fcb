/*
 * runner_beam: writes a pipeline as an Apache Beam Python program (see runner_beam.h).
 */
#include "runner_beam.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* runner/beam_prelude.py as C string literals, made by the Makefile from the file */
static const char prelude[] = ""
#include "runner_beam_prelude.inc"
    ;

struct text {
    char *buf;
    size_t len, cap;
    bool oom;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->oom || n < 0)
        return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = (t->len + (size_t)n + 1) * 2;
        char *bigger = realloc(t->buf, cap);
        if (!bigger) {
            t->oom = true;
            return;
        }
        t->buf = bigger;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* text as a double-quoted Python string literal. */
static void put_py_string(struct text *t, const char *text)
{
    put(t, "\"");
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '\\' || *c == '"')
            put(t, "\\%c", *c);
        else if (*c < 0x20 || *c == 0x7f)
            put(t, "\\x%02x", *c);
        else
            put(t, "%c", *c);
    }
    put(t, "\"");
}

/* The step's JSON object as `json.loads("...")`. */
static void put_spec(struct text *t, const struct rn_step *step)
{
    char *json = cJSON_PrintUnformatted(step->spec);
    if (!json) {
        t->oom = true;
        return;
    }
    put(t, "json.loads(");
    put_py_string(t, json);
    put(t, ")");
    free(json);
}

/* Whether a transform has a dead-letter output in the prelude. */
static bool has_failed_output(enum rn_kind kind)
{
    switch (kind) {
    case RN_PARSE_JSON:
    case RN_EXTRACT_FIELD:
    case RN_RENAME_FIELDS:
    case RN_MAP:
    case RN_FLAT_MAP:
    case RN_FILTER:
    case RN_KEY_BY:
    case RN_DECRYPT_ENVELOPE:
    case RN_VERIFY_SIGNATURE:
        return true;
    default:
        return false;
    }
}

/* A sink returns the elements it could not write: its dead-letter output. */
static bool is_sink(enum rn_kind kind)
{
    return kind == RN_WRITE_BIGTABLE || kind == RN_WRITE_SPANNER;
}

static bool failed_output_read(const struct rn_pipeline *p, int step)
{
    for (int i = step + 1; i < p->count; i++)
        if (p->steps[i].input == step && p->steps[i].input_port == 1)
            return true;
    return false;
}

/* The function of the prelude that a stateless step calls. */
static const char *stateless_fn(enum rn_kind kind)
{
    if (kind == RN_DECRYPT_ENVELOPE)
        return "DecryptEnvelope";
    if (kind == RN_VERIFY_SIGNATURE)
        return "VerifySignature";
    return "stateless";
}

static void put_step(struct text *t, const struct rn_pipeline *p, int i)
{
    const struct rn_step *step = &p->steps[i];
    char input[RN_STEP_NAME_MAX + 16] = "";
    if (step->input >= 0)
        snprintf(input, sizeof(input), "out[\"%s%s\"]", p->steps[step->input].name,
                 step->input_port ? ".failed" : "");
    put(t, "    # %s (%s)\n    ", step->name, rn_kind_name(step->kind));
    if (step->kind == RN_READ_TEXT || step->kind == RN_READ_PUBSUB)
        put(t, "out[\"%s\"] = %s(p, ", step->name, rn_kind_name(step->kind));
    else if (has_failed_output(step->kind))
        put(t, "out[\"%s\"], out[\"%s.failed\"] = %s(%s, ", step->name, step->name,
            stateless_fn(step->kind), input);
    else if (step->kind == RN_WRITE_TEXT || step->kind == RN_WRITE_PUBSUB)
        put(t, "%s(%s, ", rn_kind_name(step->kind), input);
    else if (is_sink(step->kind)) /* its output: the elements it could not write */
        put(t, "out[\"%s.failed\"] = %s(%s, ", step->name, rn_kind_name(step->kind), input);
    else
        put(t, "out[\"%s\"] = %s(%s, ", step->name, rn_kind_name(step->kind), input);
    put_spec(t, step);
    put(t, step->kind == RN_WRITE_TEXT ? ", streaming)\n" : ")\n");
    if (!has_failed_output(step->kind) && !is_sink(step->kind) && failed_output_read(p, i))
        put(t, "    out[\"%s.failed\"] = p | \"%s.failed\" >> beam.Create([])\n", step->name,
            step->name);
}

enum em_code rn_beam_export(const struct rn_pipeline *p, const char *source, char **program,
                            struct em_status *st)
{
    struct text t = {0};
    *program = NULL;
    put(&t, "# An Apache Beam (Python SDK) program written by bin/emulator-export-beam from\n");
    put(&t, "# %s: the same steps as the emulator's runner.\n", source);
    put(&t, "#   python3 this.py --runner DataflowRunner --project P --region R "
            "--temp_location gs://b/tmp\n");
    put(&t, "# Needs apache-beam[gcp] (its Bigtable and Spanner clients for the sinks); envelope\n"
            "# steps also google-cloud-kms and cryptography.\n");
    put(&t, "%s", prelude);
    put(&t, "\n\nSTREAMING = %s\n\n\ndef build(p, streaming):\n    out = {}\n",
        p->streaming ? "True" : "False");
    for (int i = 0; i < p->count; i++)
        put_step(&t, p, i);
    put(&t, "    return out\n\n\n"
            "def main(argv=None):\n"
            "    opts = options(argv)\n"
            "    opts.view_as(StandardOptions).streaming = STREAMING\n"
            "    with beam.Pipeline(options=opts) as p:\n"
            "        build(p, STREAMING)\n\n\n"
            "if __name__ == \"__main__\":\n"
            "    main()\n");
    if (t.oom) {
        free(t.buf);
        return EM_FAIL_OOM(st);
    }
    *program = t.buf;
    return EM_OK;
}
