/*
 * runner_handlers: one function per Dataflow v1b3 REST method the runner serves.
 */
#ifndef RUNNER_HANDLERS_H
#define RUNNER_HANDLERS_H

#include "em_call.h"

enum em_code rn_create_job_from_template(struct em_call *call);
enum em_code rn_launch_template(struct em_call *call);
enum em_code rn_launch_flex_template(struct em_call *call);
enum em_code rn_create_job(struct em_call *call);
enum em_code rn_get_job(struct em_call *call);
enum em_code rn_list_jobs(struct em_call *call);
enum em_code rn_aggregated_jobs(struct em_call *call);
enum em_code rn_update_job(struct em_call *call);
enum em_code rn_list_job_messages(struct em_call *call);
enum em_code rn_get_job_metrics(struct em_call *call);

#endif
