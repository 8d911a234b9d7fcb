/*
 * em_log: structured logs, one JSON object per line on stderr:
 *   {"time":"2026-11-23T16:00:00.123Z","severity":"INFO","service":"kms","message":"..."}
 * Times here are OS wall-clock times (logs are about the process, not emulated time).
 * Never pass key material, plaintext or customer data to these functions.
 */
#ifndef EM_LOG_H
#define EM_LOG_H

enum em_log_level { EM_LOG_DEBUG, EM_LOG_INFO, EM_LOG_WARNING, EM_LOG_ERROR };

/* Sets the service name printed on every line and the lowest level printed. */
void em_log_init(const char *service, enum em_log_level min_level);

/* "debug", "info", "warning", "error" -> level; returns -1 when unknown. */
int em_log_level_parse(const char *text);

void em_log(enum em_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define em_debug(...) em_log(EM_LOG_DEBUG, __VA_ARGS__)
#define em_info(...)  em_log(EM_LOG_INFO, __VA_ARGS__)
#define em_warn(...)  em_log(EM_LOG_WARNING, __VA_ARGS__)
#define em_error(...) em_log(EM_LOG_ERROR, __VA_ARGS__)

#endif
