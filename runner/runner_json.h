/*
 * runner_json: request schemas of the Dataflow v1b3 methods the runner serves (field
 * names from gcloud's generated dataflow_v1b3_messages.py). Environments are accepted as
 * any JSON object: the runner reads the fields it uses (kmsKeyName, serviceKmsKeyName,
 * serviceAccountEmail, tempLocation, additionalUserLabels) and ignores the worker-pool
 * settings, which have no meaning on one machine. The fields it cannot honour elsewhere in
 * these messages (update, transformNameMapping(s), replaceJobId, createdFromSnapshotId,
 * runtimeUpdatableParams) are refused by runner_handlers.
 */
#ifndef RUNNER_JSON_H
#define RUNNER_JSON_H

#include "em_schema.h"

extern const struct em_message rn_create_from_template_schema;
extern const struct em_message rn_launch_template_schema;
extern const struct em_message rn_launch_flex_schema;
extern const struct em_message rn_job_schema;

#endif
