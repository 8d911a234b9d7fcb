/*
 * fuzz_runner_request: libFuzzer target for the Dataflow runner's request path: routing,
 * query and body parsing, schema checks, handlers (template create and launch, flex
 * template launch, jobs create/get/list/aggregated/update, messages, metrics), template
 * expansion, pipeline validation and error rendering, through em_dispatch() with a real
 * runner service on a temporary data directory (no sockets; see fuzz_service.h).
 *
 * A pipeline file gs://fuzz-bucket/p.json exists and a Word_Count job is launched, so
 * inputs reach the flex template and job handlers. No tick runs: jobs stay PENDING (the
 * engine is fuzzed through fuzz_runner_pipeline). State is reset every 500 inputs.
 */
#include "fuzz_service.h"
#include "runner/runner_service.h"

#include <sys/stat.h>

#define LOC "/v1b3/projects/fuzz-project/locations/us-central1"

static void write_pipeline_file(void)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/gcs", fuzz_data_dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/gcs/fuzz-bucket", fuzz_data_dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/gcs/fuzz-bucket/p.json", fuzz_data_dir);
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fputs("{\"parameters\":{\"in\":{\"required\":true}},\"steps\":["
          "{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"${in}\"},"
          "{\"name\":\"w\",\"transform\":\"FlatMap\",\"input\":\"r\",\"fn\":\"split_words\"},"
          "{\"name\":\"c\",\"transform\":\"CountPerElement\",\"input\":\"w\"},"
          "{\"name\":\"o\",\"transform\":\"WriteText\",\"input\":\"c\",\"path\":\"gs://fuzz-bucket/"
          "out\"}]}",
          f);
    fclose(f);
}

static void create_fixtures(void)
{
    fuzz_service_call("POST", LOC "/templates", NULL, NULL,
                      "{\"jobName\":\"wc\",\"gcsPath\":\"gs://dataflow-templates/latest/"
                      "Word_Count\",\"parameters\":{\"inputFile\":\"gs://fuzz-bucket/in.txt\","
                      "\"output\":\"gs://fuzz-bucket/out\"}}");
}

/* The pipeline file the fixtures' jobs run, written once in the data directory. */
static void write_pipeline(struct em_service *svc)
{
    (void)svc;
    write_pipeline_file();
}

FUZZ_SERVICE_TARGET(runner_service, write_pipeline, create_fixtures)
