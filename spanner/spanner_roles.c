/*
 * spanner_roles: the DDL of fine-grained access control (see spanner_roles.h). A statement
 * works on an editable copy of the schema's roles, privileges and memberships (struct
 * acl_edit), checks everything it names, and only then puts a new struct sp_acl, in the
 * schema's arena, in place of the old one.
 */
#include "spanner_roles.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ROLE_NAME_MAX 128
#define LIST_MAX      1000 /* names in one GRANT's lists (tables, columns, roles) */

const char *const sp_system_roles[3] = {SP_ROLE_PUBLIC, SP_ROLE_INFO_READER, SP_ROLE_SYS_READER};

static const char *const privilege_names[] = {
    [SP_PRIV_SELECT] = "SELECT", [SP_PRIV_INSERT] = "INSERT",   [SP_PRIV_UPDATE] = "UPDATE",
    [SP_PRIV_DELETE] = "DELETE", [SP_PRIV_EXECUTE] = "EXECUTE", [SP_PRIV_USAGE] = "USAGE",
};

static const char *const object_names[] = {
    [SP_ON_TABLE] = "TABLE",
    [SP_ON_VIEW] = "VIEW",
    [SP_ON_CHANGE_STREAM] = "CHANGE STREAM",
    [SP_ON_TABLE_FUNCTION] = "TABLE FUNCTION",
    [SP_ON_SEQUENCE] = "SEQUENCE",
    [SP_ON_SCHEMA] = "SCHEMA",
};

const char *const sp_grant_object_labels[] = {
    [SP_ON_TABLE] = "table",
    [SP_ON_VIEW] = "view",
    [SP_ON_CHANGE_STREAM] = "change stream",
    [SP_ON_TABLE_FUNCTION] = "table function",
    [SP_ON_SEQUENCE] = "sequence",
    [SP_ON_SCHEMA] = "schema",
};

const char *sp_privilege_name(enum sp_privilege privilege)
{
    return privilege_names[privilege];
}

const char *sp_grant_object_name(enum sp_grant_object on)
{
    return object_names[on];
}

static bool is_system_role(const char *name)
{
    for (size_t i = 0; i < sizeof(sp_system_roles) / sizeof(*sp_system_roles); i++)
        if (strcasecmp(name, sp_system_roles[i]) == 0)
            return true;
    return false;
}

const char *sp_role_find(const struct sp_schema *s, const char *name)
{
    for (size_t i = 0; i < sizeof(sp_system_roles) / sizeof(*sp_system_roles); i++)
        if (strcasecmp(name, sp_system_roles[i]) == 0)
            return sp_system_roles[i];
    for (int i = 0; s->acl && i < s->acl->nroles; i++)
        if (strcasecmp(s->acl->roles[i].name, name) == 0)
            return s->acl->roles[i].name;
    return NULL;
}

/* ---- the editable copy ---- */

struct acl_edit {
    struct sp_schema *schema;
    struct em_status *st;
    struct sp_role *roles;
    int nroles;
    struct sp_grant *grants;
    int ngrants, grants_cap;
    struct sp_role_member *members;
    int nmembers, members_cap;
};

static void *copy_items(const void *items, int count, int room, size_t size)
{
    void *copy = malloc((size_t)(count + room > 0 ? count + room : 1) * size);
    if (copy && count)
        memcpy(copy, items, (size_t)count * size);
    return copy;
}

static enum em_code edit_begin(struct acl_edit *e, struct sp_schema *s, struct em_status *st)
{
    const struct sp_acl *acl = s->acl;
    static const struct sp_acl none = {0};
    if (!acl)
        acl = &none;
    *e = (struct acl_edit){.schema = s, .st = st};
    e->roles = copy_items(acl->roles, acl->nroles, 1, sizeof(*e->roles));
    e->grants = copy_items(acl->grants, acl->ngrants, 0, sizeof(*e->grants));
    e->members = copy_items(acl->members, acl->nmembers, 0, sizeof(*e->members));
    e->nroles = acl->nroles;
    e->ngrants = e->grants_cap = acl->ngrants;
    e->nmembers = e->members_cap = acl->nmembers;
    if (!e->roles || !e->grants || !e->members)
        return EM_FAIL_OOM(st);
    return EM_OK;
}

static void edit_free(struct acl_edit *e)
{
    free(e->roles);
    free(e->grants);
    free(e->members);
}

/* The edit becomes the schema's acl (the arrays copied into its arena); frees the edit. */
static enum em_code edit_commit(struct acl_edit *e)
{
    struct sp_arena *arena = &e->schema->arena;
    struct sp_acl *acl = sp_arena_alloc(arena, sizeof(*acl));
    struct sp_role *roles = sp_arena_alloc(arena, (size_t)(e->nroles + 1) * sizeof(*roles));
    struct sp_grant *grants = sp_arena_alloc(arena, (size_t)(e->ngrants + 1) * sizeof(*grants));
    struct sp_role_member *members =
        sp_arena_alloc(arena, (size_t)(e->nmembers + 1) * sizeof(*members));
    enum em_code code = EM_OK;
    if (!acl || !roles || !grants || !members) {
        code = EM_FAIL_OOM(e->st);
    } else {
        memcpy(roles, e->roles, (size_t)e->nroles * sizeof(*roles));
        memcpy(grants, e->grants, (size_t)e->ngrants * sizeof(*grants));
        memcpy(members, e->members, (size_t)e->nmembers * sizeof(*members));
        *acl = (struct sp_acl){roles, e->nroles, grants, e->ngrants, members, e->nmembers};
        e->schema->acl = acl;
    }
    edit_free(e);
    return code;
}

static const char *keep(struct acl_edit *e, const char *text)
{
    const char *copy = sp_arena_strdup(&e->schema->arena, text);
    if (!copy)
        EM_FAIL_OOM(e->st);
    return copy;
}

static bool same_grant(const struct sp_grant *a, const struct sp_grant *b)
{
    return a->on == b->on && a->privilege == b->privilege && strcasecmp(a->role, b->role) == 0 &&
           strcasecmp(a->object, b->object) == 0 && (a->column == NULL) == (b->column == NULL) &&
           (!a->column || strcasecmp(a->column, b->column) == 0);
}

static enum em_code add_grant(struct acl_edit *e, const struct sp_grant *g)
{
    for (int i = 0; i < e->ngrants; i++)
        if (same_grant(&e->grants[i], g))
            return EM_OK; /* granted already */
    if (e->ngrants == e->grants_cap) {
        int cap = e->grants_cap ? 2 * e->grants_cap : 16;
        struct sp_grant *grants = realloc(e->grants, (size_t)cap * sizeof(*grants));
        if (!grants)
            return EM_FAIL_OOM(e->st);
        e->grants = grants;
        e->grants_cap = cap;
    }
    e->grants[e->ngrants] = *g;
    e->grants[e->ngrants++].seq = e->schema->next_seq++;
    return EM_OK;
}

static void remove_grant(struct acl_edit *e, const struct sp_grant *g)
{
    for (int i = 0; i < e->ngrants; i++)
        if (same_grant(&e->grants[i], g)) {
            memmove(&e->grants[i], &e->grants[i + 1],
                    (size_t)(e->ngrants - i - 1) * sizeof(*e->grants));
            e->ngrants--;
            return;
        }
}

/* ---- names ---- */

static enum em_code role_name(struct sp_parser *p, const char **name)
{
    if (sp_expect_identifier(p, "role name", name))
        return p->st->code;
    bool ok = isalpha((unsigned char)(*name)[0]) && strlen(*name) <= ROLE_NAME_MAX;
    for (const char *c = *name; ok && *c; c++)
        ok = isalnum((unsigned char)*c) || *c == '_';
    if (!ok)
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "Invalid role name %.130s: a role name is a letter, then letters, digits "
                       "and underscores, at most %d characters.",
                       *name, ROLE_NAME_MAX);
    return EM_OK;
}

/* An existing role named in a GRANT or REVOKE, as the schema spells it. */
static enum em_code existing_role(struct sp_parser *p, const struct sp_schema *s, const char **name)
{
    const char *raw;
    if (role_name(p, &raw))
        return p->st->code;
    *name = sp_role_find(s, raw);
    if (!*name)
        return EM_FAIL(p->st, EM_NOT_FOUND, "Role not found: %s.", raw);
    return EM_OK;
}

/* "ROLE a, b, ..." (TO ROLE / FROM ROLE lists): existing roles into names[*count]. */
static enum em_code role_list(struct sp_parser *p, const struct sp_schema *s, const char **names,
                              int *count)
{
    *count = 0;
    if (sp_expect_keyword(p, "ROLE"))
        return p->st->code;
    do {
        if (*count == LIST_MAX)
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Too many roles in one statement.");
        if (existing_role(p, s, &names[(*count)++]))
            return p->st->code;
    } while (sp_accept_op(p, ","));
    return EM_OK;
}

/* ---- CREATE ROLE, DROP ROLE ---- */

enum em_code sp_role_create(struct sp_parser *p, struct sp_schema *s, struct em_status *st)
{
    const char *name;
    if (role_name(p, &name))
        return st->code;
    if (is_system_role(name) || strncasecmp(name, "spanner_", 8) == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Role name %s is reserved: public and names that start with spanner_ "
                       "belong to Spanner's system roles.",
                       name);
    if (sp_role_find(s, name))
        return EM_FAIL(st, EM_FAILED_PRECONDITION, "Duplicate name in schema: %s.", name);
    if (s->acl && s->acl->nroles >= SP_ROLES_MAX)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Cannot create role %s: a database has at most %d roles.", name,
                       SP_ROLES_MAX);
    struct acl_edit e;
    if (edit_begin(&e, s, st)) {
        edit_free(&e);
        return st->code;
    }
    const char *kept = keep(&e, name);
    if (!kept) {
        edit_free(&e);
        return st->code;
    }
    e.roles[e.nroles++] = (struct sp_role){kept, s->next_seq++};
    return edit_commit(&e);
}

enum em_code sp_role_drop(struct sp_parser *p, struct sp_schema *s, struct em_status *st)
{
    const char *raw;
    if (role_name(p, &raw))
        return st->code;
    const char *name = sp_role_find(s, raw);
    if (!name)
        return EM_FAIL(st, EM_NOT_FOUND, "Role not found: %s.", raw);
    if (is_system_role(name))
        return EM_FAIL(st, EM_FAILED_PRECONDITION, "Cannot drop system role %s.", name);
    const struct sp_acl *acl = s->acl;
    for (int i = 0; i < acl->ngrants; i++)
        if (strcasecmp(acl->grants[i].role, name) == 0)
            return EM_FAIL(st, EM_FAILED_PRECONDITION,
                           "Cannot drop role %s: it has privileges (%s on %s %s). Revoke them "
                           "first.",
                           name, sp_privilege_name(acl->grants[i].privilege),
                           sp_grant_object_name(acl->grants[i].on), acl->grants[i].object);
    for (int i = 0; i < acl->nmembers; i++) {
        const struct sp_role_member *m = &acl->members[i];
        if (strcasecmp(m->role, name) == 0 || strcasecmp(m->member, name) == 0)
            return EM_FAIL(st, EM_FAILED_PRECONDITION,
                           "Cannot drop role %s: role %s is a member of role %s. Revoke the "
                           "membership first.",
                           name, m->member, m->role);
    }
    struct acl_edit e;
    if (edit_begin(&e, s, st)) {
        edit_free(&e);
        return st->code;
    }
    for (int i = 0; i < e.nroles; i++)
        if (e.roles[i].name == name) {
            memmove(&e.roles[i], &e.roles[i + 1], (size_t)(e.nroles - i - 1) * sizeof(*e.roles));
            e.nroles--;
            break;
        }
    return edit_commit(&e);
}

/* ---- GRANT / REVOKE ROLE ---- */

/* Whether `member` has `role`, directly or through other roles, in the edit. */
static bool has_role(const struct acl_edit *e, const char *member, const char *role, int depth)
{
    if (strcasecmp(member, role) == 0)
        return true;
    if (depth > SP_ROLES_MAX + 3)
        return false;
    for (int i = 0; i < e->nmembers; i++)
        if (strcasecmp(e->members[i].member, member) == 0 &&
            has_role(e, e->members[i].role, role, depth + 1))
            return true;
    return false;
}

static enum em_code membership(struct acl_edit *e, const char *role, const char *member,
                               bool revoke)
{
    struct em_status *st = e->st;
    if (strcasecmp(role, SP_ROLE_PUBLIC) == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Role public cannot be granted to a role: every role has its privileges.");
    if (is_system_role(member))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "System role %s cannot be a member of other roles.",
                       member);
    for (int i = 0; i < e->nmembers; i++)
        if (strcasecmp(e->members[i].role, role) == 0 &&
            strcasecmp(e->members[i].member, member) == 0) {
            if (revoke) {
                memmove(&e->members[i], &e->members[i + 1],
                        (size_t)(e->nmembers - i - 1) * sizeof(*e->members));
                e->nmembers--;
            }
            return EM_OK; /* granted already */
        }
    if (revoke)
        return EM_OK;
    if (has_role(e, role, member, 0))
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Cannot grant role %s to role %s: %s is already a member of %s, and role "
                       "membership cannot be circular.",
                       role, member, role, member);
    if (e->nmembers == e->members_cap) {
        int cap = e->members_cap ? 2 * e->members_cap : 16;
        struct sp_role_member *members = realloc(e->members, (size_t)cap * sizeof(*members));
        if (!members)
            return EM_FAIL_OOM(st);
        e->members = members;
        e->members_cap = cap;
    }
    e->members[e->nmembers++] = (struct sp_role_member){role, member, e->schema->next_seq++};
    return EM_OK;
}

/* GRANT ROLE a, b TO ROLE c, d (or REVOKE ... FROM ROLE ...), the parser after ROLE. */
static enum em_code grant_roles(struct sp_parser *p, struct sp_schema *s, bool revoke,
                                struct em_status *st)
{
    const char *roles[LIST_MAX], *members[LIST_MAX];
    int nroles = 0, nmembers;
    do {
        if (nroles == LIST_MAX)
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "Too many roles in one statement.");
        if (existing_role(p, s, &roles[nroles++]))
            return st->code;
    } while (sp_accept_op(p, ","));
    if (sp_expect_keyword(p, revoke ? "FROM" : "TO") || role_list(p, s, members, &nmembers))
        return st->code;
    struct acl_edit e;
    enum em_code code = edit_begin(&e, s, st);
    for (int i = 0; !code && i < nroles; i++)
        for (int k = 0; !code && k < nmembers; k++)
            code = membership(&e, roles[i], members[k], revoke);
    if (code) {
        edit_free(&e);
        return code;
    }
    return edit_commit(&e);
}

/* ---- GRANT / REVOKE privileges ---- */

struct privilege_item {
    enum sp_privilege privilege;
    const char **columns; /* in the parser's arena; NULL: the whole object */
    int ncolumns;
};

#define PRIVILEGES_MAX 16

static enum em_code privilege_item(struct sp_parser *p, struct privilege_item *item)
{
    const struct sp_token *tok = sp_peek(p);
    *item = (struct privilege_item){0};
    enum sp_privilege privilege = SP_PRIV_SELECT;
    bool found = false;
    for (size_t i = 0; i < sizeof(privilege_names) / sizeof(*privilege_names) && !found; i++)
        if (sp_token_is_keyword(tok, privilege_names[i])) {
            privilege = (enum sp_privilege)i;
            found = true;
        }
    if (!found) {
        if (tok->kind == SP_TOK_IDENT && !sp_is_reserved(tok->value))
            return sp_unsupported(p, tok, "This privilege");
        return sp_syntax_error(p);
    }
    sp_next(p);
    item->privilege = privilege;
    if (!sp_accept_op(p, "("))
        return EM_OK;
    const char *names[LIST_MAX];
    int n = 0;
    do {
        if (n == LIST_MAX)
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Too many columns in a privilege's list.");
        if (sp_expect_identifier(p, "column name", &names[n++]))
            return p->st->code;
    } while (sp_accept_op(p, ","));
    if (sp_expect_op(p, ")"))
        return p->st->code;
    item->columns = sp_arena_alloc(p->arena, (size_t)n * sizeof(*item->columns));
    if (!item->columns)
        return EM_FAIL_OOM(p->st);
    memcpy(item->columns, names, (size_t)n * sizeof(*names));
    item->ncolumns = n;
    return EM_OK;
}

/* ON TABLE | VIEW | CHANGE STREAM | TABLE FUNCTION */
static enum em_code object_kind(struct sp_parser *p, enum sp_grant_object *on)
{
    if (sp_expect_keyword(p, "ON"))
        return p->st->code;
    const struct sp_token *tok = sp_peek(p);
    if (sp_accept_keyword(p, "TABLE"))
        *on = sp_accept_keyword(p, "FUNCTION") ? SP_ON_TABLE_FUNCTION : SP_ON_TABLE;
    else if (sp_accept_keyword(p, "VIEW"))
        *on = SP_ON_VIEW;
    else if (sp_accept_keyword(p, "SEQUENCE"))
        *on = SP_ON_SEQUENCE;
    else if (sp_accept_keyword(p, "SCHEMA"))
        *on = SP_ON_SCHEMA;
    else if (sp_accept_keyword(p, "CHANGE")) {
        if (sp_expect_keyword(p, "STREAM"))
            return p->st->code;
        *on = SP_ON_CHANGE_STREAM;
    } else if (tok->kind == SP_TOK_IDENT && !sp_is_reserved(tok->value)) {
        char what[96];
        snprintf(what, sizeof(what), "Privileges on %.40s", tok->value);
        return sp_unsupported(p, tok, what);
    } else {
        return sp_syntax_error(p);
    }
    return EM_OK;
}

/* An object a GRANT names, as the schema spells it; NOT_FOUND when there is none. */
static enum em_code find_object(struct sp_parser *p, const struct sp_schema *s,
                                enum sp_grant_object on, const char *raw, const char **name,
                                const struct sp_table **table)
{
    *table = NULL;
    *name = NULL;
    if (on == SP_ON_TABLE && (*table = sp_schema_table_or_synonym(s, raw)) != NULL)
        *name = (*table)->name;
    if (on == SP_ON_VIEW) {
        const struct sp_view *v = sp_schema_view(s, raw);
        *name = v ? v->name : NULL;
    }
    if (on == SP_ON_CHANGE_STREAM) {
        const struct sp_change_stream *cs = sp_schema_change_stream(s, raw);
        *name = cs ? cs->name : NULL;
    }
    if (on == SP_ON_SEQUENCE) {
        const struct sp_sequence *q = sp_schema_sequence(s, raw);
        *name = q ? q->name : NULL;
    }
    if (on == SP_ON_SCHEMA)
        *name = sp_schema_named_schema(s, raw);
    if (on == SP_ON_TABLE_FUNCTION && strncasecmp(raw, "READ_", 5) == 0) {
        const struct sp_change_stream *cs = sp_schema_change_stream(s, raw + 5);
        char *text = cs ? sp_arena_alloc(p->arena, strlen(cs->name) + 6) : NULL;
        if (cs && !text)
            return EM_FAIL_OOM(p->st);
        if (text)
            sprintf(text, "READ_%s", cs->name);
        *name = text;
    }
    if (*name)
        return EM_OK;
    char label[32]; /* "Table not found: ..." */
    snprintf(label, sizeof(label), "%s", sp_grant_object_labels[on]);
    label[0] = (char)toupper((unsigned char)label[0]);
    return EM_FAIL(p->st, EM_NOT_FOUND, "%s not found: %.130s", label, raw);
}

/* The privileges an object of kind `on` takes: a table's four (columns for all but
 * DELETE); a view's and a change stream's SELECT; a change stream function's EXECUTE; a
 * sequence's SELECT (its state) and UPDATE (drawing from it); a named schema's USAGE. */
static enum em_code check_privilege(struct sp_parser *p, enum sp_grant_object on,
                                    const struct privilege_item *item)
{
    const char *privilege = sp_privilege_name(item->privilege);
    enum sp_privilege x = item->privilege;
    bool allowed = on == SP_ON_TABLE            ? x != SP_PRIV_EXECUTE && x != SP_PRIV_USAGE
                   : on == SP_ON_TABLE_FUNCTION ? x == SP_PRIV_EXECUTE
                   : on == SP_ON_SEQUENCE       ? x == SP_PRIV_SELECT || x == SP_PRIV_UPDATE
                   : on == SP_ON_SCHEMA         ? x == SP_PRIV_USAGE
                                                : x == SP_PRIV_SELECT;
    if (!allowed)
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Privilege %s cannot be granted on a %s.",
                       privilege, sp_grant_object_labels[on]);
    if (item->columns && (on != SP_ON_TABLE || x == SP_PRIV_DELETE))
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "Privilege %s takes no column list on a %s: only SELECT, INSERT and "
                       "UPDATE on a table do.",
                       privilege, on == SP_ON_TABLE ? "table" : "non-table object");
    return EM_OK;
}

/* Applies one privilege (with its columns) on one object to one role. */
static enum em_code apply_privilege(struct acl_edit *e, const struct privilege_item *item,
                                    enum sp_grant_object on, const char *object,
                                    const struct sp_table *table, const char *role, bool revoke)
{
    struct sp_grant g = {.role = role, .on = on, .object = object, .privilege = item->privilege};
    for (int c = 0; c < (item->columns ? item->ncolumns : 1); c++) {
        if (item->columns) {
            const struct sp_column *column = sp_table_column(table, item->columns[c]);
            if (!column)
                return EM_FAIL(e->st, EM_NOT_FOUND, "Column not found in table %s: %.130s",
                               table->name, item->columns[c]);
            g.column = column->name;
        }
        if (revoke) {
            remove_grant(e, &g);
            continue;
        }
        struct sp_grant kept = g;
        if (!(kept.object = keep(e, object)) || add_grant(e, &kept))
            return e->st->code;
    }
    return EM_OK;
}

/* GRANT privileges ON kind objects TO ROLE roles (REVOKE ... FROM ROLE ...). */
static enum em_code grant_privileges(struct sp_parser *p, struct sp_schema *s, bool revoke,
                                     struct em_status *st)
{
    struct privilege_item items[PRIVILEGES_MAX];
    int nitems = 0;
    do {
        if (nitems == PRIVILEGES_MAX)
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "Too many privileges in one statement.");
        if (privilege_item(p, &items[nitems++]))
            return st->code;
    } while (sp_accept_op(p, ","));
    enum sp_grant_object on = SP_ON_TABLE;
    if (object_kind(p, &on))
        return st->code;
    const char *objects[LIST_MAX], *roles[LIST_MAX];
    const struct sp_table *tables[LIST_MAX];
    int nobjects = 0, nroles;
    do {
        const char *raw;
        if (nobjects == LIST_MAX)
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "Too many objects in one statement.");
        if (sp_expect_object_name(p, "object name", &raw) ||
            find_object(p, s, on, raw, &objects[nobjects], &tables[nobjects]))
            return st->code;
        nobjects++;
    } while (sp_accept_op(p, ","));
    if (sp_expect_keyword(p, revoke ? "FROM" : "TO") || role_list(p, s, roles, &nroles))
        return st->code;
    for (int i = 0; i < nitems; i++)
        if (check_privilege(p, on, &items[i]))
            return st->code;
    for (int r = 0; r < nroles; r++)
        if (strcasecmp(roles[r], SP_ROLE_INFO_READER) == 0 ||
            strcasecmp(roles[r], SP_ROLE_SYS_READER) == 0)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Privileges cannot be granted to or revoked from system role %s.",
                           roles[r]);
    struct acl_edit e;
    enum em_code code = edit_begin(&e, s, st);
    for (int r = 0; !code && r < nroles; r++)
        for (int o = 0; !code && o < nobjects; o++)
            for (int i = 0; !code && i < nitems; i++)
                code = apply_privilege(&e, &items[i], on, objects[o], tables[o], roles[r], revoke);
    if (code) {
        edit_free(&e);
        return code;
    }
    return edit_commit(&e);
}

enum em_code sp_role_grant(struct sp_parser *p, struct sp_schema *s, bool revoke,
                           struct em_status *st)
{
    if (sp_accept_keyword(p, "ROLE"))
        return grant_roles(p, s, revoke, st);
    return grant_privileges(p, s, revoke, st);
}

/* ---- what other DDL meets ---- */

enum em_code sp_roles_rename_table(struct sp_schema *s, const char *from, const char *to,
                                   struct em_status *st)
{
    if (!s->acl)
        return EM_OK;
    struct acl_edit e;
    if (edit_begin(&e, s, st)) {
        edit_free(&e);
        return st->code;
    }
    for (int i = 0; i < e.ngrants; i++)
        if (e.grants[i].on == SP_ON_TABLE && strcasecmp(e.grants[i].object, from) == 0)
            e.grants[i].object = to;
    return edit_commit(&e);
}

enum em_code sp_roles_droppable(const struct sp_schema *s, enum sp_grant_object on,
                                const char *object, const char *column, struct em_status *st)
{
    for (int i = 0; s->acl && i < s->acl->ngrants; i++) {
        const struct sp_grant *g = &s->acl->grants[i];
        if (g->on != on || strcasecmp(g->object, object) != 0 ||
            (column && (!g->column || strcasecmp(g->column, column) != 0)))
            continue;
        if (column)
            return EM_FAIL(st, EM_FAILED_PRECONDITION,
                           "Cannot drop column %s.%s: privilege %s on it is granted to role %s. "
                           "Revoke it first.",
                           object, column, sp_privilege_name(g->privilege), g->role);
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Cannot drop %s %s: privilege %s on it is granted to role %s. Revoke it "
                       "first.",
                       sp_grant_object_labels[on], object, sp_privilege_name(g->privilege),
                       g->role);
    }
    return EM_OK;
}

/* ---- getDdl ---- */

/* Statements of the grants: per role and object, in the order of their first grant, one
 * GRANT of the privileges on the whole object and one of those on columns. */
static int grant_groups(const struct sp_acl *acl, bool *first_of_group)
{
    int groups = 0;
    for (int i = 0; i < acl->ngrants; i++) {
        const struct sp_grant *g = &acl->grants[i];
        first_of_group[i] = true;
        for (int k = 0; k < i && first_of_group[i]; k++) {
            const struct sp_grant *o = &acl->grants[k];
            if (o->on == g->on && strcasecmp(o->role, g->role) == 0 &&
                strcasecmp(o->object, g->object) == 0 && (o->column == NULL) == (g->column == NULL))
                first_of_group[i] = false;
        }
        groups += first_of_group[i];
    }
    return groups;
}

int sp_roles_statement_count(const struct sp_schema *s)
{
    if (!s->acl)
        return 0;
    return s->acl->nroles + s->acl->ngrants + s->acl->nmembers; /* at most */
}

/* GRANT SELECT, INSERT ON TABLE T TO ROLE r, or GRANT SELECT(a, b), UPDATE(b) ON ... */
static void print_grant(const struct sp_acl *acl, int first, struct sp_buf *out)
{
    const struct sp_grant *g = &acl->grants[first];
    sp_buf_puts(out, "GRANT ");
    bool any = false;
    for (int p = SP_PRIV_SELECT; p <= SP_PRIV_USAGE; p++) {
        bool printed = false;
        for (int i = first; i < acl->ngrants; i++) {
            const struct sp_grant *o = &acl->grants[i];
            if ((int)o->privilege != p || o->on != g->on || strcasecmp(o->role, g->role) != 0 ||
                strcasecmp(o->object, g->object) != 0 || (o->column == NULL) != (g->column == NULL))
                continue;
            if (!printed)
                sp_buf_printf(out, "%s%s%s", any ? ", " : "", privilege_names[p],
                              o->column ? "(" : "");
            else
                sp_buf_puts(out, ", ");
            if (o->column)
                sp_buf_puts(out, o->column);
            printed = any = true;
            if (!o->column)
                break;
        }
        if (printed && g->column)
            sp_buf_puts(out, ")");
    }
    sp_buf_printf(out, " ON %s %s TO ROLE %s", object_names[g->on], g->object, g->role);
}

bool sp_roles_statements(const struct sp_schema *s, char **out, int *count)
{
    const struct sp_acl *acl = s->acl;
    if (!acl)
        return true;
    bool *first = calloc((size_t)acl->ngrants + 1, sizeof(*first));
    if (!first)
        return false;
    grant_groups(acl, first);
    int n = acl->nroles + acl->ngrants + acl->nmembers;
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        struct sp_buf buf = {0};
        if (i < acl->nroles)
            sp_buf_printf(&buf, "CREATE ROLE %s", acl->roles[i].name);
        else if (i < acl->nroles + acl->ngrants) {
            if (!first[i - acl->nroles])
                continue;
            print_grant(acl, i - acl->nroles, &buf);
        } else {
            const struct sp_role_member *m = &acl->members[i - acl->nroles - acl->ngrants];
            sp_buf_printf(&buf, "GRANT ROLE %s TO ROLE %s", m->role, m->member);
        }
        if (!(out[*count] = sp_buf_take(&buf)))
            ok = false;
        else
            (*count)++;
    }
    free(first);
    return ok;
}
