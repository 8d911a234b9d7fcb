/*
 * runner_pipeline: the JSON pipeline format (docs/pipelines.md) parsed and validated into
 * a DAG of built-in transforms. A pipeline is
 *
 *   {"parameters": {"inputFile": {"required": true}, "output": {"default": "gs://b/out"}},
 *    "steps": [{"name": "read", "transform": "ReadText", "path": "${inputFile}"},
 *              {"name": "words", "transform": "FlatMap", "input": "read", "fn": "split_words"},
 *              ...]}
 *
 * `${name}` inside any string is replaced by the launch parameter of that name (or its
 * default) before validation. Each step reads the main output of an earlier step
 * ("input": "read") or its dead-letter output ("input": "parse.failed"), so the order of
 * the list is a topological order and the graph can have no cycle. A pipeline with a
 * ReadPubSub source, or a ReadText that watches for new files, is a streaming one; it
 * needs a Window step before every step that groups (GroupByKey, CountPerElement,
 * Combine, WriteText), as Beam refuses to group an unbounded input in the global window. Every
 * error names the step and the field.
 */
#ifndef RUNNER_PIPELINE_H
#define RUNNER_PIPELINE_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define RN_STEP_NAME_MAX 64
#define RN_STEPS_MAX     64
/* The most windows a sliding window puts one element in (size / period): a "7d" window
 * sliding every second made 604,800 copies of each element. */
#define RN_SLIDING_WINDOWS_MAX 1000

enum rn_kind {
    RN_READ_TEXT,
    RN_READ_PUBSUB,
    RN_WRITE_TEXT,
    RN_WRITE_PUBSUB,
    RN_PARSE_JSON,
    RN_EXTRACT_FIELD,
    RN_RENAME_FIELDS,
    RN_MAP,
    RN_FLAT_MAP,
    RN_FILTER,
    RN_KEY_BY,
    RN_WINDOW,
    RN_GROUP_BY_KEY,
    RN_COUNT_PER_ELEMENT,
    RN_COMBINE,
    RN_WRITE_BIGTABLE, /* runner_sinks.h */
    RN_WRITE_SPANNER,
    RN_DECRYPT_ENVELOPE, /* runner_envelope.h */
    RN_VERIFY_SIGNATURE,
};

/* The built-in functions of Map, FlatMap, Filter and Combine. */
enum rn_fn {
    RN_FN_NONE,
    RN_FN_LOWERCASE,         /* Map */
    RN_FN_UPPERCASE,         /* Map */
    RN_FN_TRIM,              /* Map */
    RN_FN_FORMAT,            /* Map: "template" with {key}, {value}, {<field>} */
    RN_FN_SPLIT_WORDS,       /* FlatMap: runs of [A-Za-z'] */
    RN_FN_SPLIT,             /* FlatMap: split on "pattern" (regex) */
    RN_FN_MATCHES,           /* Filter: "pattern" matches the whole text */
    RN_FN_CONTAINS,          /* Filter: "pattern" matches part of the text */
    RN_FN_NOT_EMPTY,         /* Filter */
    RN_FN_ATTRIBUTE_MATCHES, /* Filter: "attribute"'s value matches "pattern" (whole) */
    RN_FN_SUM,               /* Combine */
    RN_FN_COUNT,
    RN_FN_MEAN,
    RN_FN_MIN,
    RN_FN_MAX,
    RN_FN_TOP,
};

/* Session windows: size_ns is the gap; an element opens [t, t + gap) and windows of a key
 * that overlap merge (runner_session.h). */
enum rn_window_kind { RN_WINDOW_GLOBAL, RN_WINDOW_FIXED, RN_WINDOW_SLIDING, RN_WINDOW_SESSION };

/* Which elements a user counter of a step counts (docs/pipelines.md, "counters"). */
enum rn_counter_on { RN_COUNT_INPUT, RN_COUNT_OUTPUT, RN_COUNT_EMPTY_INPUT, RN_COUNT_DROPPED };

struct rn_counter {
    char name[64];
    enum rn_counter_on on;
};

#define RN_COUNTERS_MAX 4

struct em_regex;

struct rn_step {
    char name[RN_STEP_NAME_MAX];
    enum rn_kind kind;
    int input;         /* index of the step read, -1 for a source */
    int input_port;    /* 0: its main output, 1: its dead-letter output ("<step>.failed") */
    const cJSON *spec; /* the step's object in the pipeline */
    enum rn_fn fn;
    struct em_regex *regex; /* Filter/FlatMap "pattern" (RE2, UTF-8), or NULL */
    const char *path, *suffix, *topic, *subscription, *field, *attribute, *format;
    const char *timestamp_attribute;
    bool binary; /* ReadPubSub: the element is the message's data as base64 text */
    int shards, top;
    enum rn_window_kind window; /* Window: its kind; other steps: the window in force */
    int64_t size_ns, period_ns, lateness_ns;
    int64_t watch_ns; /* ReadText: poll for new files this often (0: read once, batch) */
    struct rn_counter counters[RN_COUNTERS_MAX];
    int counter_count;
};

struct rn_pipeline {
    cJSON *root; /* the pipeline after parameter substitution (owned) */
    bool streaming;
    struct rn_step steps[RN_STEPS_MAX];
    int count;
};

/* Parses and validates a pipeline. params: the launch parameters (an object of strings,
 * or NULL). INVALID_ARGUMENT naming the step and field for anything wrong. */
enum em_code rn_pipeline_parse(const char *text, const cJSON *params, struct rn_pipeline **out,
                               struct em_status *st);
void rn_pipeline_free(struct rn_pipeline *p);

/* "90", "90s", "5m", "2h", "1d" into nanoseconds (1 s to 366 days); false otherwise. */
bool rn_duration_parse(const char *text, int64_t *ns);

/* Whether a step keeps state between bundles (groups by key and window, or buffers
 * lines of a window for a file). */
bool rn_step_is_stateful(const struct rn_step *step);

/* The transform's name as written in pipelines ("CountPerElement"). */
const char *rn_kind_name(enum rn_kind kind);

#endif
