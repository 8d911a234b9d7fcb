/*
 * spanner_session: Spanner sessions (google.spanner.v1.Session): created under a
 * database, used by every data call, deleted, or expired after one hour of emulator time
 * without use (em_clock), as Spanner does.
 *
 * Sessions live in memory (a hash by name, one mutex) and in metadata.db (table
 * spanner_sessions, module "spanner_sessions"), so they survive a restart. A data call's
 * use updates the last-use time in memory at once and in the table at most once a
 * minute of emulator time, so a hot session costs no write per call (after a restart a
 * session may look up to a minute older than it was: it expires that much sooner).
 */
#ifndef SPANNER_SESSION_H
#define SPANNER_SESSION_H

#include "em_status.h"
#include "spanner_admin.h"

#include <cjson/cJSON.h>
#include <stdint.h>

#define SP_SESSION_IDLE_NS        (3600LL * 1000000000LL)
#define SP_SESSION_MULTIPLEXED_NS (30LL * 86400 * 1000000000LL)

struct em_store;
struct sp_sessions;

enum em_code sp_sessions_open(struct em_store *meta, struct sp_sessions **out,
                              struct em_status *st);
void sp_sessions_close(struct sp_sessions *ss);

/* A new session of database (which the caller checked) with the request's Session JSON
 * (labels, creatorRole; may be NULL); *out is the Session resource. Labels follow
 * em_labels_check (INVALID_ARGUMENT naming the label). */
enum em_code sp_session_create(struct sp_sessions *ss, const char *database, const cJSON *session,
                               int64_t now, cJSON **out, struct em_status *st);
/* NOT_FOUND "Session not found: <name>" when unknown or expired. */
enum em_code sp_session_get(struct sp_sessions *ss, const char *name, int64_t now, cJSON **out,
                            struct em_status *st);
/* Every live session of database, by name. */
enum em_code sp_session_list(struct sp_sessions *ss, const char *database, int64_t now, cJSON **out,
                             struct em_status *st);
enum em_code sp_session_delete(struct sp_sessions *ss, const char *name, struct em_status *st);
/* A session's creatorRole holds at most this many bytes (a role name: 128 characters). */
#define SP_SESSION_ROLE_MAX 160

/* A data call uses the session: NOT_FOUND as get when it is gone; its database is
 * copied into database, and its creatorRole into role ("" when it has none). */
enum em_code sp_session_use(struct sp_sessions *ss, const char *name, int64_t now,
                            char database[SP_NAME_MAX], char role[SP_SESSION_ROLE_MAX],
                            struct em_status *st);
/* The creatorRole of a live session into role ("" when it has none, or no such session):
 * what the IAM check of its data calls depends on. */
void sp_session_role(struct sp_sessions *ss, const char *name, int64_t now,
                     char role[SP_SESSION_ROLE_MAX]);
/* Deletes the sessions idle for an hour by now (the service's tick). */
void sp_sessions_expire(struct sp_sessions *ss, int64_t now);
/* Deletes every session of a database (dropped), of every database of an instance (its
 * name), or of every database (NULL). */
void sp_sessions_forget(struct sp_sessions *ss, const char *database);

#endif
