/*
 * runner_beam: a JSON pipeline (runner_pipeline.h) written out as an Apache Beam Python
 * program using the same transforms, so a pipeline that outgrows one machine runs on
 * Dataflow, Flink or Spark (`python3 wc.py --runner DataflowRunner ...`).
 *
 * The program is the prelude runner/beam_prelude.py (each built-in transform as a Beam
 * function of its step's JSON object, compiled into the library) followed by build():
 * one line per step, in the pipeline's order, passing the step's JSON object (launch
 * parameters already substituted) and the PCollection of its input ("<step>" or
 * "<step>.failed"), then main() setting the streaming option as the runner would.
 */
#ifndef RUNNER_BEAM_H
#define RUNNER_BEAM_H

#include "runner_pipeline.h"

#include "em_status.h"

/* The Python program of p (malloc'd). source names the pipeline in its first comment. */
enum em_code rn_beam_export(const struct rn_pipeline *p, const char *source, char **program,
                            struct em_status *st);

#endif
