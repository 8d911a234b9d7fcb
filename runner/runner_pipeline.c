/*
 * runner_pipeline: parsing and validation of the JSON pipeline format (see
 * runner_pipeline.h and docs/pipelines.md). Parameters are substituted first, then each
 * step is checked on its own (transform known, fields present and well-formed, regexes
 * compiled by RE2) and against the steps before it (input exists, windows before grouping in
 * a streaming pipeline).
 */
#include "runner_pipeline.h"

#include "runner_io.h"
#include "runner_sinks.h"

#include "em_json.h"
#include "em_regex.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARAM_TEXT_MAX (64 * 1024)

struct kind_name {
    const char *name;
    enum rn_kind kind;
};

static const struct kind_name kinds[] = {
    {"ReadText", RN_READ_TEXT},
    {"ReadPubSub", RN_READ_PUBSUB},
    {"WriteText", RN_WRITE_TEXT},
    {"WritePubSub", RN_WRITE_PUBSUB},
    {"ParseJson", RN_PARSE_JSON},
    {"ExtractField", RN_EXTRACT_FIELD},
    {"RenameFields", RN_RENAME_FIELDS},
    {"Map", RN_MAP},
    {"FlatMap", RN_FLAT_MAP},
    {"Filter", RN_FILTER},
    {"KeyBy", RN_KEY_BY},
    {"Window", RN_WINDOW},
    {"GroupByKey", RN_GROUP_BY_KEY},
    {"CountPerElement", RN_COUNT_PER_ELEMENT},
    {"Combine", RN_COMBINE},
    {"WriteBigtable", RN_WRITE_BIGTABLE},
    {"WriteSpanner", RN_WRITE_SPANNER},
    {"DecryptEnvelope", RN_DECRYPT_ENVELOPE},
    {"VerifySignature", RN_VERIFY_SIGNATURE},
};

struct fn_name {
    const char *name;
    enum rn_kind kind;
    enum rn_fn fn;
};

static const struct fn_name fns[] = {
    {"lowercase", RN_MAP, RN_FN_LOWERCASE},
    {"uppercase", RN_MAP, RN_FN_UPPERCASE},
    {"trim", RN_MAP, RN_FN_TRIM},
    {"format", RN_MAP, RN_FN_FORMAT},
    {"split_words", RN_FLAT_MAP, RN_FN_SPLIT_WORDS},
    {"split", RN_FLAT_MAP, RN_FN_SPLIT},
    {"matches", RN_FILTER, RN_FN_MATCHES},
    {"contains", RN_FILTER, RN_FN_CONTAINS},
    {"not_empty", RN_FILTER, RN_FN_NOT_EMPTY},
    {"attribute_matches", RN_FILTER, RN_FN_ATTRIBUTE_MATCHES},
    {"sum", RN_COMBINE, RN_FN_SUM},
    {"count", RN_COMBINE, RN_FN_COUNT},
    {"mean", RN_COMBINE, RN_FN_MEAN},
    {"min", RN_COMBINE, RN_FN_MIN},
    {"max", RN_COMBINE, RN_FN_MAX},
    {"top", RN_COMBINE, RN_FN_TOP},
};

const char *rn_kind_name(enum rn_kind kind)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (kinds[i].kind == kind)
            return kinds[i].name;
    return "?";
}

bool rn_step_is_stateful(const struct rn_step *step)
{
    return step->kind == RN_GROUP_BY_KEY || step->kind == RN_COUNT_PER_ELEMENT ||
           step->kind == RN_COMBINE || step->kind == RN_WRITE_TEXT;
}

/* --- parameters --- */

/* The value of parameter name: the launch parameter, else the declared default. */
static const char *param_value(const cJSON *declared, const cJSON *params, const char *name)
{
    const char *given = params ? em_json_string(params, name) : NULL;
    if (given)
        return given;
    const cJSON *decl = cJSON_GetObjectItemCaseSensitive(declared, name);
    return decl ? em_json_string(decl, "default") : NULL;
}

/* Replaces every ${name} of text into out (malloc'd). */
static enum em_code substitute_text(const char *text, const cJSON *declared, const cJSON *params,
                                    char **out, struct em_status *st)
{
    size_t cap = strlen(text) + 1, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return EM_FAIL_OOM(st);
    for (const char *p = text; *p;) {
        const char *val = NULL, *end = NULL;
        char name[128];
        if (p[0] == '$' && p[1] == '{' && (end = strchr(p + 2, '}')) &&
            (size_t)(end - p - 2) < sizeof(name)) {
            memcpy(name, p + 2, (size_t)(end - p - 2));
            name[end - p - 2] = '\0';
            if (!(val = param_value(declared, params, name))) {
                free(buf);
                return EM_FAIL(st, EM_INVALID_ARGUMENT,
                               "The template parameters are invalid: parameter '%s' is required "
                               "and has no value.",
                               name);
            }
        }
        const char *piece = val ? val : p;
        size_t piece_len = val ? strlen(val) : 1;
        if (len + piece_len + 1 > cap) {
            cap = (len + piece_len + 1) * 2;
            if (cap > PARAM_TEXT_MAX) {
                free(buf);
                return EM_FAIL(st, EM_INVALID_ARGUMENT, "A pipeline string is too long.");
            }
            char *bigger = realloc(buf, cap);
            if (!bigger) {
                free(buf);
                return EM_FAIL_OOM(st);
            }
            buf = bigger;
        }
        memcpy(buf + len, piece, piece_len);
        len += piece_len;
        p = val ? end + 1 : p + 1;
    }
    buf[len] = '\0';
    *out = buf;
    return EM_OK;
}

static enum em_code substitute_tree(cJSON *node, const cJSON *declared, const cJSON *params,
                                    struct em_status *st)
{
    if (cJSON_IsString(node) && strstr(node->valuestring, "${")) {
        char *text = NULL;
        if (substitute_text(node->valuestring, declared, params, &text, st))
            return st->code;
        free(node->valuestring);
        node->valuestring = text;
        return EM_OK;
    }
    for (cJSON *child = node->child; child; child = child->next)
        if (substitute_tree(child, declared, params, st))
            return st->code;
    return EM_OK;
}

/* Launch parameters must be strings the pipeline declares; required ones must be given. */
static enum em_code check_params(const cJSON *declared, const cJSON *params, struct em_status *st)
{
    if (declared && !cJSON_IsObject(declared))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Pipeline field 'parameters' must be an object.");
    const cJSON *p;
    cJSON_ArrayForEach(p, params)
    {
        if (!cJSON_IsString(p) || !cJSON_GetObjectItemCaseSensitive(declared, p->string))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "The template parameters are invalid: unknown parameter '%s'.",
                           p->string);
    }
    const cJSON *d;
    cJSON_ArrayForEach(d, declared)
    {
        bool required = false;
        em_json_bool(d, "required", &required);
        if (required && !param_value(declared, params, d->string))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "The template parameters are invalid: missing required parameter "
                           "'%s'.",
                           d->string);
    }
    return EM_OK;
}

/* --- steps --- */

#define STEP_FAIL(st, step, ...) step_fail((st), (step), __FILE__, __LINE__, __VA_ARGS__)

__attribute__((format(printf, 5, 6))) static enum em_code step_fail(struct em_status *st,
                                                                    const struct rn_step *step,
                                                                    const char *file, int line,
                                                                    const char *fmt, ...)
{
    char detail[EM_STATUS_MESSAGE_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return em_status_set(st, file, line, EM_INVALID_ARGUMENT, "Invalid pipeline: step '%s': %s",
                         step->name, detail);
}

bool rn_duration_parse(const char *text, int64_t *ns)
{
    char *end;
    if (!text || !isdigit((unsigned char)*text))
        return false;
    long long n = strtoll(text, &end, 10);
    int64_t unit = EM_NS_PER_SEC;
    if (*end == 'm')
        unit *= 60;
    else if (*end == 'h')
        unit *= 3600;
    else if (*end == 'd')
        unit *= 86400;
    else if (*end != 's' && *end != '\0')
        return false;
    if (*end && end[1])
        return false;
    if (n <= 0 || n > 366LL * 86400)
        return false;
    *ns = (int64_t)n * unit;
    return true;
}

static const char *field_text(const struct rn_step *step, const char *key)
{
    const char *text = em_json_string(step->spec, key);
    return text && *text ? text : NULL;
}

static enum em_code need_text(const struct rn_step *step, const char *key, const char **out,
                              struct em_status *st)
{
    if (!(*out = field_text(step, key)))
        return STEP_FAIL(st, step, "field '%s' is required (a non-empty string).", key);
    return EM_OK;
}

/* --- regexes --- */

/* A step's "pattern": RE2's syntax in UTF-8 mode (the templates' Java regular expressions
 * less backreferences and lookaround), matched in time linear in the text. */
static enum em_code compile_regex(struct rn_step *step, const char *pattern, struct em_status *st)
{
    struct em_status why = {0};
    enum em_code rc = em_regex_compile_as((const uint8_t *)pattern, strlen(pattern), EM_REGEX_UTF8,
                                          &step->regex, &why);
    if (rc == EM_INVALID_ARGUMENT)
        return STEP_FAIL(st, step, "field 'pattern' is not a valid regular expression: %.300s.",
                         why.message);
    if (rc)
        *st = why;
    return rc;
}

static enum em_code parse_fn(struct rn_step *step, struct em_status *st)
{
    const char *name;
    if (need_text(step, "fn", &name, st))
        return st->code;
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        if (fns[i].kind == step->kind && strcmp(fns[i].name, name) == 0) {
            step->fn = fns[i].fn;
            return EM_OK;
        }
    }
    return STEP_FAIL(st, step, "unknown fn '%s' for %s.", name, rn_kind_name(step->kind));
}

static enum em_code parse_fn_args(struct rn_step *step, struct em_status *st)
{
    const char *pattern;
    switch (step->fn) {
    case RN_FN_FORMAT:
        return need_text(step, "template", &step->format, st);
    case RN_FN_SPLIT:
    case RN_FN_CONTAINS:
        return need_text(step, "pattern", &pattern, st) ? st->code
                                                        : compile_regex(step, pattern, st);
    case RN_FN_MATCHES:
        return need_text(step, "pattern", &pattern, st) ? st->code
                                                        : compile_regex(step, pattern, st);
    case RN_FN_ATTRIBUTE_MATCHES:
        if (need_text(step, "attribute", &step->attribute, st))
            return st->code;
        /* no pattern: only elements without the attribute pass (Google's template) */
        pattern = field_text(step, "pattern");
        return pattern ? compile_regex(step, pattern, st) : EM_OK;
    case RN_FN_TOP: {
        int64_t n = 0;
        if (!em_json_int64(step->spec, "n", &n) || n < 1 || n > 1000)
            return STEP_FAIL(st, step, "field 'n' must be a number from 1 to 1000.");
        step->top = (int)n;
        return EM_OK;
    }
    default:
        return EM_OK;
    }
}

static enum em_code parse_window(struct rn_step *step, struct em_status *st)
{
    const char *type, *size = field_text(step, "size");
    if (need_text(step, "type", &type, st))
        return st->code;
    if (strcmp(type, "fixed") == 0)
        step->window = RN_WINDOW_FIXED;
    else if (strcmp(type, "sliding") == 0)
        step->window = RN_WINDOW_SLIDING;
    else if (strcmp(type, "session") == 0)
        step->window = RN_WINDOW_SESSION;
    else
        return STEP_FAIL(st, step, "field 'type' must be fixed, sliding or session, not '%s'.",
                         type);
    if (step->window == RN_WINDOW_SESSION) {
        if (!rn_duration_parse(field_text(step, "gap"), &step->size_ns))
            return STEP_FAIL(st, step, "field 'gap' must be a duration such as \"30s\".");
    } else if (!rn_duration_parse(size, &step->size_ns)) {
        return STEP_FAIL(st, step, "field 'size' must be a duration such as \"60s\" or \"5m\".");
    }
    if (step->window == RN_WINDOW_SLIDING &&
        (!rn_duration_parse(field_text(step, "period"), &step->period_ns) ||
         step->period_ns > step->size_ns || step->size_ns % step->period_ns != 0))
        return STEP_FAIL(st, step, "field 'period' must be a duration that divides 'size' evenly.");
    if (step->window == RN_WINDOW_SLIDING &&
        step->size_ns / step->period_ns > RN_SLIDING_WINDOWS_MAX)
        return STEP_FAIL(st, step,
                         "a sliding window puts each element in size / period windows: at most "
                         "%d here, not %lld.",
                         RN_SLIDING_WINDOWS_MAX, (long long)(step->size_ns / step->period_ns));
    const char *lateness = field_text(step, "allowedLateness");
    if (lateness && !rn_duration_parse(lateness, &step->lateness_ns))
        return STEP_FAIL(st, step, "field 'allowedLateness' must be a duration such as \"60s\".");
    return EM_OK;
}

static enum em_code parse_shards(struct rn_step *step, struct em_status *st)
{
    step->shards = 1;
    const cJSON *shards = cJSON_GetObjectItemCaseSensitive(step->spec, "shards");
    if (!shards)
        return EM_OK;
    int64_t n = 0;
    if (!em_json_value_int64(shards, &n) || n < 1 || n > 1000)
        return STEP_FAIL(st, step, "field 'shards' must be a number from 1 to 1000.");
    step->shards = (int)n;
    return EM_OK;
}

/* "projects/<project>/<collection>/<id>", both IDs starting with a letter or a digit: the
 * job's REST calls (which carry the stack's credential) put the name in their path, where
 * a ".." segment would climb out of it. */
static bool valid_pubsub_name(const char *name, const char *collection)
{
    const char *words[] = {"projects", NULL, collection, NULL};
    const char *p = name;
    for (size_t i = 0; i < 4; i++) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || (i == 3) != !end)
            return false;
        if (words[i] ? strlen(words[i]) != len || strncmp(p, words[i], len) != 0
                     : !isalnum((unsigned char)p[0]))
            return false;
        p = end ? end + 1 : p;
    }
    return true;
}

static enum em_code check_pubsub_name(const struct rn_step *step, const char *field,
                                      const char *name, const char *collection,
                                      struct em_status *st)
{
    if (!name || valid_pubsub_name(name, collection))
        return EM_OK;
    return STEP_FAIL(st, step, "field '%s' must be projects/<project>/%s/<id>.", field, collection);
}

/* A gs://bucket/object path (wildcards allowed when reading). */
static enum em_code need_gcs_path(struct rn_step *step, bool glob, struct em_status *st)
{
    char local[PATH_MAX];
    struct em_status bad = {0};
    if (need_text(step, "path", &step->path, st))
        return st->code;
    if (rn_gcs_path("", step->path, "path", glob, local, sizeof(local), &bad))
        return STEP_FAIL(st, step, "%s", bad.message);
    return EM_OK;
}

static enum em_code parse_kind_fields(struct rn_step *step, struct em_status *st)
{
    switch (step->kind) {
    case RN_READ_TEXT:
        if (cJSON_HasObjectItem(step->spec, "watch") &&
            !rn_duration_parse(field_text(step, "watch"), &step->watch_ns))
            return STEP_FAIL(st, step, "field 'watch' must be a duration such as \"10s\".");
        return need_gcs_path(step, true, st);
    case RN_READ_PUBSUB:
        step->subscription = field_text(step, "subscription");
        step->topic = field_text(step, "topic");
        step->timestamp_attribute = field_text(step, "timestampAttribute");
        em_json_bool(step->spec, "binary", &step->binary);
        if (!step->subscription == !step->topic)
            return STEP_FAIL(st, step, "exactly one of 'subscription' and 'topic' is required.");
        if (check_pubsub_name(step, "subscription", step->subscription, "subscriptions", st))
            return st->code;
        return check_pubsub_name(step, "topic", step->topic, "topics", st);
    case RN_WRITE_TEXT:
        step->suffix = field_text(step, "suffix");
        if (!rn_valid_file_suffix(step->suffix))
            return STEP_FAIL(st, step,
                             "field 'suffix' cannot hold '/', '\\', wildcards or control "
                             "characters: it ends a file name.");
        return need_gcs_path(step, false, st) ? st->code : parse_shards(step, st);
    case RN_WRITE_PUBSUB:
        if (need_text(step, "topic", &step->topic, st))
            return st->code;
        return check_pubsub_name(step, "topic", step->topic, "topics", st);
    case RN_EXTRACT_FIELD:
        return need_text(step, "field", &step->field, st);
    case RN_KEY_BY:
        step->field = field_text(step, "field");
        return EM_OK;
    case RN_RENAME_FIELDS: {
        const cJSON *fields = cJSON_GetObjectItemCaseSensitive(step->spec, "fields"), *name;
        if (!cJSON_IsObject(fields))
            return STEP_FAIL(st, step, "field 'fields' must be an object of old: new names.");
        cJSON_ArrayForEach(name, fields)
        {
            if (!cJSON_IsString(name) || !name->valuestring[0])
                return STEP_FAIL(st, step,
                                 "field 'fields': the new name of '%.100s' must be a non-empty "
                                 "string.",
                                 name->string);
        }
        return EM_OK;
    }
    case RN_MAP:
    case RN_FLAT_MAP:
    case RN_FILTER:
    case RN_COMBINE:
        return parse_fn(step, st) ? st->code : parse_fn_args(step, st);
    case RN_WINDOW:
        return parse_window(step, st);
    case RN_WRITE_BIGTABLE:
    case RN_WRITE_SPANNER:
        return rn_sink_parse(step, st);
    default:
        return EM_OK;
    }
}

static const char *const counter_on_names[] = {"input", "output", "empty_input", "dropped"};

static enum em_code parse_counters(struct rn_step *step, struct em_status *st)
{
    const cJSON *counters = cJSON_GetObjectItemCaseSensitive(step->spec, "counters");
    if (!counters)
        return EM_OK;
    if (!cJSON_IsObject(counters))
        return STEP_FAIL(st, step, "field 'counters' must be an object of name: what.");
    const cJSON *c;
    cJSON_ArrayForEach(c, counters)
    {
        struct rn_counter *counter = &step->counters[step->counter_count];
        if (step->counter_count == RN_COUNTERS_MAX || strlen(c->string) >= sizeof(counter->name))
            return STEP_FAIL(st, step, "at most %d counters, names under 64 characters.",
                             RN_COUNTERS_MAX);
        int on = -1;
        for (int i = 0; i < 4 && cJSON_IsString(c); i++)
            if (strcmp(c->valuestring, counter_on_names[i]) == 0)
                on = i;
        if (on < 0)
            return STEP_FAIL(st, step,
                             "counter '%s' must count input, output, empty_input or dropped.",
                             c->string);
        snprintf(counter->name, sizeof(counter->name), "%s", c->string);
        counter->on = (enum rn_counter_on)on;
        step->counter_count++;
    }
    return EM_OK;
}

static bool valid_step_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len >= RN_STEP_NAME_MAX)
        return false;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
            return false;
    return true;
}

static int find_step(const struct rn_pipeline *p, const char *name, size_t len)
{
    for (int i = 0; i < p->count; i++)
        if (strlen(p->steps[i].name) == len && strncmp(p->steps[i].name, name, len) == 0)
            return i;
    return -1;
}

/* "step" or "step.failed": an earlier step's main or dead-letter output. */
static enum em_code link_input(struct rn_pipeline *p, struct rn_step *step, struct em_status *st)
{
    const char *input = em_json_string(step->spec, "input");
    bool source = step->kind == RN_READ_TEXT || step->kind == RN_READ_PUBSUB;
    if (source) {
        step->input = -1;
        return input ? STEP_FAIL(st, step, "a source (%s) takes no 'input'.",
                                 rn_kind_name(step->kind))
                     : EM_OK;
    }
    if (!input)
        return STEP_FAIL(st, step, "field 'input' is required (the name of an earlier step).");
    size_t len = strlen(input);
    const char *dot = strrchr(input, '.');
    if (dot && strcmp(dot, ".failed") == 0) {
        step->input_port = 1;
        len = (size_t)(dot - input);
    }
    if ((step->input = find_step(p, input, len)) < 0)
        return STEP_FAIL(st, step, "input '%s' is not the name of an earlier step.", input);
    return EM_OK;
}

/* The window in force at a step: the nearest Window step upstream. */
static void inherit_window(struct rn_pipeline *p, struct rn_step *step)
{
    if (step->kind == RN_WINDOW)
        return;
    if (step->input < 0) {
        step->window = RN_WINDOW_GLOBAL;
        return;
    }
    const struct rn_step *up = &p->steps[step->input];
    step->window = up->window;
    step->size_ns = up->size_ns;
    step->period_ns = up->period_ns;
    step->lateness_ns = up->lateness_ns;
}

static enum em_code parse_step(struct rn_pipeline *p, const cJSON *spec, struct em_status *st)
{
    struct rn_step *step = &p->steps[p->count];
    memset(step, 0, sizeof(*step));
    step->spec = spec;
    const char *name = cJSON_IsObject(spec) ? em_json_string(spec, "name") : NULL;
    if (!name || !valid_step_name(name))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid pipeline: step %d: field 'name' must be 1 to 63 letters, digits, "
                       "'_' or '-'.",
                       p->count + 1);
    snprintf(step->name, sizeof(step->name), "%s", name);
    if (find_step(p, name, strlen(name)) >= 0)
        return STEP_FAIL(st, step, "another step has this name.");
    const char *transform = em_json_string(spec, "transform");
    size_t k = 0;
    while (k < sizeof(kinds) / sizeof(kinds[0]) && (!transform || strcmp(kinds[k].name, transform)))
        k++;
    if (k == sizeof(kinds) / sizeof(kinds[0]))
        return STEP_FAIL(st, step, "unknown transform '%s'.", transform ? transform : "");
    step->kind = kinds[k].kind;
    p->count++; /* from here on rn_pipeline_free releases its regex */
    if (link_input(p, step, st) || parse_kind_fields(step, st) || parse_counters(step, st))
        return st->code;
    inherit_window(p, step);
    if (p->streaming && rn_step_is_stateful(step) && step->window == RN_WINDOW_GLOBAL)
        return STEP_FAIL(st, step,
                         "%s in a streaming pipeline needs a Window step before it (an unbounded "
                         "input cannot be grouped in the global window).",
                         rn_kind_name(step->kind));
    return EM_OK;
}

/* An unbounded source: Pub/Sub, or text files watched for new ones. */
static bool has_unbounded_source(const cJSON *steps)
{
    const cJSON *s;
    cJSON_ArrayForEach(s, steps)
    {
        const char *t = em_json_string(s, "transform");
        if (t && (strcmp(t, "ReadPubSub") == 0 ||
                  (strcmp(t, "ReadText") == 0 && cJSON_HasObjectItem(s, "watch"))))
            return true;
    }
    return false;
}

static enum em_code parse_root(struct rn_pipeline *p, const cJSON *params, struct em_status *st)
{
    if (!cJSON_IsObject(p->root))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid pipeline: not a JSON object.");
    const cJSON *declared = cJSON_GetObjectItemCaseSensitive(p->root, "parameters");
    if (check_params(declared, params, st))
        return st->code;
    cJSON *steps = cJSON_GetObjectItemCaseSensitive(p->root, "steps");
    if (!cJSON_IsArray(steps) || cJSON_GetArraySize(steps) == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid pipeline: field 'steps' must be a non-empty list.");
    if (cJSON_GetArraySize(steps) > RN_STEPS_MAX)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid pipeline: more than %d steps.",
                       RN_STEPS_MAX);
    if (substitute_tree(steps, declared, params, st))
        return st->code;
    p->streaming = has_unbounded_source(steps);
    const cJSON *s;
    cJSON_ArrayForEach(s, steps)
    {
        if (parse_step(p, s, st))
            return st->code;
    }
    return EM_OK;
}

enum em_code rn_pipeline_parse(const char *text, const cJSON *params, struct rn_pipeline **out,
                               struct em_status *st)
{
    *out = NULL;
    struct rn_pipeline *p = calloc(1, sizeof(*p));
    if (!p)
        return EM_FAIL_OOM(st);
    if (!(p->root = cJSON_Parse(text))) {
        free(p);
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid pipeline: the file is not valid JSON.");
    }
    if (parse_root(p, params, st)) {
        rn_pipeline_free(p);
        return st->code;
    }
    *out = p;
    return EM_OK;
}

void rn_pipeline_free(struct rn_pipeline *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->count; i++)
        em_regex_free(p->steps[i].regex);
    cJSON_Delete(p->root);
    free(p);
}
