/*
 * fuzz_spanner_request: libFuzzer target for Spanner's request path: routing, query and body
 * parsing, schema checks, handlers (instances, databases, DDL, backups with their
 * query-string encryption config, copy, restore, operations, IAM; backup schedules and
 * their crontabs; the data plane: sessions, executeSql and its streaming form,
 * executeBatchDml, read, transactions, commit with mutations, partitions) and error
 * rendering, through em_dispatch() with a real Spanner service on a temporary data
 * directory (no sockets; see fuzz_service.h).
 *
 * An instance, a database with a table and a database role reader, a backup of it
 * (expiring a day from now), a backup schedule "fs" of the database, a session and a
 * session with the role reader exist so that inputs reach every handler; an input's
 * "sessions/fuzz-session" names the session, "sessions/fuzz-reader" the reader's (their
 * real IDs are random).
 */
#include "em_clock.h"
#include "em_json.h"
#include "fuzz_service.h"
#include "spanner/spanner_service.h"

#define PROJECT "/v1/projects/fuzz-project"

static char session_id[128], reader_id[128];

#define SESSION_PLACEHOLDER "sessions/fuzz-session"
#define READER_PLACEHOLDER  "sessions/fuzz-reader" /* a session with the database role reader */

/* Creates a fixture session (body: its CreateSession request) and keeps its ID in id. */
static void create_session(const char *body, char id[128])
{
    struct em_call c = {0};
    c.method = "POST";
    c.path = PROJECT "/instances/inst/databases/db/sessions";
    c.body_text = body;
    c.body_len = strlen(body);
    c.svc = fuzz_svc;
    em_dispatch(fuzz_svc->router, &c);
    cJSON *reply = c.response ? cJSON_Parse(c.response) : NULL;
    const cJSON *name = cJSON_GetObjectItem(reply, "name");
    const char *slash = cJSON_IsString(name) ? strrchr(name->valuestring, '/') : NULL;
    snprintf(id, 128, "%s", slash ? slash + 1 : "none");
    cJSON_Delete(reply);
    em_call_reset(&c);
}

static void create_fixtures(void)
{
    fuzz_service_call("POST", PROJECT "/instances", NULL, NULL,
                      "{\"instanceId\":\"inst\",\"instance\":{\"config\":\"projects/fuzz-project/"
                      "instanceConfigs/emulator-config\",\"displayName\":\"Fuzz instance\"}}");
    fuzz_service_call("POST", PROJECT "/instances/inst/databases", NULL, NULL,
                      "{\"createStatement\":\"CREATE DATABASE `db`\",\"extraStatements\":["
                      "\"CREATE TABLE T (K INT64 NOT NULL, V STRING(MAX)) PRIMARY KEY (K)\","
                      "\"CREATE ROLE reader\",\"GRANT SELECT(K) ON TABLE T TO ROLE reader\"]}");
    char expire[EM_TIME_TEXT_MAX], body[256];
    em_time_format(em_clock_now() + 86400 * EM_NS_PER_SEC, expire);
    snprintf(body, sizeof(body),
             "{\"database\":\"projects/fuzz-project/instances/inst/databases/db\","
             "\"expireTime\":\"%s\"}",
             expire);
    fuzz_service_call("POST", PROJECT "/instances/inst/backups", "backupId", "bk", body);
    fuzz_service_call("POST", PROJECT "/instances/inst/databases/db/backupSchedules",
                      "backupScheduleId", "fs",
                      "{\"spec\":{\"cronSpec\":{\"text\":\"0 2 * * *\"}},"
                      "\"retentionDuration\":\"86400s\",\"fullBackupSpec\":{}}");
    create_session("{}", session_id);
    create_session("{\"session\":{\"creatorRole\":\"reader\"}}", reader_id);
}

/* The input with its first "sessions/fuzz-session" naming the fixture session (or, when
 * it has none, its first "sessions/fuzz-reader" naming the reader's). */
static void request(const uint8_t *data, size_t size)
{
    const char *text = SESSION_PLACEHOLDER, *id = session_id;
    const char *at = memmem(data, size, text, strlen(text));
    if (!at) {
        text = READER_PLACEHOLDER;
        id = reader_id;
        at = memmem(data, size, text, strlen(text));
    }
    if (!at) {
        fuzz_service_request(data, size);
        return;
    }
    size_t before = (size_t)(at - (const char *)data), placeholder = strlen(text);
    size_t id_len = strlen(id);
    uint8_t *copy = malloc(size + id_len + 16);
    if (!copy)
        return;
    memcpy(copy, data, before);
    size_t n = before + (size_t)sprintf((char *)copy + before, "sessions/%s", id);
    memcpy(copy + n, at + placeholder, size - before - placeholder);
    fuzz_service_request(copy, n + size - before - placeholder);
    free(copy);
}

FUZZ_SERVICE_TARGET_REQUEST(spanner_service, NULL, create_fixtures, request)
