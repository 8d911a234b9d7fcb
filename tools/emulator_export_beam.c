/*
 * emulator-export-beam: writes a JSON pipeline (docs/pipelines.md) as an Apache Beam
 * Python program using the same transforms (runner/runner_beam.h), so a pipeline that
 * outgrows the emulator runs on Dataflow, Flink or Spark unchanged.
 *
 *   bin/emulator-export-beam pipeline.json [--parameters name=value,...] [-o program.py]
 *
 * The pipeline is validated as a launch validates it (the same errors, naming the step);
 * its launch parameters are substituted into the program.
 */
#include "runner/runner_beam.h"
#include "runner/runner_pipeline.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIPELINE_MAX (4 * 1024 * 1024)

static void usage(FILE *out)
{
    fprintf(out, "usage: emulator-export-beam PIPELINE.json [--parameters NAME=VALUE,...] "
                 "[-o PROGRAM.py]\n"
                 "Writes the pipeline as an Apache Beam Python program (standard output by "
                 "default).\n");
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *text = malloc(PIPELINE_MAX + 1);
    size_t n = text ? fread(text, 1, PIPELINE_MAX, f) : 0;
    bool too_long = text && n == PIPELINE_MAX && fgetc(f) != EOF;
    fclose(f);
    if (!text || too_long) {
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

/* "a=1,b=2" as {"a": "1", "b": "2"} (gcloud's --parameters form). */
static cJSON *parse_parameters(const char *list)
{
    cJSON *params = cJSON_CreateObject();
    char *copy = strdup(list), *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); params && item;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq || eq == item) {
            cJSON_Delete(params);
            params = NULL;
            break;
        }
        *eq = '\0';
        cJSON_AddStringToObject(params, item, eq + 1);
    }
    free(copy);
    return params;
}

static int write_program(const char *program, const char *path)
{
    if (!path)
        return fputs(program, stdout) >= 0 && fflush(stdout) == 0 ? 0 : 1;
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    bool ok = fputs(program, f) >= 0;
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"parameters", 1, 0, 'p'}, {"output", 1, 0, 'o'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *output = NULL;
    cJSON *params = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "o:", longs, NULL)) != -1) {
        if (c == 'p' && !params && (params = parse_parameters(optarg)))
            continue;
        if (c == 'o') {
            output = optarg;
            continue;
        }
        usage(c == 'h' ? stdout : stderr);
        cJSON_Delete(params);
        return c == 'h' ? 0 : 2;
    }
    if (optind != argc - 1) {
        usage(stderr);
        cJSON_Delete(params);
        return 2;
    }
    char *text = read_file(argv[optind]);
    if (!text) {
        fprintf(stderr, "emulator-export-beam: cannot read %s (or over 4 MiB)\n", argv[optind]);
        cJSON_Delete(params);
        return 1;
    }
    struct rn_pipeline *p = NULL;
    struct em_status st = {0};
    char *program = NULL;
    int rc = 1;
    if (rn_pipeline_parse(text, params, &p, &st) || rn_beam_export(p, argv[optind], &program, &st))
        fprintf(stderr, "emulator-export-beam: %s: %s\n", em_code_name(st.code), st.message);
    else
        rc = write_program(program, output);
    free(program);
    rn_pipeline_free(p);
    free(text);
    cJSON_Delete(params);
    return rc;
}
