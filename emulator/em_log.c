/*
 * em_log: JSON-lines logging to stderr, safe from any thread (one fputs per line).
 */
#include "em_log.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static char log_service[32] = "emulator";
static enum em_log_level log_min = EM_LOG_INFO;

static const char *level_names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};

void em_log_init(const char *service, enum em_log_level min_level)
{
    snprintf(log_service, sizeof(log_service), "%s", service);
    log_min = min_level;
}

int em_log_level_parse(const char *text)
{
    static const char *lower[] = {"debug", "info", "warning", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(text, lower[i]) == 0 || strcmp(text, level_names[i]) == 0)
            return i;
    return -1;
}

static void format_now(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void em_log(enum em_log_level level, const char *fmt, ...)
{
    if (level < log_min)
        return;
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);

    char now[40];
    format_now(now, sizeof(now));
    cJSON *line = cJSON_CreateObject();
    cJSON_AddStringToObject(line, "time", now);
    cJSON_AddStringToObject(line, "severity", level_names[level]);
    cJSON_AddStringToObject(line, "service", log_service);
    cJSON_AddStringToObject(line, "message", message);
    char *text = cJSON_PrintUnformatted(line);
    cJSON_Delete(line);
    if (text) {
        fprintf(stderr, "%s\n", text);
        cJSON_free(text);
    }
}
