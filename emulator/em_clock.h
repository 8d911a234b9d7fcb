/*
 * em_clock: emulator time, shared by every process (README, "The control plane": time).
 *
 *   emulator time = OS real time + offset
 *
 * The offset lives in metadata.db (table clock, one row) so every service agrees on it;
 * each process keeps it in memory and reloads it when the control plane tells it the
 * clock moved (and on its periodic timer). Time only moves forward: advancing by a
 * negative amount is refused. Nothing in the emulator sleeps to model Google's delays;
 * it compares emulator times instead.
 */
#ifndef EM_CLOCK_H
#define EM_CLOCK_H

#include "em_status.h"

#include <pthread.h>
#include <stdint.h>

struct em_store;

/* Creates the clock table if needed and loads the offset. */
enum em_code em_clock_open(struct em_store *store, struct em_status *st);

/* Nanoseconds since the Unix epoch, emulated. */
int64_t em_clock_now(void);

/* The current offset from OS time, in nanoseconds. */
int64_t em_clock_offset(void);

/* Re-reads the offset from the store. */
enum em_code em_clock_reload(struct em_store *store, struct em_status *st);

/* The latest time the emulator clock reaches, 2200-01-01T00:00:00Z: far from int64
 * nanoseconds' end (2262), so "now + a retention period" never overflows. */
#define EM_CLOCK_MAX_NS (7258118400LL * 1000000000LL)

/* Moves the shared clock forward by delta_ns (>= 0) and returns the new offset;
 * INVALID_ARGUMENT when that would pass EM_CLOCK_MAX_NS. */
enum em_code em_clock_advance(struct em_store *store, int64_t delta_ns, int64_t *new_offset,
                              struct em_status *st);

/* Sets the offset back to zero (control plane reset). */
enum em_code em_clock_reset(struct em_store *store, struct em_status *st);

/* OS real time in nanoseconds. */
int64_t em_clock_real_now(void);

/* Monotonic real time in nanoseconds: for waits about processes (a service coming up),
 * never for emulated behaviour. */
int64_t em_clock_monotonic(void);

/* The same in milliseconds: for deadlines and timeouts of real time. */
int64_t em_clock_monotonic_ms(void);

/* Initialises cond so that its timed waits count on the monotonic clock above (a deadline
 * of em_clock_monotonic() nanoseconds is {ns / 1e9, ns % 1e9}); pthread's error, or 0. */
int em_clock_cond_init(pthread_cond_t *cond);

#endif
