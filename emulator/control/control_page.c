/*
 * control_page: GET / on the control plane, a status page for people: every service with
 * its state, health, pid, restarts and log; the ports of services not built yet; the
 * emulator clock; the active faults; the organization policies in force (em_orgpolicy.h);
 * and every CMEK-protected resource with its key, key version, state, last and next
 * check. The same data as GET /emulator/v1/status,
 * /emulator/v1/faults and /emulator/v1/protectedResources, read the same way.
 *
 * The page is rendered here, in one pass, with no external asset, no script and no build
 * step; it reloads itself every PAGE_REFRESH_S seconds (a meta refresh). Every value that
 * comes from outside this file (resource and key names, which users choose; paths; KMS's
 * error text) goes through put_text, which escapes & < > " and ', so a topic named
 * "<script>" shows as text.
 */
#include "control.h"

#include "control_supervisor.h"
#include "em_call.h"
#include "em_clock.h"
#include "em_cmek.h"
#include "em_faults.h"
#include "em_json.h"
#include "em_orgpolicy.h"
#include "em_service.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE_REFRESH_S     5
#define PAGE_RESOURCES_MAX 1000 /* rows shown; the JSON listing has them all */

/* --- a growing text buffer; after a failed allocation every append is a no-op --- */

struct page {
    char *text;
    size_t len, cap;
    bool failed;
};

static bool reserve(struct page *p, size_t more)
{
    if (p->failed)
        return false;
    if (p->len + more + 1 <= p->cap)
        return true;
    size_t cap = p->cap ? p->cap : 16384;
    while (cap < p->len + more + 1)
        cap *= 2;
    char *text = realloc(p->text, cap);
    if (!text) {
        p->failed = true;
        return false;
    }
    p->text = text;
    p->cap = cap;
    return true;
}

static void put_raw(struct page *p, const char *s, size_t n)
{
    if (!reserve(p, n))
        return;
    memcpy(p->text + p->len, s, n);
    p->len += n;
    p->text[p->len] = '\0';
}

/* Markup written by this file only: never user data. */
static void put(struct page *p, const char *markup)
{
    put_raw(p, markup, strlen(markup));
}

/* Text from anywhere, HTML-escaped. */
static void put_text(struct page *p, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            put(p, "&amp;");
            break;
        case '<':
            put(p, "&lt;");
            break;
        case '>':
            put(p, "&gt;");
            break;
        case '"':
            put(p, "&quot;");
            break;
        case '\'':
            put(p, "&#39;");
            break;
        default:
            put_raw(p, s, 1);
        }
    }
}

/* Formatted text, HTML-escaped (the format is this file's; the values may be anyone's). */
__attribute__((format(printf, 2, 3))) static void put_textf(struct page *p, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    put_text(p, buf);
}

/* --- pieces --- */

static const char style[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2733;background:#fafbfc}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}"
    ".meta{color:#4b5a6a;margin:0}"
    "table{border-collapse:collapse;background:#fff;box-shadow:0 1px 2px #0002;width:100%}"
    "th,td{padding:5px 10px;border-bottom:1px solid #e3e8ee;text-align:left;vertical-align:top}"
    "th{background:#eef2f6;font-weight:600;font-size:12px;text-transform:uppercase;"
    "letter-spacing:.03em;color:#4b5a6a}"
    "td.name,td.url{font-family:ui-monospace,monospace;font-size:12.5px}"
    "td.name{word-break:break-all;min-width:190px}td.url,td.time,td.off{white-space:nowrap}"
    "td.state{min-width:160px}.reason{display:block;max-width:260px;overflow-wrap:anywhere}"
    ".small{font-size:12px;color:#5d6b7a}"
    ".ok{color:#157a3b;font-weight:600}.warn{color:#a15c00;font-weight:600}"
    ".bad{color:#b3261e;font-weight:600}.off{color:#6b7785}"
    ".fault{background:#fdecea;border:1px solid #f3b6b0;padding:8px 12px;display:inline-block}"
    "footer{margin-top:28px;color:#6b7785;font-size:12px}";

/* "in 4 min 59 s" / "12 s ago" / "now": t against the emulator's now. */
static void put_relative(struct page *p, int64_t t_ns, int64_t now_ns)
{
    int64_t d = (t_ns - now_ns) / EM_NS_PER_SEC;
    int64_t a = d < 0 ? -d : d;
    char amount[64];
    if (a == 0) {
        put(p, "now");
        return;
    }
    if (a < 60)
        snprintf(amount, sizeof(amount), "%lld s", (long long)a);
    else if (a < 3600)
        snprintf(amount, sizeof(amount), "%lld min %lld s", (long long)(a / 60),
                 (long long)(a % 60));
    else if (a < 86400)
        snprintf(amount, sizeof(amount), "%lld h %lld min", (long long)(a / 3600),
                 (long long)(a % 3600 / 60));
    else
        snprintf(amount, sizeof(amount), "%lld d %lld h", (long long)(a / 86400),
                 (long long)(a % 86400 / 3600));
    put_textf(p, d > 0 ? "in %s" : "%s ago", amount);
}

/* An RFC 3339 time to the second: "2026-12-02T14:34:22Z". */
static void format_seconds(int64_t t_ns, char out[EM_TIME_TEXT_MAX])
{
    em_time_format(t_ns, out);
    char *fraction = strchr(out, '.');
    if (fraction)
        snprintf(fraction, EM_TIME_TEXT_MAX - (size_t)(fraction - out), "Z");
}

/* A time cell: the time and, below it, how far it is from now; "–" when unset. */
static void put_time_cell(struct page *p, int64_t t_ns, int64_t now_ns)
{
    if (t_ns <= 0) {
        put(p, "<td class=\"off\">&ndash;</td>");
        return;
    }
    char text[EM_TIME_TEXT_MAX];
    format_seconds(t_ns, text);
    put(p, "<td class=\"time\">");
    put_text(p, text);
    put(p, "<br><span class=\"small\">");
    put_relative(p, t_ns, now_ns);
    put(p, "</span></td>");
}

static void put_header(struct page *p, const struct em_service *svc, int64_t now_ns)
{
    char now[EM_TIME_TEXT_MAX], offset[EM_TIME_TEXT_MAX];
    format_seconds(now_ns, now);
    em_duration_format(em_clock_offset(), offset);
    put(p, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    put(p, "<meta http-equiv=\"refresh\" content=\"");
    put_textf(p, "%d", PAGE_REFRESH_S);
    put(p, "\"><meta name=\"viewport\" content=\"width=device-width\"><title>CMEK emulator, port "
           "base ");
    put_textf(p, "%d", svc->config.port_base);
    put(p, "</title><style>");
    put(p, style);
    put(p, "</style></head><body>\n<h1>CMEK emulator</h1>\n<p class=\"meta\">Emulator time <b "
           "id=\"clock\">");
    put_text(p, now);
    put(p, "</b> (offset ");
    put_text(p, offset);
    put(p, em_clock_offset() ? ": ahead of real time, so gcloud's relative times are off by as "
                               "much)"
                             : ", the real time)");
    put(p, " &middot; IAM ");
    put_text(p, svc->config.iam_enforce ? "enforce" : "off");
    put(p, " &middot; data ");
    put_text(p, ((const struct control *)svc->ctx)->data_dir);
    put(p, svc->config.ephemeral ? " (ephemeral: removed at stop)" : "");
    put(p, " &middot; this page reloads every ");
    put_textf(p, "%d", PAGE_REFRESH_S);
    put(p, " s</p>\n");
}

static void put_service_row(struct page *p, const char *name, const char *product, const char *url,
                            const char *state, const char *health_class, const char *health,
                            int pid, int restarts, const char *last_exit, const char *log)
{
    put(p, "<tr><td><b>");
    put_text(p, name);
    put(p, "</b><br><span class=\"small\">");
    put_text(p, product);
    put(p, "</span></td><td class=\"url\">");
    put_text(p, url);
    put(p, "</td><td>");
    put_text(p, state);
    put(p, "</td><td class=\"");
    put(p, health_class);
    put(p, "\">");
    put_text(p, health);
    put(p, "</td><td>");
    if (pid > 0)
        put_textf(p, "%d", pid);
    put(p, "</td><td>");
    if (restarts >= 0)
        put_textf(p, "%d", restarts);
    if (last_exit[0]) {
        put(p, "<span class=\"small reason\">last: ");
        put_text(p, last_exit);
        put(p, "</span>");
    }
    put(p, "</td><td class=\"name\">");
    put_text(p, log);
    put(p, "</td></tr>\n");
}

static void put_services(struct page *p, struct em_service *svc)
{
    struct control *ctl = svc->ctx;
    struct control_child_view views[CONTROL_SERVICE_MAX];
    bool healthy[CONTROL_SERVICE_MAX];
    size_t n = control_supervisor_list(ctl->supervisor, views, CONTROL_SERVICE_MAX);
    control_probe_health(views, n, 0, healthy);
    char url[64];
    em_config_url(&svc->config, EM_PORT_CONTROL, url, sizeof(url));
    put(p, "<h2>Services</h2>\n<table><tr><th>service</th><th>URL</th><th>state</th>"
           "<th>health</th><th>pid</th><th>restarts</th><th>log</th></tr>\n");
    put_service_row(p, "emulator", "Control plane, Resource Manager, Logging", url, "RUNNING", "ok",
                    "healthy", (int)getpid(), -1, "", "its stderr (start-all: emulator.log)");
    for (size_t i = 0; i < n; i++) {
        const struct control_child_view *v = &views[i];
        bool running = v->state == CONTROL_CHILD_RUNNING;
        put_service_row(
            p, v->info->name, v->info->product, v->url, control_child_state_name(v->state),
            healthy[i] ? "ok" : (running ? "bad" : "off"), healthy[i] ? "healthy" : "not answering",
            v->pid, v->restarts, v->last_exit, v->log_path);
    }
    const struct em_service_desc *unbuilt[CONTROL_SERVICE_MAX];
    size_t u = control_unbuilt_list(ctl->unbuilt, unbuilt, CONTROL_SERVICE_MAX);
    for (size_t i = 0; i < u; i++) {
        em_config_url(&svc->config, unbuilt[i]->port, url, sizeof(url));
        put_service_row(p, unbuilt[i]->name, unbuilt[i]->product, url, "NOT BUILT YET", "off",
                        "answers UNIMPLEMENTED", 0, -1, "", "");
    }
    put(p, "</table>\n");
}

static void put_faults(struct page *p)
{
    put(p, "<h2>Faults</h2>\n");
    if (em_faults_kms_unreachable())
        put(p, "<p class=\"fault\"><b class=\"bad\">kmsUnreachable</b>: every service's calls to "
               "KMS fail as if the network to KMS were down. Clear it with POST "
               "/emulator/v1/faults {\"kmsUnreachable\": false}.</p>\n");
    if (em_faults_ekm_unreachable())
        put(p, "<p class=\"fault\"><b class=\"bad\">ekmUnreachable</b>: KMS cannot reach the "
               "external key manager: EXTERNAL and EXTERNAL_VPC keys fail. Clear it with POST "
               "/emulator/v1/faults {\"ekmUnreachable\": false}.</p>\n");
    if (!em_faults_kms_unreachable() && !em_faults_ekm_unreachable())
        put(p, "<p>None active.</p>\n");
}

struct policy_rows {
    struct page *page;
    int64_t now_ns;
    size_t count;
};

static bool put_policy_row(const struct em_orgpolicy *policy, void *arg)
{
    struct policy_rows *rows = arg;
    struct page *p = rows->page;
    put(p, "<tr><td>");
    put_text(p, policy->resource);
    put(p, "</td><td>constraints/");
    put_text(p, policy->constraint);
    put(p, "</td><td><code>");
    put_text(p, policy->spec_json ? policy->spec_json : "(dry run only)");
    put(p, "</code></td>");
    put_time_cell(p, policy->update_ns, rows->now_ns);
    put(p, "</tr>\n");
    rows->count++;
    return true;
}

static enum em_code put_policies(struct page *p, struct em_service *svc, int64_t now_ns,
                                 struct em_status *st)
{
    put(p, "<h2>Organization policies</h2>\n<table><tr><th>set on</th><th>constraint</th>"
           "<th>spec</th><th>updated</th></tr>\n");
    struct policy_rows rows = {p, now_ns, 0};
    if (em_orgpolicy_list_all(svc->store, put_policy_row, &rows, st))
        return st->code;
    put(p, "</table>\n");
    if (rows.count == 0)
        put(p, "<p>None: nothing is restricted.</p>\n");
    return EM_OK;
}

struct resource_rows {
    struct page *page;
    int64_t now_ns;
    size_t count;
};

static const char *state_class(enum em_cmek_state state)
{
    switch (state) {
    case EM_CMEK_ACCESSIBLE:
        return "ok";
    case EM_CMEK_GRACE:
        return "warn";
    default:
        return "bad";
    }
}

/* The version's number, from ".../cryptoKeyVersions/3". */
static const char *version_number(const char *version)
{
    const char *slash = strrchr(version, '/');
    return slash ? slash + 1 : version;
}

static void put_resource_row(const struct em_cmek_info *info, void *arg)
{
    struct resource_rows *rows = arg;
    struct page *p = rows->page;
    if (rows->count++ >= PAGE_RESOURCES_MAX)
        return;
    put(p, "<tr><td>");
    put_text(p, info->service);
    put(p, "</td><td class=\"name\">");
    put_text(p, info->resource);
    put(p, info->kms_key[0] ? "</td><td class=\"name\">" : "</td><td class=\"off\">");
    put_text(p, info->kms_key[0] ? info->kms_key : "Google default encryption");
    put(p, "</td><td title=\"");
    put_text(p, info->key_version);
    put(p, "\">");
    put_text(p, info->kms_key[0] ? version_number(info->key_version) : "");
    put(p, "</td><td class=\"state\"><span class=\"");
    put(p, state_class(info->state));
    put(p, "\">");
    put_text(p, em_cmek_state_name(info->state));
    put(p, "</span>");
    if (info->state_since_ns > 0) {
        put(p, "<br><span class=\"small\">since ");
        put_relative(p, info->state_since_ns, rows->now_ns);
        put(p, "</span>");
    }
    if (info->reason[0]) {
        put(p, "<span class=\"small reason\">");
        put_text(p, info->reason);
        put(p, "</span>");
    }
    put(p, "</td>");
    put_time_cell(p, info->last_check_ns, rows->now_ns);
    put_time_cell(p, info->next_check_ns, rows->now_ns);
    put(p, "</tr>\n");
}

static enum em_code put_resources(struct page *p, struct em_service *svc, int64_t now_ns,
                                  struct em_status *st)
{
    struct page rows_page = {0};
    struct resource_rows rows = {&rows_page, now_ns, 0};
    if (em_cmek_list(svc->store, put_resource_row, &rows, st)) {
        free(rows_page.text);
        return st->code;
    }
    put(p, "<h2>Protected resources (");
    put_textf(p, "%zu", rows.count);
    put(p, ")</h2>\n");
    if (rows.count == 0) {
        put(p, "<p>None yet: a Pub/Sub topic (with or without a kmsKeyName) appears here.</p>\n");
    } else {
        put(p, "<table><tr><th>service</th><th>resource</th><th>key</th><th>version</th>"
               "<th>state</th><th>last check</th><th>next check</th></tr>\n");
        put_raw(p, rows_page.text ? rows_page.text : "", rows_page.len);
        put(p, "</table>\n");
        if (rows.count > PAGE_RESOURCES_MAX) {
            put(p, "<p class=\"small\">");
            put_textf(p, "The first %d are shown; GET /emulator/v1/protectedResources lists all.",
                      PAGE_RESOURCES_MAX);
            put(p, "</p>\n");
        }
    }
    bool failed = rows_page.failed;
    free(rows_page.text);
    if (failed)
        p->failed = true;
    return EM_OK;
}

static void put_footer(struct page *p)
{
    put(p, "<footer>The same data as JSON: <a href=\"/emulator/v1/status\">/emulator/v1/status</a>"
           ", <a href=\"/emulator/v1/faults\">/emulator/v1/faults</a>, <a "
           "href=\"/emulator/v1/protectedResources\">/emulator/v1/protectedResources</a>."
           "</footer>\n</body></html>\n");
}

enum em_code control_status_page(struct em_call *call)
{
    struct em_service *svc = call->svc;
    if (em_clock_reload(svc->store, &call->status) || em_faults_reload(svc->store, &call->status))
        return call->status.code;
    int64_t now_ns = em_clock_now();
    struct page p = {0};
    put_header(&p, svc, now_ns);
    put_services(&p, svc);
    put_faults(&p);
    if (put_policies(&p, svc, now_ns, &call->status) ||
        put_resources(&p, svc, now_ns, &call->status)) {
        free(p.text);
        return call->status.code;
    }
    put_footer(&p);
    if (p.failed) {
        free(p.text);
        return EM_CALL_FAIL(call, EM_INTERNAL, "out of memory rendering the status page");
    }
    call->reply_raw = p.text;
    call->reply_raw_len = p.len;
    call->reply_content_type = "text/html; charset=utf-8";
    return EM_OK;
}
