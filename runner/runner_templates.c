/*
 * runner_templates: Google's templates as pipelines, and template files (runner_templates.h).
 */
#include "runner_templates.h"

#include "runner_io.h"

#include "em_json.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEMPLATE_FILE_MAX (1024 * 1024)

struct template_param {
    const char *name;
    bool required;
};

struct google_template {
    const char *name;
    const struct template_param *params;
    cJSON *(*build)(const cJSON *params);
};

static const char *param(const cJSON *params, const char *name, const char *fallback)
{
    const char *v = params ? em_json_string(params, name) : NULL;
    return v && *v ? v : fallback;
}

static cJSON *add_step(cJSON *steps, const char *name, const char *transform, const char *input)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "name", name);
    cJSON_AddStringToObject(s, "transform", transform);
    if (input)
        cJSON_AddStringToObject(s, "input", input);
    cJSON_AddItemToArray(steps, s);
    return s;
}

static cJSON *new_pipeline(cJSON **steps)
{
    cJSON *p = cJSON_CreateObject();
    *steps = cJSON_AddArrayToObject(p, "steps");
    return p;
}

/* WordCount: lines -> words ([A-Za-z']+; counter emptyLines) -> counts -> "word: count". */
static cJSON *word_count(const cJSON *params)
{
    cJSON *steps, *p = new_pipeline(&steps);
    cJSON_AddStringToObject(add_step(steps, "ReadLines", "ReadText", NULL), "path",
                            param(params, "inputFile", ""));
    cJSON *words = add_step(steps, "ExtractWords", "FlatMap", "ReadLines");
    cJSON_AddStringToObject(words, "fn", "split_words");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(words, "counters"), "emptyLines",
                            "empty_input");
    add_step(steps, "CountWords", "CountPerElement", "ExtractWords");
    cJSON *format = add_step(steps, "FormatAsText", "Map", "CountWords");
    cJSON_AddStringToObject(format, "fn", "format");
    cJSON_AddStringToObject(format, "template", "{key}: {value}");
    cJSON_AddStringToObject(add_step(steps, "WriteCounts", "WriteText", "FormatAsText"), "path",
                            param(params, "output", ""));
    return p;
}

/* Messages from a subscription to a topic, attributes kept, optionally filtered on one
 * attribute (filterValue a regular expression matched whole). */
static cJSON *pubsub_to_pubsub(const cJSON *params)
{
    cJSON *steps, *p = new_pipeline(&steps);
    cJSON_AddStringToObject(add_step(steps, "ReadPubSubSubscription", "ReadPubSub", NULL),
                            "subscription", param(params, "inputSubscription", ""));
    const char *last = "ReadPubSubSubscription";
    const char *key = param(params, "filterKey", NULL);
    cJSON *counted = cJSON_GetArrayItem(steps, 0);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(counted, "counters"), "inbound-messages",
                            "output");
    if (key) {
        cJSON *filter = add_step(steps, "FilterMessages", "Filter", last);
        cJSON_AddStringToObject(filter, "fn", "attribute_matches");
        cJSON_AddStringToObject(filter, "attribute", key);
        const char *value = param(params, "filterValue", NULL);
        if (value)
            cJSON_AddStringToObject(filter, "pattern", value);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(filter, "counters"),
                                "filtered-outbound-messages", "output");
        last = "FilterMessages";
    }
    cJSON_AddStringToObject(add_step(steps, "WriteToPubSub", "WritePubSub", last), "topic",
                            param(params, "outputTopic", ""));
    return p;
}

static cJSON *gcs_text_to_pubsub(const cJSON *params)
{
    cJSON *steps, *p = new_pipeline(&steps);
    cJSON_AddStringToObject(add_step(steps, "ReadFromSource", "ReadText", NULL), "path",
                            param(params, "inputFilePattern", ""));
    cJSON_AddStringToObject(add_step(steps, "WriteToPubSub", "WritePubSub", "ReadFromSource"),
                            "topic", param(params, "outputTopic", ""));
    return p;
}

/* The streaming variant: the files matching the pattern, and every new one that appears
 * (polled every 10 s of emulator time), each read once. */
static cJSON *stream_gcs_text_to_pubsub(const cJSON *params)
{
    cJSON *p = gcs_text_to_pubsub(params);
    cJSON *read = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p, "steps"), 0);
    cJSON_AddStringToObject(read, "watch", "10s");
    return p;
}

/* Messages of a topic (or subscription) in fixed windows, each window's text in shards
 * <outputDirectory><prefix>-<window>-SSSSS-of-NNNNN<suffix>. */
static cJSON *pubsub_to_gcs_text(const cJSON *params)
{
    cJSON *steps, *p = new_pipeline(&steps);
    cJSON *read = add_step(steps, "ReadPubSubEvents", "ReadPubSub", NULL);
    const char *sub = param(params, "inputSubscription", NULL);
    if (sub)
        cJSON_AddStringToObject(read, "subscription", sub);
    else
        cJSON_AddStringToObject(read, "topic", param(params, "inputTopic", ""));
    cJSON *window = add_step(steps, "WindowIntoFixed", "Window", "ReadPubSubEvents");
    cJSON_AddStringToObject(window, "type", "fixed");
    cJSON_AddStringToObject(window, "size", param(params, "windowDuration", "5m"));
    cJSON *write = add_step(steps, "WriteFiles", "WriteText", "WindowIntoFixed");
    char path[2048];
    snprintf(path, sizeof(path), "%s%s", param(params, "outputDirectory", ""),
             param(params, "outputFilenamePrefix", "output"));
    cJSON_AddStringToObject(write, "path", path);
    const char *suffix = param(params, "outputFilenameSuffix", NULL);
    if (suffix)
        cJSON_AddStringToObject(write, "suffix", suffix);
    const char *shards = param(params, "numShards", NULL);
    cJSON_AddItemToObject(write, "shards",
                          shards ? cJSON_CreateString(shards) : cJSON_CreateNumber(1));
    return p;
}

static const struct template_param word_count_params[] = {
    {"inputFile", true}, {"output", true}, {NULL}};
static const struct template_param pubsub_to_pubsub_params[] = {{"inputSubscription", true},
                                                                {"outputTopic", true},
                                                                {"filterKey", false},
                                                                {"filterValue", false},
                                                                {NULL}};
static const struct template_param gcs_text_to_pubsub_params[] = {
    {"inputFilePattern", true}, {"outputTopic", true}, {NULL}};
static const struct template_param pubsub_to_gcs_params[] = {{"inputTopic", false},
                                                             {"inputSubscription", false},
                                                             {"outputDirectory", true},
                                                             {"outputFilenamePrefix", false},
                                                             {"outputFilenameSuffix", false},
                                                             {"windowDuration", false},
                                                             {"numShards", false},
                                                             {"userTempLocation", false},
                                                             {NULL}};

static const struct google_template google_templates[] = {
    {"Word_Count", word_count_params, word_count},
    {"Cloud_PubSub_to_Cloud_PubSub", pubsub_to_pubsub_params, pubsub_to_pubsub},
    {"GCS_Text_to_Cloud_PubSub", gcs_text_to_pubsub_params, gcs_text_to_pubsub},
    {"Stream_GCS_Text_to_Cloud_PubSub", gcs_text_to_pubsub_params, stream_gcs_text_to_pubsub},
    {"Cloud_PubSub_to_GCS_Text", pubsub_to_gcs_params, pubsub_to_gcs_text},
};

/* gs://dataflow-templates[-REGION]/<version>/<Name>: the Name, or NULL. */
static const char *google_template_name(const char *path)
{
    const char *prefix = "gs://dataflow-templates";
    if (strncmp(path, prefix, strlen(prefix)) != 0)
        return NULL;
    const char *p = path + strlen(prefix);
    if (*p == '-')
        while (*p && *p != '/')
            p++;
    if (*p != '/' || !(p = strchr(p + 1, '/')))
        return NULL;
    return p + 1;
}

static enum em_code check_template_params(const struct google_template *t, const cJSON *params,
                                          struct em_status *st)
{
    const cJSON *given;
    cJSON_ArrayForEach(given, params)
    {
        const struct template_param *d = t->params;
        while (d->name && strcmp(d->name, given->string) != 0)
            d++;
        if (!d->name || !cJSON_IsString(given))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "The template parameters are invalid: %s has no parameter '%s'.",
                           t->name, given->string);
    }
    for (const struct template_param *d = t->params; d->name; d++)
        if (d->required && !param(params, d->name, NULL))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "The template parameters are invalid: %s needs parameter '%s'.", t->name,
                           d->name);
    if (t->build == pubsub_to_gcs_text &&
        !param(params, "inputTopic", NULL) == !param(params, "inputSubscription", NULL))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The template parameters are invalid: %s needs exactly one of "
                       "'inputTopic' and 'inputSubscription'.",
                       t->name);
    return EM_OK;
}

static enum em_code google_pipeline(const char *name, const char *path, const cJSON *params,
                                    char **text, struct em_status *st)
{
    for (size_t i = 0; i < sizeof(google_templates) / sizeof(google_templates[0]); i++) {
        const struct google_template *t = &google_templates[i];
        if (strcmp(t->name, name) != 0)
            continue;
        if (check_template_params(t, params, st))
            return st->code;
        if (!(*text = em_json_print_free(t->build(params))))
            return EM_FAIL_OOM(st);
        return EM_OK;
    }
    return EM_FAIL(st, EM_NOT_FOUND,
                   "The template %s is not one this emulator provides (Word_Count, "
                   "Cloud_PubSub_to_Cloud_PubSub, GCS_Text_to_Cloud_PubSub, "
                   "Stream_GCS_Text_to_Cloud_PubSub, Cloud_PubSub_to_GCS_Text).",
                   path);
}

static enum em_code read_template_file(const char *local, const char *gcs_path, char **text,
                                       struct em_status *st)
{
    FILE *f = fopen(local, "r");
    if (!f)
        return EM_FAIL(st, EM_NOT_FOUND, "Unable to open template file: %s.", gcs_path);
    char *buf = malloc(TEMPLATE_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, TEMPLATE_FILE_MAX + 1, f) : 0;
    fclose(f);
    if (!buf)
        return EM_FAIL_OOM(st);
    if (n > TEMPLATE_FILE_MAX) {
        free(buf);
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The template file %s is larger than 1 MiB.",
                       gcs_path);
    }
    buf[n] = '\0';
    *text = buf;
    return EM_OK;
}

/* A flex template spec carries the pipeline in its "pipeline" member. */
static enum em_code unwrap_spec(char **text, struct em_status *st)
{
    cJSON *root = cJSON_Parse(*text);
    cJSON *inner = cJSON_GetObjectItemCaseSensitive(root, "pipeline");
    if (cJSON_IsObject(inner) && !cJSON_HasObjectItem(root, "steps")) {
        char *printed = cJSON_PrintUnformatted(inner);
        if (!printed) {
            cJSON_Delete(root);
            return EM_FAIL_OOM(st);
        }
        free(*text);
        *text = printed;
    }
    cJSON_Delete(root);
    return EM_OK;
}

enum em_code rn_template_pipeline(const char *data_dir, const char *gcs_path, const char *field,
                                  const cJSON *params, char **text, const cJSON **params_used,
                                  struct em_status *st)
{
    *text = NULL;
    *params_used = NULL;
    if (!gcs_path || !*gcs_path)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "%s is required.", field);
    const char *google = google_template_name(gcs_path);
    if (google)
        return google_pipeline(google, gcs_path, params, text, st);
    char local[PATH_MAX];
    if (rn_gcs_path(data_dir, gcs_path, field, false, local, sizeof(local), st) ||
        read_template_file(local, gcs_path, text, st) || unwrap_spec(text, st)) {
        free(*text);
        *text = NULL;
        return st->code;
    }
    *params_used = params;
    return EM_OK;
}
