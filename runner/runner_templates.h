/*
 * runner_templates: what a template path names, as a JSON pipeline (runner_pipeline.h).
 *
 * Google-provided templates, by their real names and parameters, at
 * gs://dataflow-templates[-REGION]/<version>/<Name> (any version: latest, 2024-01-01-00_RC00):
 *   Word_Count                      inputFile, output
 *   Cloud_PubSub_to_Cloud_PubSub    inputSubscription, outputTopic, [filterKey, filterValue]
 *   GCS_Text_to_Cloud_PubSub        inputFilePattern, outputTopic
 *   Stream_GCS_Text_to_Cloud_PubSub inputFilePattern, outputTopic (new files polled every
 *                                   10 s of emulator time, each read once)
 *   Cloud_PubSub_to_GCS_Text        inputTopic | inputSubscription, outputDirectory,
 *                                   [outputFilenamePrefix, outputFilenameSuffix,
 *                                    windowDuration, numShards, userTempLocation]
 * Each is built here as the pipeline of built-in transforms that does what Google's does,
 * with its parameters already applied. Any other gs:// path is a file under
 * <data dir>/gcs holding a JSON pipeline (or a flex template spec whose "pipeline" member
 * is one), whose "${name}" parameters apply at launch.
 */
#ifndef RUNNER_TEMPLATES_H
#define RUNNER_TEMPLATES_H

#include "em_status.h"

#include <cjson/cJSON.h>

/* The pipeline text a template path stands for (malloc'd); *params_used is the
 * parameters the pipeline still has to substitute (NULL for a Google template: already
 * applied). field names the request field in errors. */
enum em_code rn_template_pipeline(const char *data_dir, const char *gcs_path, const char *field,
                                  const cJSON *params, char **text, const cJSON **params_used,
                                  struct em_status *st);

#endif
