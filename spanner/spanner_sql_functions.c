/*
 * spanner_sql_functions: GoogleSQL semantics SQLite lacks, as SQLite user functions over
 * the storage forms of spanner_value.h: checked INT64 arithmetic, exact NUMERIC
 * arithmetic (value * 10^9 in 128 bits, 256-bit intermediates for * and /), CAST with
 * Spanner's errors (SAFE_CAST returns NULL instead), case-sensitive LIKE, SUBSTR and the
 * string helpers, sp_raise() for the schema's triggers (a write check: its failure is a
 * constraint's, SQLITE_CONSTRAINT, which invalidates a read-write transaction; see
 * spanner_txn.h) and sp_error() for an expression's error. Errors are "CODE: message".
 */
#include "spanner_sql_functions.h"
#include "spanner_sql_udf.h"

#include "em_json.h"
#include "em_log.h"
#include "spanner_schema.h"
#include "spanner_sql_mem.h"
#include "spanner_value.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unicase.h>

static void fn_error(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *message = (const char *)sqlite3_value_text(argv[0]);
    sqlite3_result_error(ctx, message ? message : "INTERNAL: error", -1);
}

/* sp_error_function(message): GoogleSQL's ERROR(), OUT_OF_RANGE with the caller's message.
 * Not deterministic, so SQLite never evaluates it ahead of the row that reaches it. */
static void fn_error_function(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *message = (const char *)sqlite3_value_text(argv[0]);
    if (!message) {
        sp_fn_error(ctx, "OUT_OF_RANGE: ERROR function called with NULL value");
        return;
    }
    char *error = sqlite3_mprintf("OUT_OF_RANGE: %s", message);
    if (!error) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sp_fn_error(ctx, error);
    sqlite3_free(error);
}

/* A write check failed: the statement fails as a constraint does (SQLITE_CONSTRAINT). */
static void constraint_error(sqlite3_context *ctx, const char *message)
{
    sqlite3_result_error(ctx, message, -1);
    sqlite3_result_error_code(ctx, SQLITE_CONSTRAINT_TRIGGER);
}

static void fn_raise(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *message = (const char *)sqlite3_value_text(argv[0]);
    constraint_error(ctx, message ? message : "INTERNAL: constraint");
}

/* ---- INSERT OR UPDATE's one row per key (spanner_sql_translate.c, insert_once) ---- */

/* One key part as ZetaSQL prints a value: Int64(1), String("x"), Bytes(b"\x01"),
 * Date(2020-01-02), Date(NULL). */
static void key_part(struct sp_buf *out, const char *type, sqlite3_value *v)
{
    static const struct {
        const char *type, *name;
    } names[] = {{"INT64", "Int64"},     {"STRING", "String"},  {"BYTES", "Bytes"},
                 {"BOOL", "Bool"},       {"FLOAT64", "Double"}, {"FLOAT32", "Float"},
                 {"NUMERIC", "Numeric"}, {"DATE", "Date"},      {"TIMESTAMP", "Timestamp"},
                 {"JSON", "Json"}};
    const char *name = type;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i].type, type) == 0)
            name = names[i].name;
    sp_buf_printf(out, "%s(", name);
    const unsigned char *text = sqlite3_value_text(v);
    size_t len = (size_t)sqlite3_value_bytes(v);
    sp_numeric number;
    char digits[SP_NUMERIC_TEXT_MAX];
    if (sqlite3_value_type(v) == SQLITE_NULL) {
        sp_buf_puts(out, "NULL");
    } else if (strcmp(type, "STRING") == 0 || strcmp(type, "BYTES") == 0) {
        const unsigned char *b = strcmp(type, "BYTES") == 0 ? sqlite3_value_blob(v) : text;
        sp_buf_puts(out, strcmp(type, "BYTES") == 0 ? "b\"" : "\"");
        for (size_t i = 0; b && i < len; i++) {
            if (b[i] == '"' || b[i] == '\\')
                sp_buf_printf(out, "\\%c", b[i]);
            else if (b[i] < 0x20 || (b[i] >= 0x7f && strcmp(type, "BYTES") == 0))
                sp_buf_printf(out, "\\x%02x", b[i]);
            else
                sp_buf_append(out, (const char *)&b[i], 1);
        }
        sp_buf_puts(out, "\"");
    } else if (strcmp(type, "BOOL") == 0) {
        sp_buf_puts(out, sqlite3_value_int64(v) ? "true" : "false");
    } else if (strcmp(type, "NUMERIC") == 0 &&
               sp_numeric_decode((const char *)text, len, &number)) {
        sp_numeric_format(number, digits);
        sp_buf_puts(out, digits);
    } else {
        sp_buf_append(out, (const char *)text, len);
    }
    sp_buf_puts(out, ")");
}

/* sp_affect_once(rows of this key, 'TYPE,TYPE', key parts...): 1, or INVALID_ARGUMENT
 * naming the key when the statement writes it more than once. */
static void fn_affect_once(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sqlite3_value_int64(argv[0]) <= 1) {
        sqlite3_result_int(ctx, 1);
        return;
    }
    const char *types = (const char *)sqlite3_value_text(argv[1]);
    struct sp_buf message = {0};
    sp_buf_puts(&message, "INVALID_ARGUMENT: Cannot affect a row second time for key: {");
    for (int i = 2; i < argc && types; i++) {
        const char *comma = strchr(types, ',');
        char type[32];
        size_t n = comma ? (size_t)(comma - types) : strlen(types);
        snprintf(type, sizeof(type), "%.*s", (int)(n < sizeof(type) ? n : sizeof(type) - 1), types);
        sp_buf_puts(&message, i > 2 ? ", " : "");
        key_part(&message, type, argv[i]);
        types = comma ? comma + 1 : NULL;
    }
    sp_buf_puts(&message, "}");
    if (message.failed)
        sqlite3_result_error_nomem(ctx);
    else
        sqlite3_result_error(ctx, message.data, (int)message.len);
    sp_buf_free(&message);
}

/* ---- INT64 ---- */

/* a op b, false (with the error set) on overflow. */
static bool int64_step(sqlite3_context *ctx, long long a, char op, long long b, long long *r)
{
    bool overflow = op == '+'   ? __builtin_add_overflow(a, b, r)
                    : op == '-' ? __builtin_sub_overflow(a, b, r)
                                : __builtin_mul_overflow(a, b, r);
    if (overflow)
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: int64 overflow: %lld %c %lld", a, op, b);
    return !overflow;
}

/* ((a op b) op c) ...: the translator writes a chain of one operator as one call (argc >= 2)
 * so that long chains do not nest (spanner_sql_translate.c, chain()). Evaluated left to
 * right as the nested calls would be: the result is NULL from the first NULL operand on,
 * and an overflow before it is an error. */
static void int64_fold(sqlite3_context *ctx, int argc, sqlite3_value **argv, char op)
{
    if (argc < 2) {
        SP_FN_ERROR(ctx, "INTERNAL: operator %c needs two operands", op);
        return;
    }
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    long long r = sqlite3_value_int64(argv[0]);
    for (int i = 1; i < argc; i++) {
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
            return;
        if (!int64_step(ctx, r, op, sqlite3_value_int64(argv[i]), &r))
            return;
    }
    sqlite3_result_int64(ctx, r);
}

static void fn_int64_add(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_fold(ctx, argc, argv, '+');
}

static void fn_int64_sub(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_fold(ctx, argc, argv, '-');
}

static void fn_int64_mul(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_fold(ctx, argc, argv, '*');
}

static void fn_int64_neg(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    long long a = sqlite3_value_int64(argv[0]);
    if (a == (-9223372036854775807LL - 1)) {
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: int64 overflow: -(%lld)", a);
        return;
    }
    sqlite3_result_int64(ctx, -a);
}

/* DIV and MOD: zero divisors and INT64_MIN / -1 are errors. */
static void int64_division(sqlite3_context *ctx, sqlite3_value **argv, bool mod)
{
    long long a = sqlite3_value_int64(argv[0]), b = sqlite3_value_int64(argv[1]);
    if (b == 0) {
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: division by zero: %s(%lld, %lld)", mod ? "MOD" : "DIV", a,
                    b);
        return;
    }
    if (b == -1 && a == (-9223372036854775807LL - 1)) {
        if (mod)
            sqlite3_result_int64(ctx, 0);
        else
            SP_FN_ERROR(ctx, "OUT_OF_RANGE: int64 overflow: DIV(%lld, %lld)", a, b);
        return;
    }
    sqlite3_result_int64(ctx, mod ? a % b : a / b);
}

static void fn_int64_intdiv(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (!sp_fn_any_null(argc, argv))
        int64_division(ctx, argv, false);
}

static void fn_int64_mod(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (!sp_fn_any_null(argc, argv))
        int64_division(ctx, argv, true);
}

static void fn_int64_shift(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    long long a = sqlite3_value_int64(argv[0]), b = sqlite3_value_int64(argv[1]);
    bool left = sqlite3_value_int(argv[2]) != 0;
    if (b < 0) {
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Bit shift by a negative offset: %lld", b);
        return;
    }
    unsigned long long u = (unsigned long long)a;
    if (b >= 64)
        sqlite3_result_int64(ctx, 0);
    else
        sqlite3_result_int64(ctx, (long long)(left ? u << b : u >> b));
}

/* a op b: an overflow of finite operands is OUT_OF_RANGE as in GoogleSQL, as is a division
 * by zero; NaN and infinities otherwise follow IEEE 754 (inf - inf is NaN). false (with the
 * error set) on an error. */
static bool float64_step(sqlite3_context *ctx, double a, char op, double b, double *r)
{
    if (op == '/' && b == 0) {
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: division by zero: %g / %g", a, b);
        return false;
    }
    *r = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : a / b;
    if (isinf(*r) && isfinite(a) && isfinite(b)) {
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: double overflow: %g %c %g", a, op, b);
        return false;
    }
    return true;
}

/* ((a op b) op c) ... as int64_fold. */
static void float64_fold(sqlite3_context *ctx, int argc, sqlite3_value **argv, char op)
{
    if (argc < 2) {
        SP_FN_ERROR(ctx, "INTERNAL: operator %c needs two operands", op);
        return;
    }
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    double r = sp_value_float(argv[0]);
    for (int i = 1; i < argc; i++) {
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
            return;
        if (!float64_step(ctx, r, op, sp_value_float(argv[i]), &r))
            return;
    }
    sp_result_float(ctx, r);
}

static void fn_float64_add(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    float64_fold(ctx, argc, argv, '+');
}

static void fn_float64_sub(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    float64_fold(ctx, argc, argv, '-');
}

static void fn_float64_mul(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    float64_fold(ctx, argc, argv, '*');
}

static void fn_float64_div(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    float64_fold(ctx, argc, argv, '/');
}

static void fn_float64_neg(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (!sp_fn_any_null(argc, argv))
        sp_result_float(ctx, -sp_value_float(argv[0]));
}

/* IEEE_DIVIDE(a, b): IEEE 754 division, never an error (1/0 is +inf, 0/0 NaN). */
static void fn_ieee_divide(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (!sp_fn_any_null(argc, argv))
        sp_result_float(ctx, sp_value_float(argv[0]) / sp_value_float(argv[1]));
}

/* SAFE_DIVIDE(a, b) of FLOAT64: NULL where a / b is an error (zero divisor, overflow). */
static void fn_float64_safe_div(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    double a = sp_value_float(argv[0]), b = sp_value_float(argv[1]), r = a / b;
    if (b != 0 && !(isinf(r) && isfinite(a) && isfinite(b)))
        sp_result_float(ctx, r);
}

/* sp_float_order(x): a BLOB whose byte order is GoogleSQL's order of FLOAT64 values
 * (NaN < -inf < ... < -0 = 0 < ... < +inf), NULL for NULL. ORDER BY and key ranges sort
 * FLOAT64 values by it, since SQLite sorts NaN's TEXT storage after every number. A
 * number's key is its IEEE 754 bits, big-endian, sign bit flipped (all bits for a negative
 * number); NaN's is eight zero bytes, below -inf's 00 0F FF ... */
static void fn_float_order(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    unsigned char key[8] = {0};
    double d = sp_value_float(argv[0]);
    if (!isnan(d)) {
        uint64_t bits;
        d = d == 0 ? 0.0 : d; /* -0 and 0 are equal */
        memcpy(&bits, &d, sizeof(bits));
        bits = bits >> 63 ? ~bits : bits | (1ULL << 63);
        for (int i = 0; i < 8; i++)
            key[i] = (unsigned char)(bits >> (56 - 8 * i));
    }
    sqlite3_result_blob(ctx, key, sizeof(key), SQLITE_TRANSIENT);
}

/* ---- NUMERIC ---- */

static bool numeric_arg(sqlite3_context *ctx, sqlite3_value *v, sp_numeric *out)
{
    const char *key = (const char *)sqlite3_value_text(v);
    if (key && sp_numeric_decode(key, (size_t)sqlite3_value_bytes(v), out))
        return true;
    sp_fn_error(ctx, "INTERNAL: a NUMERIC value is not in its storage form");
    return false;
}

static void numeric_result(sqlite3_context *ctx, sp_numeric value, const char *op)
{
    if (!sp_numeric_in_range(value)) {
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: numeric overflow in %s", op);
        return;
    }
    char key[SP_NUMERIC_KEY_LEN + 1];
    sp_numeric_encode(value, key);
    sqlite3_result_text(ctx, key, SP_NUMERIC_KEY_LEN, SQLITE_TRANSIENT);
}

typedef unsigned __int128 u128;

struct u256 {
    u128 hi, lo;
};

static struct u256 mul_u128(u128 a, u128 b)
{
    u128 mask = ((u128)1 << 64) - 1;
    u128 a0 = a & mask, a1 = a >> 64, b0 = b & mask, b1 = b >> 64;
    u128 p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    u128 mid = (p00 >> 64) + (p01 & mask) + (p10 & mask);
    struct u256 r;
    r.lo = (p00 & mask) | (mid << 64);
    r.hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    return r;
}

/* n / d rounded half away from zero; false when the quotient does not fit 127 bits. */
static bool div_u256_round(struct u256 n, u128 d, u128 *q)
{
    u128 quotient = 0, rem = 0;
    for (int i = 255; i >= 0; i--) {
        u128 bit = i >= 128 ? (n.hi >> (i - 128)) & 1 : (n.lo >> i) & 1;
        rem = (rem << 1) | bit;
        if (rem >= d) {
            rem -= d;
            if (i >= 127)
                return false;
            quotient |= (u128)1 << i;
        }
    }
    if (rem >= d - rem)
        quotient++;
    *q = quotient;
    return true;
}

#define NUMERIC_SCALE 1000000000

static bool numeric_mul(sp_numeric a, sp_numeric b, sp_numeric *out)
{
    bool negative = (a < 0) != (b < 0);
    u128 q;
    if (!div_u256_round(mul_u128((u128)(a < 0 ? -a : a), (u128)(b < 0 ? -b : b)), NUMERIC_SCALE,
                        &q))
        return false;
    *out = negative ? -(sp_numeric)q : (sp_numeric)q;
    return sp_numeric_in_range(*out);
}

static bool numeric_div(sp_numeric a, sp_numeric b, sp_numeric *out)
{
    bool negative = (a < 0) != (b < 0);
    u128 q;
    if (!div_u256_round(mul_u128((u128)(a < 0 ? -a : a), NUMERIC_SCALE), (u128)(b < 0 ? -b : b),
                        &q))
        return false;
    *out = negative ? -(sp_numeric)q : (sp_numeric)q;
    return sp_numeric_in_range(*out);
}

static void numeric_binary(sqlite3_context *ctx, int argc, sqlite3_value **argv, char op)
{
    sp_numeric a, b, r = 0;
    if (sp_fn_any_null(argc, argv) || !numeric_arg(ctx, argv[0], &a) ||
        !numeric_arg(ctx, argv[1], &b))
        return;
    char text_a[SP_NUMERIC_TEXT_MAX], text_b[SP_NUMERIC_TEXT_MAX];
    bool ok = true;
    if ((op == '/' || op == 'd' || op == '%') && b == 0) {
        sp_numeric_format(a, text_a);
        sp_numeric_format(b, text_b);
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: division by zero: %s / %s", text_a, text_b);
        return;
    }
    switch (op) {
    case '+': /* two values near 10^38 (scaled) add up past 128 bits */
        ok = !__builtin_add_overflow(a, b, &r);
        break;
    case '-':
        ok = !__builtin_sub_overflow(a, b, &r);
        break;
    case '*':
        ok = numeric_mul(a, b, &r);
        break;
    case '/':
        ok = numeric_div(a, b, &r);
        break;
    case 'd': /* DIV: the integer part of a / b */
        r = a / b * NUMERIC_SCALE;
        break;
    default: /* MOD */
        r = a % b;
        break;
    }
    if (!ok) {
        sp_numeric_format(a, text_a);
        sp_numeric_format(b, text_b);
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: numeric overflow: %s %c %s", text_a, op, text_b);
        return;
    }
    char what[2] = {op, '\0'};
    numeric_result(ctx, r, what);
}

static void fn_numeric_add(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    numeric_binary(ctx, argc, argv, '+');
}

static void fn_numeric_sub(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    numeric_binary(ctx, argc, argv, '-');
}

static void fn_numeric_mul(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    numeric_binary(ctx, argc, argv, '*');
}

static void fn_numeric_div(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    numeric_binary(ctx, argc, argv, '/');
}

/* SAFE_DIVIDE(a, b) of NUMERIC: NULL where a / b is an error (zero divisor, overflow). */
static void fn_numeric_safe_div(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    sp_numeric a, b, r;
    if (sp_fn_any_null(argc, argv) || !numeric_arg(ctx, argv[0], &a) ||
        !numeric_arg(ctx, argv[1], &b))
        return;
    if (b != 0 && numeric_div(a, b, &r))
        numeric_result(ctx, r, "SAFE_DIVIDE");
}

/* a op b of INT64 ('n': -a); false on overflow */
static bool int64_safe(char op, long long a, long long b, long long *r)
{
    switch (op) {
    case '+':
        return !__builtin_add_overflow(a, b, r);
    case '-':
        return !__builtin_sub_overflow(a, b, r);
    case '*':
        return !__builtin_mul_overflow(a, b, r);
    default:
        return !__builtin_sub_overflow(0LL, a, r);
    }
}

/* a op b of NUMERIC ('n': -a); false on overflow */
static bool numeric_safe(char op, sp_numeric a, sp_numeric b, sp_numeric *r)
{
    bool ok = op == '*'   ? numeric_mul(a, b, r)
              : op == '+' ? !__builtin_add_overflow(a, b, r)
              : op == '-' ? !__builtin_sub_overflow(a, b, r)
                          : !__builtin_sub_overflow((sp_numeric)0, a, r);
    return ok && sp_numeric_in_range(*r);
}

/* sp_safe_arith(op, type, a, b): SAFE_ADD ('+'), SAFE_SUBTRACT ('-'), SAFE_MULTIPLY ('*')
 * and SAFE_NEGATE ('n', b unused) of INT64, NUMERIC, FLOAT64 or FLOAT32: NULL where the
 * operator would fail with an overflow. */
static void fn_safe_arith(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    char op = *(const char *)sqlite3_value_text(argv[0]);
    const char *type = (const char *)sqlite3_value_text(argv[1]);
    if (sqlite3_value_type(argv[2]) == SQLITE_NULL ||
        (op != 'n' && sqlite3_value_type(argv[3]) == SQLITE_NULL))
        return;
    if (strcmp(type, "INT64") == 0) {
        long long r;
        if (int64_safe(op, sqlite3_value_int64(argv[2]), sqlite3_value_int64(argv[3]), &r))
            sqlite3_result_int64(ctx, r);
    } else if (strcmp(type, "NUMERIC") == 0) {
        sp_numeric a, b = 0, r;
        if (numeric_arg(ctx, argv[2], &a) && (op == 'n' || numeric_arg(ctx, argv[3], &b)) &&
            numeric_safe(op, a, b, &r))
            numeric_result(ctx, r, "SAFE");
    } else {
        double a = sp_value_float(argv[2]), b = op == 'n' ? 0 : sp_value_float(argv[3]);
        double r = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : -a;
        double limit = strcmp(type, "FLOAT32") == 0 ? FLT_MAX : DBL_MAX;
        if (!(fabs(r) > limit) || !isfinite(a) || !isfinite(b))
            sp_result_float(ctx, r);
    }
}

static void fn_numeric_intdiv(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    numeric_binary(ctx, argc, argv, 'd');
}

static void fn_numeric_mod(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    numeric_binary(ctx, argc, argv, '%');
}

static void fn_numeric_neg(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    sp_numeric a;
    if (!sp_fn_any_null(argc, argv) && numeric_arg(ctx, argv[0], &a))
        numeric_result(ctx, -a, "-");
}

/* sp_numeric_round(x, digits, trunc): ROUND (half away from zero) or TRUNC of a NUMERIC
 * to digits after the point (before it when negative); Spanner's "numeric overflow:
 * ROUND(x, digits)" when the result leaves NUMERIC's range. */
static void fn_numeric_round(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    sp_numeric a;
    if (sp_fn_any_null(argc, argv) || !numeric_arg(ctx, argv[0], &a))
        return;
    long long digits = sqlite3_value_int64(argv[1]);
    bool trunc_only = sqlite3_value_int(argv[2]) != 0;
    if (digits >= 9) {
        numeric_result(ctx, a, "ROUND");
        return;
    }
    sp_numeric magnitude = a < 0 ? -a : a, rounded = 0;
    if (digits >= -29) { /* the unit, 10^(9 - digits), is at most 10^38 */
        sp_numeric unit = 1;
        for (long long i = digits; i < 9; i++)
            unit *= 10;
        sp_numeric kept = magnitude / unit, rest = magnitude % unit;
        if (!trunc_only && rest >= unit - rest)
            kept++;
        rounded = kept * unit; /* kept <= 10^29 and unit <= 10^38 / kept's digits: fits */
    }
    sp_numeric value = a < 0 ? -rounded : rounded;
    if (!sp_numeric_in_range(value)) {
        char text[SP_NUMERIC_TEXT_MAX];
        sp_numeric_format(a, text);
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: numeric overflow: %s(%s, %lld)",
                    trunc_only ? "TRUNC" : "ROUND", text, digits);
        return;
    }
    numeric_result(ctx, value, "ROUND");
}

/* SUM and AVG of NUMERIC. SQLite's aggregate context is only 8-byte aligned, so the
 * 128-bit sum is kept as bytes and copied in and out. */
struct numeric_acc {
    unsigned char sum[sizeof(sp_numeric)];
    long long count;
    bool overflow;
};

static sp_numeric acc_sum(const struct numeric_acc *acc)
{
    sp_numeric sum;
    memcpy(&sum, acc->sum, sizeof(sum));
    return sum;
}

static void numeric_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct numeric_acc *acc = sqlite3_aggregate_context(ctx, sizeof(*acc));
    sp_numeric v;
    if (!acc || sqlite3_value_type(argv[0]) == SQLITE_NULL || !numeric_arg(ctx, argv[0], &v))
        return;
    sp_numeric sum = acc->overflow ? 0 : acc_sum(acc) + v;
    memcpy(acc->sum, &sum, sizeof(sum));
    acc->count++;
    if (!sp_numeric_in_range(sum))
        acc->overflow = true;
}

static void numeric_sum_final(sqlite3_context *ctx)
{
    struct numeric_acc *acc = sqlite3_aggregate_context(ctx, 0);
    if (!acc || acc->count == 0)
        return;
    if (acc->overflow)
        sp_fn_error(ctx, "OUT_OF_RANGE: numeric overflow in SUM");
    else
        numeric_result(ctx, acc_sum(acc), "SUM");
}

static void numeric_avg_final(sqlite3_context *ctx)
{
    struct numeric_acc *acc = sqlite3_aggregate_context(ctx, 0);
    sp_numeric avg;
    if (!acc || acc->count == 0)
        return;
    if (acc->overflow || !numeric_div(acc_sum(acc), (sp_numeric)acc->count * NUMERIC_SCALE, &avg))
        sp_fn_error(ctx, "OUT_OF_RANGE: numeric overflow in AVG");
    else
        numeric_result(ctx, avg, "AVG");
}

/* SUM of INT64, in 128 bits: only the total must fit INT64, as in Spanner (SQLite's sum()
 * failed when a partial sum left the range: MAX + 1 - 5 is MAX - 4). */
static void int64_sum_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct numeric_acc *acc = sqlite3_aggregate_context(ctx, sizeof(*acc));
    if (!acc || sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    sp_numeric sum = acc_sum(acc) + sqlite3_value_int64(argv[0]); /* 2^64 terms to overflow */
    memcpy(acc->sum, &sum, sizeof(sum));
    acc->count++;
}

static void int64_sum_final(sqlite3_context *ctx)
{
    struct numeric_acc *acc = sqlite3_aggregate_context(ctx, 0);
    if (!acc || acc->count == 0)
        return;
    sp_numeric sum = acc_sum(acc);
    if (sum > INT64_MAX || sum < INT64_MIN)
        sp_fn_error(ctx, "OUT_OF_RANGE: int64 overflow");
    else
        sqlite3_result_int64(ctx, (sqlite3_int64)sum);
}

/* ---- CAST ---- */

struct cast_error {
    char message[300];
};

static bool cast_fail(struct cast_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool cast_fail(struct cast_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return false;
}

static bool round_double_to_int64(double d, long long *out, struct cast_error *err)
{
    char text[64];
    snprintf(text, sizeof(text), "%g", d);
    if (!isfinite(d))
        return cast_fail(err,
                         "OUT_OF_RANGE: Illegal conversion of non-finite floating point "
                         "number to an integer: %s",
                         text);
    double r = round(d); /* half away from zero */
    if (r < -9223372036854775808.0 || r >= 9223372036854775808.0)
        return cast_fail(err, "OUT_OF_RANGE: int64 out of range: %s", text);
    *out = (long long)r;
    return true;
}

/* A float as CAST(... AS STRING) prints it: a FLOAT64 with 15 significant digits, or 17
 * when 15 do not read back the same (1/3 is 0.33333333333333331); a FLOAT32 with the
 * fewest of 6 to 9 that do (0.33333334). */
static void format_double(double d, bool float32, char *out, size_t size)
{
    if (isnan(d)) {
        snprintf(out, size, "nan");
    } else if (isinf(d)) {
        snprintf(out, size, d > 0 ? "inf" : "-inf");
    } else if (float32) {
        for (int precision = 6; precision <= 9; precision++) {
            snprintf(out, size, "%.*g", precision, d);
            if ((float)strtod(out, NULL) == (float)d)
                break;
        }
    } else {
        snprintf(out, size, "%.15g", d);
        if (strtod(out, NULL) != d)
            snprintf(out, size, "%.17g", d);
    }
}

static bool parse_int64_text(const char *text, long long *out)
{
    while (isspace((unsigned char)*text))
        text++;
    const char *p = text;
    bool negative = false;
    if (*p == '+' || *p == '-')
        negative = *p++ == '-';
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        base = 16, p += 2;
    if (!isxdigit((unsigned char)*p))
        return false;
    char *end;
    errno = 0;
    unsigned long long magnitude = strtoull(p, &end, base);
    while (isspace((unsigned char)*end))
        end++;
    if (*end || errno || magnitude > (negative ? 9223372036854775808ULL : 9223372036854775807ULL))
        return false;
    *out = negative ? (long long)(0 - magnitude) : (long long)magnitude;
    return true;
}

/* The GoogleSQL text of a stored value of type from, into out (for CAST AS STRING). */
static bool value_text(sqlite3_value *v, int from, char *out, size_t size)
{
    sp_numeric n;
    switch (from) {
    case SP_TYPE_BOOL:
        snprintf(out, size, "%s", sqlite3_value_int64(v) ? "true" : "false");
        return true;
    case SP_TYPE_INT64:
        snprintf(out, size, "%lld", (long long)sqlite3_value_int64(v));
        return true;
    case SP_TYPE_FLOAT64:
    case SP_TYPE_FLOAT32:
        format_double(sp_value_float(v), from == SP_TYPE_FLOAT32, out, size);
        return true;
    case SP_TYPE_NUMERIC:
        if (!sp_numeric_decode((const char *)sqlite3_value_text(v), (size_t)sqlite3_value_bytes(v),
                               &n))
            return false;
        sp_numeric_format(n, out);
        return true;
    default:
        return false;
    }
}

static bool cast_to_string(sqlite3_context *ctx, sqlite3_value *v, int from, struct cast_error *err)
{
    char text[SP_NUMERIC_TEXT_MAX + 32];
    if (from == SP_TYPE_BYTES) {
        const char *data = sqlite3_value_blob(v);
        size_t len = (size_t)sqlite3_value_bytes(v);
        if (len && memchr(data, 0, len)) /* (em_utf8_valid refuses NUL too) */
            return cast_fail(err, "%s", SP_NUL_IN_STRING);
        if (len && !em_utf8_valid(data, len, NULL))
            return cast_fail(err, "OUT_OF_RANGE: Invalid UTF-8 in BYTES cast to STRING%s", "");
        sqlite3_result_text(ctx, data ? data : "", (int)len, SQLITE_TRANSIENT);
        return true;
    }
    if (from == SP_TYPE_DATE) {
        sqlite3_result_value(ctx, v);
        return true;
    }
    if (!value_text(v, from, text, sizeof(text)))
        return cast_fail(err, "INTERNAL: unexpected stored value%s", "");
    sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
    return true;
}

static bool cast_from_string(sqlite3_context *ctx, const char *s, int to, struct cast_error *err)
{
    long long i;
    sp_numeric n;
    char key[SP_TIMESTAMP_KEY_LEN + SP_NUMERIC_KEY_LEN];
    switch (to) {
    case SP_TYPE_BOOL:
        if (strcasecmp(s, "true") != 0 && strcasecmp(s, "false") != 0)
            return cast_fail(err, "OUT_OF_RANGE: Bad bool value: %s", s);
        sqlite3_result_int(ctx, strcasecmp(s, "true") == 0);
        return true;
    case SP_TYPE_INT64:
        if (!parse_int64_text(s, &i))
            return cast_fail(err, "OUT_OF_RANGE: Bad int64 value: %s", s);
        sqlite3_result_int64(ctx, i);
        return true;
    case SP_TYPE_FLOAT64:
    case SP_TYPE_FLOAT32: {
        char *end;
        while (isspace((unsigned char)*s))
            s++;
        double d = strtod(s, &end);
        while (isspace((unsigned char)*end))
            end++;
        if (end == s || *end)
            return cast_fail(err, "OUT_OF_RANGE: Bad double value: %s", s);
        sp_result_float(ctx, to == SP_TYPE_FLOAT32 ? (double)(float)d : d);
        return true;
    }
    case SP_TYPE_NUMERIC: {
        const char *from = s, *to_end = s + strlen(s); /* spaces around it are allowed */
        while (isspace((unsigned char)*from))
            from++;
        while (to_end > from && isspace((unsigned char)to_end[-1]))
            to_end--;
        char *digits = strndup(from, (size_t)(to_end - from));
        if (!digits) {
            sqlite3_result_error_nomem(ctx);
            return false;
        }
        bool parsed = sp_numeric_parse(digits, &n);
        free(digits);
        if (!parsed)
            return cast_fail(err, "OUT_OF_RANGE: Invalid NUMERIC value: %s", s);
        sp_numeric_encode(n, key);
        sqlite3_result_text(ctx, key, -1, SQLITE_TRANSIENT);
        return true;
    }
    case SP_TYPE_BYTES:
        sqlite3_result_blob(ctx, s, (int)strlen(s), SQLITE_TRANSIENT);
        return true;
    case SP_TYPE_DATE: {
        int64_t days;
        if (!sp_date_parse(s, &days))
            return cast_fail(err, "OUT_OF_RANGE: Invalid date: '%s'", s);
        sp_date_format(days, key);
        sqlite3_result_text(ctx, key, -1, SQLITE_TRANSIENT);
        return true;
    }
    case SP_TYPE_TIMESTAMP: {
        struct sp_timestamp ts;
        if (!sp_timestamp_parse_text(s, NULL, &ts))
            return cast_fail(err, "OUT_OF_RANGE: Invalid timestamp: '%s'", s);
        sp_timestamp_encode(&ts, key);
        sqlite3_result_text(ctx, key, -1, SQLITE_TRANSIENT);
        return true;
    }
    default:
        return cast_fail(err, "INTERNAL: unsupported cast%s", "");
    }
}

static bool cast_numeric_value(sqlite3_context *ctx, sqlite3_value *v, int from, int to,
                               struct cast_error *err)
{
    char text[SP_NUMERIC_TEXT_MAX + 32], key[SP_NUMERIC_KEY_LEN + 1];
    long long i = 0;
    sp_numeric n;
    if (to == SP_TYPE_STRING)
        return cast_to_string(ctx, v, from, err);
    if (from == SP_TYPE_BOOL || from == SP_TYPE_INT64) {
        i = sqlite3_value_int64(v);
        if (to == SP_TYPE_BOOL || to == SP_TYPE_INT64)
            sqlite3_result_int64(ctx, to == SP_TYPE_BOOL ? i != 0 : i);
        else if (to == SP_TYPE_NUMERIC)
            return (sp_numeric_encode((sp_numeric)i * NUMERIC_SCALE, key),
                    sqlite3_result_text(ctx, key, -1, SQLITE_TRANSIENT), true);
        else
            sp_result_float(ctx, to == SP_TYPE_FLOAT32 ? (double)(float)i : (double)i);
        return true;
    }
    if (!value_text(v, from, text, sizeof(text)))
        return cast_fail(err, "INTERNAL: unexpected stored value%s", "");
    if (from == SP_TYPE_NUMERIC && to == SP_TYPE_INT64) {
        sp_numeric_decode((const char *)sqlite3_value_text(v), SP_NUMERIC_KEY_LEN, &n);
        sp_numeric q = n / NUMERIC_SCALE, r = n % NUMERIC_SCALE;
        if (r >= NUMERIC_SCALE / 2)
            q++;
        else if (r <= -NUMERIC_SCALE / 2)
            q--;
        if (q > 9223372036854775807LL || q < (-9223372036854775807LL - 1))
            return cast_fail(err, "OUT_OF_RANGE: int64 out of range: %s", text);
        sqlite3_result_int64(ctx, (long long)q);
        return true;
    }
    if (to == SP_TYPE_INT64) {
        if (!round_double_to_int64(sp_value_float(v), &i, err))
            return false;
        sqlite3_result_int64(ctx, i);
        return true;
    }
    if (to == SP_TYPE_NUMERIC && !isfinite(sp_value_float(v)))
        return cast_fail(err,
                         "OUT_OF_RANGE: Illegal conversion of non-finite floating point "
                         "number to numeric: %s",
                         text);
    if (to == SP_TYPE_NUMERIC) {
        char fixed[400];
        snprintf(fixed, sizeof(fixed), "%.9f", sp_value_float(v));
        if (!sp_numeric_parse(fixed, &n))
            return cast_fail(err, "OUT_OF_RANGE: numeric out of range: %s", text);
        sp_numeric_encode(n, key);
        sqlite3_result_text(ctx, key, -1, SQLITE_TRANSIENT);
        return true;
    }
    /* a NUMERIC from its digits; a float as it is (its text may be a FLOAT32's shorter one) */
    double d = from == SP_TYPE_NUMERIC ? strtod(text, NULL) : sp_value_float(v);
    if (to == SP_TYPE_FLOAT32 && isfinite(d) && isinf((float)d))
        return cast_fail(err, "OUT_OF_RANGE: float out of range: %s", text);
    sp_result_float(ctx, to == SP_TYPE_FLOAT32 ? (double)(float)d : d);
    return true;
}

/* sp_cast(value, from type code, to type code, safe) */
static void fn_cast(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sqlite3_value *v = argv[0];
    int from = sqlite3_value_int(argv[1]), to = sqlite3_value_int(argv[2]);
    bool safe = sqlite3_value_int(argv[3]) != 0;
    struct cast_error err = {{0}};
    bool ok;
    if (sqlite3_value_type(v) == SQLITE_NULL)
        return;
    if (from == SP_TYPE_STRING)
        ok = cast_from_string(ctx, (const char *)sqlite3_value_text(v), to, &err);
    else if (from == SP_TYPE_BYTES || from == SP_TYPE_DATE)
        ok = cast_to_string(ctx, v, from, &err);
    else
        ok = cast_numeric_value(ctx, v, from, to, &err);
    if (ok)
        return;
    if (safe && strncmp(err.message, "OUT_OF_RANGE", 12) == 0)
        sqlite3_result_null(ctx);
    else
        sp_fn_error(ctx, err.message);
}

/* ---- strings ---- */

static size_t utf8_len(const unsigned char *s)
{
    return *s < 0x80 ? 1 : *s < 0xE0 ? 2 : *s < 0xF0 ? 3 : 4;
}

/* LIKE with % and _ (one character of a STRING, one byte of BYTES) and \ escapes. */
static bool like_match(const unsigned char *s, const unsigned char *s_end, const unsigned char *p,
                       const unsigned char *p_end, bool bytes)
{
    const unsigned char *star_p = NULL, *star_s = NULL;
    while (s < s_end) {
        if (p < p_end && *p == '%') {
            star_p = ++p;
            star_s = s;
            continue;
        }
        if (p < p_end && *p == '_') {
            p++;
            s += bytes ? 1 : utf8_len(s);
            continue;
        }
        const unsigned char *lit = p;
        if (p < p_end && *p == '\\' && p + 1 < p_end)
            lit = ++p;
        size_t n = bytes ? 1 : utf8_len(lit);
        if (p < p_end && (size_t)(s_end - s) >= n && (size_t)(p_end - lit) >= n &&
            memcmp(s, lit, n) == 0) {
            p = lit + n;
            s += n;
            continue;
        }
        if (!star_p)
            return false;
        p = star_p;
        star_s += bytes ? 1 : utf8_len(star_s);
        s = star_s;
    }
    while (p < p_end && *p == '%')
        p++;
    return p == p_end;
}

static void fn_like(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    bool bytes = sqlite3_value_type(argv[0]) == SQLITE_BLOB;
    const unsigned char *s = bytes ? sqlite3_value_blob(argv[0]) : sqlite3_value_text(argv[0]);
    size_t slen = (size_t)sqlite3_value_bytes(argv[0]);
    const unsigned char *p = bytes ? sqlite3_value_blob(argv[1]) : sqlite3_value_text(argv[1]);
    size_t plen = (size_t)sqlite3_value_bytes(argv[1]);
    if (!s)
        s = (const unsigned char *)"";
    if (!p)
        p = (const unsigned char *)"";
    if (plen && p[plen - 1] == '\\' && (plen < 2 || p[plen - 2] != '\\')) {
        sp_fn_error(ctx, "OUT_OF_RANGE: LIKE pattern ends with a backslash");
        return;
    }
    sqlite3_result_int(ctx, like_match(s, s + slen, p, p + plen, bytes));
}

#define CONCAT_TOO_LONG                                                                            \
    "OUT_OF_RANGE: Output of CONCAT exceeds max allowed output size of 1048576 bytes"

/* CONCAT and || of STRINGs (text) or BYTES: NULL when one is NULL, refused over
 * SP_FUNCTION_OUTPUT_MAX bytes. */
static void concat(sqlite3_context *ctx, int argc, sqlite3_value **argv, bool text)
{
    if (sp_fn_any_null(argc, argv))
        return;
    size_t total = 0;
    for (int i = 0; i < argc; i++)
        total += (size_t)sqlite3_value_bytes(argv[i]);
    if (total > SP_FUNCTION_OUTPUT_MAX) {
        sp_fn_error(ctx, CONCAT_TOO_LONG);
        return;
    }
    unsigned char *out = sqlite3_malloc64(total + 1);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t at = 0;
    for (int i = 0; i < argc; i++) {
        const void *data =
            text ? (const void *)sqlite3_value_text(argv[i]) : sqlite3_value_blob(argv[i]);
        size_t n = (size_t)sqlite3_value_bytes(argv[i]);
        if (n)
            memcpy(out + at, data, n);
        at += n;
    }
    out[at] = '\0';
    if (text)
        sqlite3_result_text64(ctx, (char *)out, total, sqlite3_free, SQLITE_UTF8);
    else
        sqlite3_result_blob64(ctx, out, total, sqlite3_free);
}

/* sp_concat(a, b, ...): STRINGs */
static void fn_concat(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    concat(ctx, argc, argv, true);
}

/* sp_bytes_concat(a, b, ...): BYTES */
static void fn_bytes_concat(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    concat(ctx, argc, argv, false);
}

/* sp_replace_limit(value): REPLACE's output, refused over SP_FUNCTION_OUTPUT_MAX bytes. */
static void fn_replace_limit(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_bytes(argv[0]) > SP_FUNCTION_OUTPUT_MAX)
        sp_fn_error(ctx, "OUT_OF_RANGE: Output of REPLACE exceeds max allowed output size of 1MB");
    else
        sqlite3_result_value(ctx, argv[0]);
}

/* UPPER/LOWER: BYTES map ASCII only (as GoogleSQL does); STRING maps by Unicode's full
 * case mapping without a language (libunistring, as ICU's root locale in ZetaSQL):
 * U+00DF becomes "SS", a final sigma lowercases to U+03C2, U+0130 to "i" and U+0307. */
static void case_map(sqlite3_context *ctx, sqlite3_value *v, bool upper)
{
    if (sqlite3_value_type(v) == SQLITE_BLOB) {
        const unsigned char *in = sqlite3_value_blob(v);
        int n = sqlite3_value_bytes(v);
        char *out = sqlite3_malloc(n + 1);
        if (!out) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        for (int i = 0; i < n; i++)
            out[i] = (char)(upper ? toupper(in[i]) : tolower(in[i]));
        sqlite3_result_blob(ctx, out, n, sqlite3_free);
        return;
    }
    const uint8_t *in = sqlite3_value_text(v);
    size_t len = 0;
    size_t n = (size_t)sqlite3_value_bytes(v);
    uint8_t *out = upper ? u8_toupper(in ? in : (const uint8_t *)"", n, NULL, NULL, NULL, &len)
                         : u8_tolower(in ? in : (const uint8_t *)"", n, NULL, NULL, NULL, &len);
    sp_fn_result_unistring(ctx, out, len);
}

static void fn_lower(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (!sp_fn_any_null(argc, argv))
        case_map(ctx, argv[0], false);
}

static void fn_upper(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (!sp_fn_any_null(argc, argv))
        case_map(ctx, argv[0], true);
}

/* SUBSTR(value, position[, length]) with GoogleSQL's rules: position 0 is 1, a negative
 * position counts from the end, a negative length is an error. */
static void fn_substr(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    bool bytes = sqlite3_value_type(argv[0]) == SQLITE_BLOB;
    const unsigned char *s = bytes ? sqlite3_value_blob(argv[0]) : sqlite3_value_text(argv[0]);
    size_t n = (size_t)sqlite3_value_bytes(argv[0]);
    long long pos = sqlite3_value_int64(argv[1]);
    long long len = argc == 3 ? sqlite3_value_int64(argv[2]) : (long long)n;
    if (len < 0) {
        sp_fn_error(ctx, "OUT_OF_RANGE: Third argument in SUBSTR() cannot be negative");
        return;
    }
    if (!s)
        s = (const unsigned char *)"";
    /* unit boundaries: bytes, or UTF-8 characters */
    long long units = 0;
    for (size_t i = 0; i < n; i += bytes ? 1 : utf8_len(s + i))
        units++;
    long long start = pos > 0 ? pos - 1 : pos == 0 ? 0 : units + pos;
    if (start < 0)
        start = 0;
    long long end = len > units - start ? units : start + len;
    size_t from = n, to = n, i = 0;
    for (long long u = 0; u <= units; u++) {
        if (u == start)
            from = i;
        if (u == end)
            to = i;
        if (i < n)
            i += bytes ? 1 : utf8_len(s + i);
    }
    if (start >= units)
        from = to = n;
    if (bytes)
        sqlite3_result_blob(ctx, s + from, (int)(to - from), SQLITE_TRANSIENT);
    else
        sqlite3_result_text(ctx, (const char *)s + from, (int)(to - from), SQLITE_TRANSIENT);
}

static void affix(sqlite3_context *ctx, sqlite3_value **argv, bool prefix)
{
    const void *s = sqlite3_value_blob(argv[0]), *a = sqlite3_value_blob(argv[1]);
    size_t n = (size_t)sqlite3_value_bytes(argv[0]), m = (size_t)sqlite3_value_bytes(argv[1]);
    bool hit = m <= n && (m == 0 || memcmp((const char *)s + (prefix ? 0 : n - m), a, m) == 0);
    sqlite3_result_int(ctx, hit);
}

static void fn_starts_with(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (!sp_fn_any_null(argc, argv))
        affix(ctx, argv, true);
}

static void fn_ends_with(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (!sp_fn_any_null(argc, argv))
        affix(ctx, argv, false);
}

/* ---- math ---- */

static void fn_abs(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    int code = sqlite3_value_int(argv[1]);
    sp_numeric n;
    if (code == SP_TYPE_INT64) {
        long long a = sqlite3_value_int64(argv[0]);
        if (a == (-9223372036854775807LL - 1))
            SP_FN_ERROR(ctx, "OUT_OF_RANGE: int64 overflow: ABS(%lld)", a);
        else
            sqlite3_result_int64(ctx, a < 0 ? -a : a);
    } else if (code == SP_TYPE_NUMERIC) {
        if (numeric_arg(ctx, argv[0], &n))
            numeric_result(ctx, n < 0 ? -n : n, "ABS");
    } else {
        sp_result_float(ctx, fabs(sp_value_float(argv[0])));
    }
}

static void fn_sign(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    int code = sqlite3_value_int(argv[1]);
    sp_numeric n;
    if (code == SP_TYPE_INT64) {
        long long a = sqlite3_value_int64(argv[0]);
        sqlite3_result_int64(ctx, (a > 0) - (a < 0));
    } else if (code == SP_TYPE_NUMERIC) {
        if (numeric_arg(ctx, argv[0], &n))
            numeric_result(ctx, (sp_numeric)((n > 0) - (n < 0)) * NUMERIC_SCALE, "SIGN");
    } else {
        double d = sp_value_float(argv[0]);
        sp_result_float(ctx, isnan(d) ? d : (d > 0) - (d < 0));
    }
}

/* A NaN out of a number is a domain error (SQRT(-1)); a NaN in gives a NaN out. */
/* The FLOAT64 functions of one argument sp_math names (as GoogleSQL does, upper case). */
static const struct {
    const char *name;
    double (*fn)(double);
    bool overflow_wording; /* "overflow" rather than "error" when the result is infinite */
} math_functions[] = {
    {"SQRT", sqrt},   {"EXP", exp},         {"LN", log},    {"LOG10", log10},
    {"FLOOR", floor}, {"CEIL", ceil},       {"ACOS", acos}, {"ACOSH", acosh},
    {"ASIN", asin},   {"ASINH", asinh},     {"ATAN", atan}, {"ATANH", atanh},
    {"COS", cos},     {"COSH", cosh, true}, {"SIN", sin},   {"SINH", sinh, true},
    {"TAN", tan},     {"TANH", tanh},
};

/* sp_math(name, x): one of math_functions; a finite x whose result is not a number, or
 * is infinite, is Spanner's floating point error. */
static void fn_math(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    const char *name = (const char *)sqlite3_value_text(argv[0]);
    double x = sp_value_float(argv[1]);
    for (size_t i = 0; i < sizeof(math_functions) / sizeof(math_functions[0]); i++) {
        if (strcmp(math_functions[i].name, name) != 0)
            continue;
        if (strcmp(name, "SQRT") == 0 && x < 0) {
            SP_FN_ERROR(ctx, "OUT_OF_RANGE: Argument to SQRT cannot be negative: %g", x);
            return;
        }
        double r = math_functions[i].fn(x);
        if (isfinite(x) && !isfinite(r))
            SP_FN_ERROR(ctx, "OUT_OF_RANGE: Floating point %s in function: %s(%g)",
                        math_functions[i].overflow_wording && isinf(r) ? "overflow" : "error", name,
                        x);
        else
            sp_result_float(ctx, r);
        return;
    }
    SP_FN_ERROR(ctx, "INTERNAL: unknown math function %s", name);
}

/* sp_atan2(y, x): the angle of the point (x, y) */
static void fn_atan2(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (!sp_fn_any_null(argc, argv))
        sp_result_float(ctx, atan2(sp_value_float(argv[0]), sp_value_float(argv[1])));
}

/* sp_log(x, base): the logarithm of x to the base */
static void fn_log(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    double x = sp_value_float(argv[0]), base = sp_value_float(argv[1]);
    double r = isinf(base) ? NAN : log(x) / log(base);
    if (isfinite(x) && isfinite(base) && (!isfinite(r) || x <= 0 || base <= 0 || base == 1))
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Floating point error in function: LOG(%g, %g)", x, base);
    else
        sp_result_float(ctx, r);
}

static void fn_round(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    double x = sp_value_float(argv[0]);
    long long digits = sqlite3_value_int64(argv[1]);
    int mode = sqlite3_value_int(argv[2]); /* 1: TRUNC; 2: a FLOAT32, its result one too */
    double y;
    if (digits > 30 || digits < -30) {
        y = digits > 0 ? x : 0.0;
    } else {
        double scale = pow(10.0, (double)digits);
        y = (mode & 1 ? trunc(x * scale) : round(x * scale)) / scale;
    }
    sp_result_float(ctx, mode & 2 ? (double)(float)y : y);
}

static void fn_pow(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    double x = sp_value_float(argv[0]), y = sp_value_float(argv[1]);
    double r = pow(x, y);
    if ((isnan(r) && !isnan(x) && !isnan(y)) || (isinf(r) && isfinite(x) && isfinite(y)))
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Floating point error in function: POW(%g, %g)", x, y);
    else
        sp_result_float(ctx, r);
}

/* The next UUID of a seeded clock's sequence: SHA-256 of the seed and the counter. */
static bool seeded_uuid(struct sp_sql_clock *clock, unsigned char b[16])
{
    unsigned char input[sizeof(clock->seed) + 8], digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    memcpy(input, clock->seed, sizeof(clock->seed));
    for (int i = 0; i < 8; i++)
        input[sizeof(clock->seed) + i] = (unsigned char)(clock->uuid_next >> (56 - 8 * i));
    clock->uuid_next++;
    if (!EVP_Digest(input, sizeof(input), digest, &len, EVP_sha256(), NULL) || len < 16)
        return false;
    memcpy(b, digest, 16);
    return true;
}

void sp_sequence_draws_free(struct sp_sequence_draws *draws)
{
    free(draws->values);
    *draws = (struct sp_sequence_draws){0};
}

static bool draws_append(struct sp_sequence_draws *draws, int64_t value)
{
    if (draws->count == draws->cap) {
        int cap = draws->cap ? 2 * draws->cap : 8;
        int64_t *grown = realloc(draws->values, (size_t)cap * sizeof(*grown));
        if (!grown)
            return false;
        draws->values = grown;
        draws->cap = cap;
    }
    draws->values[draws->count++] = value;
    return true;
}

/* sp_next_sequence_value(name): GET_NEXT_SEQUENCE_VALUE, recorded or replayed (the clock) */
static void fn_next_sequence_value(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct sp_sql_clock *clock = sqlite3_user_data(ctx);
    const char *name = (const char *)sqlite3_value_text(argv[0]);
    char error[300];
    int64_t value;
    if (clock && clock->draws && clock->draws_next < clock->draws->count) {
        sqlite3_result_int64(ctx, clock->draws->values[clock->draws_next++]);
        return;
    }
    if (!name || !clock || !clock->sequences) {
        SP_FN_ERROR(ctx, "INVALID_ARGUMENT: GET_NEXT_SEQUENCE_VALUE cannot be used here");
        return;
    }
    if (!clock->sequences->draw(clock->sequences->arg, name, &value, error, sizeof(error))) {
        sp_fn_error(ctx, error);
        return;
    }
    if (clock->draws) {
        if (!draws_append(clock->draws, value)) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        clock->draws_next = clock->draws->count;
    }
    sqlite3_result_int64(ctx, value);
}

/* sp_sequence_state(name): GET_INTERNAL_SEQUENCE_STATE, NULL before the first draw */
static void fn_sequence_state(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct sp_sql_clock *clock = sqlite3_user_data(ctx);
    const char *name = (const char *)sqlite3_value_text(argv[0]);
    char error[300];
    int64_t counter;
    bool drawn;
    if (!name || !clock || !clock->sequences) {
        SP_FN_ERROR(ctx, "INVALID_ARGUMENT: GET_INTERNAL_SEQUENCE_STATE cannot be used here");
        return;
    }
    if (!clock->sequences->state(clock->sequences->arg, name, &counter, &drawn, error,
                                 sizeof(error)))
        sp_fn_error(ctx, error);
    else if (drawn)
        sqlite3_result_int64(ctx, counter);
    else
        sqlite3_result_null(ctx);
}

static void fn_generate_uuid(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    struct sp_sql_clock *clock = sqlite3_user_data(ctx);
    unsigned char b[16];
    char out[37];
    if (clock && clock->seeded) {
        if (!seeded_uuid(clock, b)) {
            SP_FN_ERROR(ctx, "INTERNAL: GENERATE_UUID failed");
            return;
        }
    } else {
        sqlite3_randomness(sizeof(b), b);
    }
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    snprintf(out, sizeof(out),
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    sqlite3_result_text(ctx, out, 36, SQLITE_TRANSIENT);
}

/* ---- write checks ---- */

/* A value too long for its column ('Table.Column'), as Spanner words it. */
static void size_error(sqlite3_context *ctx, sqlite3_value *column, long long size, long long limit)
{
    char message[400];
    snprintf(message, sizeof(message),
             "FAILED_PRECONDITION: New value exceeds the maximum size limit for this column: "
             "%s, size: %lld, limit: %lld.",
             (const char *)sqlite3_value_text(column), size, limit);
    constraint_error(ctx, message);
}

/* sp_check_length(value, limit, 'Table.Column'): STRING counts characters, BYTES bytes. */
static void fn_check_length(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sqlite3_value *v = argv[0];
    if (sqlite3_value_type(v) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    long long limit = sqlite3_value_int64(argv[1]), size = 0;
    if (sqlite3_value_type(v) == SQLITE_BLOB) {
        size = sqlite3_value_bytes(v);
    } else {
        const char *text = (const char *)sqlite3_value_text(v); /* before its bytes */
        size = (long long)sp_utf8_chars(text, (size_t)sqlite3_value_bytes(v));
    }
    if (size > limit) {
        size_error(ctx, argv[2], size, limit);
        return;
    }
    sqlite3_result_value(ctx, v);
}

/* The size of an ARRAY<STRING(N)> or ARRAY<BYTES(N)> element held in its JSON text:
 * characters, or the bytes its base64 holds. */
static long long element_size(const char *text, bool bytes)
{
    size_t len = strlen(text);
    if (!bytes)
        return (long long)sp_utf8_chars(text, len);
    size_t padding = len && text[len - 1] == '=' ? 1 + (len > 1 && text[len - 2] == '=') : 0;
    return (long long)(len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) - padding);
}

/* sp_check_array_length(array, limit, 'Table.Column', is_bytes): each element of a value
 * written to an ARRAY<STRING(N)> or ARRAY<BYTES(N)> column within the limit. */
static void fn_check_array_length(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sqlite3_value *v = argv[0];
    cJSON *array = sqlite3_value_type(v) == SQLITE_TEXT
                       ? cJSON_Parse((const char *)sqlite3_value_text(v))
                       : NULL;
    long long limit = sqlite3_value_int64(argv[1]);
    const cJSON *item;
    cJSON_ArrayForEach(item, array)
    {
        long long size =
            cJSON_IsString(item) ? element_size(item->valuestring, sqlite3_value_int(argv[3])) : 0;
        if (size > limit) {
            size_error(ctx, argv[2], size, limit);
            cJSON_Delete(array);
            return;
        }
    }
    cJSON_Delete(array);
    sqlite3_result_value(ctx, v);
}

/* sp_check_limit(n): a LIMIT or OFFSET given by a parameter, checked as the query runs. */
static void fn_check_limit(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Limit requires non-null count and offset");
        return;
    }
    long long v = sqlite3_value_int64(argv[0]);
    if (v < 0) {
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Limit requires non-negative count and offset");
        return;
    }
    sqlite3_result_int64(ctx, v);
}

/* ---- TABLESAMPLE ---- */

/* sp_sample_size(size, percent): a TABLESAMPLE's size as the scan starts (a parameter's
 * value): not NULL, not negative, a percentage at most 100 (NaN, stored as text, is none). */
static void fn_sample_size(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: SampleScan requires non-null size");
        return;
    }
    if (sqlite3_value_int(argv[1])) {
        double percent = sqlite3_value_double(argv[0]);
        bool nan = sqlite3_value_type(argv[0]) == SQLITE_TEXT; /* SP_NAN_TEXT */
        if (nan || !(percent >= 0 && percent <= 100))
            SP_FN_ERROR(ctx, "OUT_OF_RANGE: PERCENT value must be in the range [0, 100]");
        else
            sqlite3_result_double(ctx, percent);
        return;
    }
    sqlite3_int64 rows = sqlite3_value_int64(argv[0]);
    if (rows < 0)
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: SampleScan requires non-negative size");
    else
        sqlite3_result_int64(ctx, rows);
}

/* sp_bernoulli(percent): true with probability percent/100 (a fresh draw per call). */
static void fn_bernoulli(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    uint64_t bits;
    sqlite3_randomness(sizeof(bits), &bits);
    double uniform = (double)(bits >> 11) / 9007199254740992.0; /* [0, 1), 53 bits */
    sqlite3_result_int(ctx, uniform * 100.0 < sqlite3_value_double(argv[0]));
}

/* ---- arrays (stored as their Spanner JSON encoding, see spanner_value.h) ---- */

/* The storage form of an element or field given in its JSON encoding (checked when the
 * value was written): a composite one (ARRAY, STRUCT) stays JSON text; a scalar converts
 * as a parameter value would. */
static void result_from_json(sqlite3_context *ctx, int code, const cJSON *item)
{
    if (cJSON_IsNull(item)) {
        sqlite3_result_null(ctx);
        return;
    }
    if (sp_type_is_composite((enum sp_type_code)code)) {
        char *text = cJSON_PrintUnformatted(item);
        if (!text)
            sqlite3_result_error_nomem(ctx);
        else
            sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
        free(text);
        return;
    }
    struct sp_type type = {code, SP_TYPE_UNKNOWN, SP_LEN_MAX, NULL};
    struct sp_stored stored;
    struct em_status st = {0};
    if (sp_value_from_json(&type, item, "array element", &stored, &st)) {
        SP_FN_ERROR(ctx, "INTERNAL: a stored array element does not match its type: %.200s",
                    st.message);
        return;
    }
    if (stored.kind == SQLITE_INTEGER)
        sqlite3_result_int64(ctx, stored.i);
    else if (stored.kind == SQLITE_FLOAT)
        sp_result_float(ctx, stored.d);
    else if (stored.kind == SQLITE_BLOB)
        sqlite3_result_blob(ctx, stored.data ? stored.data : "", (int)stored.len, SQLITE_TRANSIENT);
    else
        sqlite3_result_text(ctx, stored.data, (int)stored.len, SQLITE_TRANSIENT);
    sp_stored_clear(&stored);
}

/* sp_array_element(json_each.value, element type code): one element in storage form. */
static void fn_array_element(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sqlite3_value *v = argv[0];
    int code = sqlite3_value_int(argv[1]);
    if (sqlite3_value_type(v) == SQLITE_NULL)
        return;
    if (sqlite3_value_type(v) != SQLITE_TEXT || code == SP_TYPE_STRING || code == SP_TYPE_DATE ||
        code == SP_TYPE_JSON || sp_type_is_composite((enum sp_type_code)code)) {
        sqlite3_result_value(ctx, v); /* numbers, booleans, text and JSON text stored as is */
        return;
    }
    /* an element in its JSON string form: convert as a parameter value would be */
    cJSON *json = cJSON_CreateString((const char *)sqlite3_value_text(v));
    if (!json) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    result_from_json(ctx, code, json);
    cJSON_Delete(json);
}

/* sp_array_at(array, position, element type code, mode): a[OFFSET(i)] (mode 0),
 * a[ORDINAL(i)] (1), and their SAFE_ forms (2, 3: NULL out of bounds). A STRUCT's field
 * i is sp_array_at(struct, i, field type code, 0). */
static void fn_array_at(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL)
        return;
    long long position = sqlite3_value_int64(argv[1]);
    int code = sqlite3_value_int(argv[2]), mode = sqlite3_value_int(argv[3]);
    long long index = mode % 2 ? position - 1 : position;
    cJSON *array = cJSON_Parse((const char *)sqlite3_value_text(argv[0]));
    if (!cJSON_IsArray(array)) {
        cJSON_Delete(array);
        sp_fn_error(ctx, "INTERNAL: a stored array is not in its storage form");
        return;
    }
    if (index < 0 || index >= cJSON_GetArraySize(array)) {
        if (mode < 2)
            SP_FN_ERROR(ctx, "OUT_OF_RANGE: Array index %lld is out of bounds", position);
        cJSON_Delete(array);
        return;
    }
    result_from_json(ctx, code, cJSON_GetArrayItem(array, (int)index));
    cJSON_Delete(array);
}

static bool append_element(sqlite3_context *ctx, cJSON *array, int code, sqlite3_value *v)
{
    struct sp_type type = {code, SP_TYPE_UNKNOWN, 0};
    cJSON *item = sp_value_to_json(&type, v);
    if (!item) {
        sp_fn_error(ctx, "INTERNAL: an array element is not in its storage form");
        return false;
    }
    cJSON_AddItemToArray(array, item);
    return true;
}

/* sp_array(element type code, v1, v2, ...): an array literal. */
static void fn_array(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int code = sqlite3_value_int(argv[0]);
    cJSON *array = cJSON_CreateArray();
    if (!array) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    for (int i = 1; i < argc; i++)
        if (!append_element(ctx, array, code, argv[i])) {
            cJSON_Delete(array);
            return;
        }
    sp_fn_result_json(ctx, array);
    cJSON_Delete(array);
}

/* sp_struct(code1, v1, code2, v2, ...): a STRUCT (its fields' JSON list) from storage forms. */
static void fn_struct(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    cJSON *fields = cJSON_CreateArray();
    if (!fields) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    for (int i = 0; i + 1 < argc; i += 2)
        if (!append_element(ctx, fields, sqlite3_value_int(argv[i]), argv[i + 1])) {
            cJSON_Delete(fields);
            return;
        }
    sp_fn_result_json(ctx, fields);
    cJSON_Delete(fields);
}

enum { EQ_FALSE = 0, EQ_TRUE = 1, EQ_NULL = -1 };

/* The end of the shape of one value (see fn_struct_eq) starting at shape. */
static const char *skip_shape(const char *shape)
{
    if (*shape != '(')
        return *shape ? shape + 1 : shape;
    int depth = 0;
    do
        depth += *shape == '(' ? 1 : *shape == ')' ? -1 : 0;
    while (*shape++ && depth > 0);
    return shape;
}

/* GoogleSQL's = on two values in their JSON encoding (both of one type, whose shape
 * *shape reads and advances past): NULL when either is NULL; a STRUCT (a list) field by
 * field, FALSE over NULL over TRUE; a FLOAT64 NaN ("NaN", shape 'f') equal to nothing. */
static int json_values_equal(const cJSON *a, const cJSON *b, const char **shape)
{
    const char *own = *shape;
    *shape = skip_shape(own);
    if (cJSON_IsNull(a) || cJSON_IsNull(b))
        return EQ_NULL;
    if (cJSON_IsArray(a) && cJSON_IsArray(b)) {
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
            return EQ_FALSE;
        const char *field = *own == '(' ? own + 1 : own;
        int result = EQ_TRUE;
        for (const cJSON *x = a->child, *y = b->child; x && y; x = x->next, y = y->next) {
            int one = json_values_equal(x, y, &field);
            if (one == EQ_FALSE)
                return EQ_FALSE;
            if (one == EQ_NULL)
                result = EQ_NULL;
        }
        return result;
    }
    if (*own == 'f' && cJSON_IsString(a) && strcmp(a->valuestring, SP_NAN_TEXT) == 0)
        return EQ_FALSE;
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return a->valuedouble == b->valuedouble ? EQ_TRUE : EQ_FALSE;
    if (cJSON_IsString(a) && cJSON_IsString(b))
        return strcmp(a->valuestring, b->valuestring) == 0 ? EQ_TRUE : EQ_FALSE;
    if (cJSON_IsBool(a) && cJSON_IsBool(b))
        return cJSON_IsTrue(a) == cJSON_IsTrue(b) ? EQ_TRUE : EQ_FALSE;
    return EQ_FALSE;
}

/* sp_struct_eq(a, b, shape): a = b on two STRUCTs of one type (TRUE, FALSE or NULL). The
 * shape names the type's FLOAT64 fields, where a NaN is unequal to itself: '(' a field list
 * ')', 'f' a FLOAT64 or FLOAT32 field, 's' any other, so STRUCT<a FLOAT64, b STRUCT<c
 * STRING>> is "(f(s))". */
static void fn_struct_eq(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL)
        return;
    cJSON *a = cJSON_Parse((const char *)sqlite3_value_text(argv[0]));
    cJSON *b = cJSON_Parse((const char *)sqlite3_value_text(argv[1]));
    const char *shape = (const char *)sqlite3_value_text(argv[2]);
    if (!cJSON_IsArray(a) || !cJSON_IsArray(b) || !shape) {
        sp_fn_error(ctx, "INTERNAL: a STRUCT is not in its storage form");
    } else {
        int equal = json_values_equal(a, b, &shape);
        if (equal != EQ_NULL)
            sqlite3_result_int(ctx, equal);
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* sp_array_agg_<code>(value): ARRAY_AGG and ARRAY(subquery), the element type code in the
 * name (SQLite's DISTINCT aggregates take exactly one argument); NULL elements kept. */
struct array_agg {
    cJSON *array;
    int64_t bytes; /* of the elements as stored: at most SP_BYTES_MAX, a Spanner value's */
};

static void array_agg_add(sqlite3_context *ctx, struct array_agg *agg, sqlite3_value *value)
{
    if (!agg->array && !(agg->array = cJSON_CreateArray())) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    agg->bytes += 8 + sqlite3_value_bytes(value);
    if (agg->bytes > SP_BYTES_MAX) {
        sp_fn_error(ctx, "OUT_OF_RANGE: The array built by ARRAY_AGG or ARRAY(subquery) is "
                         "larger than 10485760 bytes, the most a Spanner value holds.");
        return;
    }
    append_element(ctx, agg->array, (int)(intptr_t)sqlite3_user_data(ctx), value);
}

static void array_agg_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct array_agg *agg = sqlite3_aggregate_context(ctx, sizeof(*agg));
    if (agg)
        array_agg_add(ctx, agg, argv[0]);
}

static void array_agg_final(sqlite3_context *ctx)
{
    struct array_agg *agg = sqlite3_aggregate_context(ctx, 0);
    if (!agg || !agg->array)
        return; /* no rows: NULL */
    if (agg->bytes <= SP_BYTES_MAX)
        sp_fn_result_json(ctx, agg->array);
    cJSON_Delete(agg->array);
    agg->array = NULL;
}

/* sp_array_agg_having_<code>(x, key, max, float, column): the x (NULL too) of every row
 * whose key is the largest (max 1) or the smallest, in sp_array_agg_<code>'s form, over
 * which AGG(x HAVING MAX|MIN key) runs; rows with a NULL key are left out, and a NaN among
 * FLOAT keys leaves no row (NULL), as ANY_VALUE(x HAVING ...) does. column is not used: a
 * column of the query the aggregate belongs to (spanner_sql_translate.c says why). */
struct array_agg_having {
    struct array_agg kept;
    sqlite3_value *key; /* the kept rows' key (a copy), NULL before the first */
    bool nan;
};

static void array_agg_having_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct array_agg_having *agg = sqlite3_aggregate_context(ctx, sizeof(*agg));
    if (!agg || agg->nan || sqlite3_value_type(argv[1]) == SQLITE_NULL)
        return;
    if (sqlite3_value_int(argv[3]) && sp_value_is_nan(argv[1])) {
        agg->nan = true;
        return;
    }
    bool want_max = sqlite3_value_int(argv[2]) != 0;
    int order = agg->key ? sp_having_key_compare(argv[1], agg->key) : 0;
    if (agg->key && (want_max ? order < 0 : order > 0))
        return;                    /* a row below the largest key (or above the smallest) */
    if (!agg->key || order != 0) { /* the first key, or a better one: start again */
        sqlite3_value *key = sqlite3_value_dup(argv[1]);
        if (!key) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        sqlite3_value_free(agg->key);
        agg->key = key;
        cJSON_Delete(agg->kept.array);
        agg->kept = (struct array_agg){0};
    }
    array_agg_add(ctx, &agg->kept, argv[0]);
}

static void array_agg_having_final(sqlite3_context *ctx)
{
    struct array_agg_having *agg = sqlite3_aggregate_context(ctx, 0);
    if (!agg)
        return; /* no rows: NULL */
    if (!agg->nan && agg->kept.array && agg->kept.bytes <= SP_BYTES_MAX)
        sp_fn_result_json(ctx, agg->kept.array);
    cJSON_Delete(agg->kept.array);
    sqlite3_value_free(agg->key);
    *agg = (struct array_agg_having){{0}};
}

/* sp_array_concat_agg(array): ARRAY_CONCAT_AGG, the elements of every non-NULL array in
 * one array (array_agg's state: NULL when no array came) */
static void array_concat_agg_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct array_agg *agg = sqlite3_aggregate_context(ctx, sizeof(*agg));
    if (!agg || sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    if (!agg->array && !(agg->array = cJSON_CreateArray())) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    agg->bytes += sqlite3_value_bytes(argv[0]);
    if (agg->bytes > SP_BYTES_MAX) {
        sp_fn_error(ctx, "OUT_OF_RANGE: The array built by ARRAY_CONCAT_AGG is larger than "
                         "10485760 bytes, the most a Spanner value holds.");
        return;
    }
    cJSON *array = sp_fn_array_arg(ctx, argv[0]);
    if (!array)
        return;
    while (array->child) {
        cJSON *element = cJSON_DetachItemViaPointer(array, array->child);
        cJSON_AddItemToArray(agg->array, element);
    }
    cJSON_Delete(array);
}

/* ---- dates and timestamps (UTC; nothing here needs a time zone) ---- */

#define NANOS_PER_SECOND 1000000000LL

static bool timestamp_arg(sqlite3_context *ctx, sqlite3_value *v, struct sp_timestamp *ts)
{
    bool missing_zone;
    const char *key = (const char *)sqlite3_value_text(v);
    if (key && sp_timestamp_parse(key, ts, &missing_zone))
        return true;
    sp_fn_error(ctx, "INTERNAL: a TIMESTAMP value is not in its storage form");
    return false;
}

static __int128 timestamp_nanos(const struct sp_timestamp *ts)
{
    return (__int128)ts->seconds * NANOS_PER_SECOND + ts->nanos;
}

static void fn_current_timestamp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    const struct sp_sql_clock *clock = sqlite3_user_data(ctx);
    char key[SP_TIMESTAMP_KEY_LEN + 1];
    sp_timestamp_encode(&clock->now, key);
    sqlite3_result_text(ctx, key, SP_TIMESTAMP_KEY_LEN, SQLITE_TRANSIENT);
}

/* sp_commit_ns(): the statement time in ns, where no writer thread stamps commits (the
 * unit tests, tools); spanner_data registers the commit's own over it. */
static void fn_commit_ns(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    const struct sp_sql_clock *clock = sqlite3_user_data(ctx);
    sqlite3_result_int64(ctx, clock->now.seconds * 1000000000 + clock->now.nanos);
}

/* An element of a stored FLOAT64/FLOAT32/INT64 array (spanner_value.h: numbers, or
 * strings for INT64 and for NaN and the infinities); false for a NULL. */
static bool vector_element(const cJSON *item, double *out)
{
    if (cJSON_IsNumber(item)) {
        *out = item->valuedouble;
        return true;
    }
    if (!cJSON_IsString(item))
        return false;
    const char *text = item->valuestring;
    *out = strcmp(text, "NaN") == 0         ? NAN
           : strcmp(text, "Infinity") == 0  ? INFINITY
           : strcmp(text, "-Infinity") == 0 ? -INFINITY
                                            : strtod(text, NULL); /* an INT64's digits */
    return true;
}

/* sp_vector_distance(kind, x, y): COSINE_DISTANCE (0), EUCLIDEAN_DISTANCE (1) or
 * DOT_PRODUCT (2) of two stored arrays, with GoogleSQL's errors. */
static void fn_vector_distance(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[1]) == SQLITE_NULL || sqlite3_value_type(argv[2]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    int kind = sqlite3_value_int(argv[0]);
    cJSON *x = cJSON_Parse((const char *)sqlite3_value_text(argv[1]));
    cJSON *y = cJSON_Parse((const char *)sqlite3_value_text(argv[2]));
    int nx = cJSON_GetArraySize(x), ny = cJSON_GetArraySize(y);
    double dot = 0, xx = 0, yy = 0, squares = 0;
    bool failed = false;
    if (!cJSON_IsArray(x) || !cJSON_IsArray(y)) {
        SP_FN_ERROR(ctx, "INTERNAL: a vector argument is not an array");
        failed = true;
    } else if (nx != ny) {
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Array length mismatch: %d and %d", nx, ny);
        failed = true;
    }
    for (const cJSON *a = x ? x->child : NULL, *b = y ? y->child : NULL; !failed && a && b;
         a = a->next, b = b->next) {
        double u, v;
        bool first = vector_element(a, &u), second = vector_element(b, &v);
        if (!first || !second) {
            SP_FN_ERROR(ctx, "OUT_OF_RANGE: NULL array element in %s argument",
                        first ? "second" : "first");
            failed = true;
            break;
        }
        dot += u * v;
        xx += u * u;
        yy += v * v;
        squares += (u - v) * (u - v);
    }
    if (!failed && kind == 0 && (xx == 0 || yy == 0))
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Cannot compute cosine distance against zero vector");
    else if (!failed)
        sp_result_float(ctx, kind == 0   ? 1 - dot / (sqrt(xx) * sqrt(yy))
                             : kind == 1 ? sqrt(squares)
                                         : dot);
    cJSON_Delete(x);
    cJSON_Delete(y);
}

/* sp_timestamp_of_ns(ns): nanoseconds since the epoch as a TIMESTAMP's storage form */
static void fn_timestamp_of_ns(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    int64_t ns = sqlite3_value_int64(argv[0]);
    int64_t seconds = ns / 1000000000, nanos = ns % 1000000000;
    if (nanos < 0) {
        seconds--;
        nanos += 1000000000;
    }
    struct sp_timestamp ts = {seconds, (int32_t)nanos};
    char text[SP_TIMESTAMP_KEY_LEN + 1];
    sp_timestamp_encode(&ts, text);
    sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
}

/* sp_timestamp_add(ts, amount, nanoseconds per unit) */
static void fn_timestamp_add(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct sp_timestamp ts;
    if (sp_fn_any_null(argc, argv) || !timestamp_arg(ctx, argv[0], &ts))
        return;
    __int128 ns = timestamp_nanos(&ts) +
                  (__int128)sqlite3_value_int64(argv[1]) * sqlite3_value_int64(argv[2]);
    __int128 seconds =
        ns >= 0 ? ns / NANOS_PER_SECOND : -((-ns + NANOS_PER_SECOND - 1) / NANOS_PER_SECOND);
    struct sp_timestamp out = {(int64_t)seconds, (int32_t)(ns - seconds * NANOS_PER_SECOND)};
    char key[SP_TIMESTAMP_KEY_LEN + 1], text[SP_TIMESTAMP_TEXT_MAX];
    bool missing_zone;
    if (seconds < -62135596800LL || seconds > 253402300799LL) {
        sp_timestamp_format(&ts, text);
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Timestamp overflow: %s + %lld", text,
                    (long long)sqlite3_value_int64(argv[1]));
        return;
    }
    sp_timestamp_encode(&out, key);
    (void)missing_zone;
    sqlite3_result_text(ctx, key, SP_TIMESTAMP_KEY_LEN, SQLITE_TRANSIENT);
}

/* sp_timestamp_diff(a, b, nanoseconds per unit): whole units, truncated toward zero. */
static void fn_timestamp_diff(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct sp_timestamp a, b;
    if (sp_fn_any_null(argc, argv) || !timestamp_arg(ctx, argv[0], &a) ||
        !timestamp_arg(ctx, argv[1], &b))
        return;
    __int128 diff = (timestamp_nanos(&a) - timestamp_nanos(&b)) / sqlite3_value_int64(argv[2]);
    if (diff > 9223372036854775807LL || diff < (-9223372036854775807LL - 1)) {
        sp_fn_error(ctx, "OUT_OF_RANGE: int64 overflow in TIMESTAMP_DIFF");
        return;
    }
    sqlite3_result_int64(ctx, (long long)diff);
}

static bool date_arg(sqlite3_context *ctx, sqlite3_value *v, int64_t *days)
{
    const char *text = (const char *)sqlite3_value_text(v);
    if (text && sp_date_parse(text, days))
        return true;
    sp_fn_error(ctx, "INTERNAL: a DATE value is not in its storage form");
    return false;
}

/* DATE's range, in days from 1970-01-01 */
#define MIN_DATE_DAYS (-719162LL) /* 0001-01-01 */
#define MAX_DATE_DAYS 2932896LL   /* 9999-12-31 */

static void date_result(sqlite3_context *ctx, int64_t days)
{
    char text[SP_DATE_TEXT_LEN + 1];
    if (days < MIN_DATE_DAYS || days > MAX_DATE_DAYS) {
        sp_fn_error(ctx, "OUT_OF_RANGE: Date overflow");
        return;
    }
    sp_date_format(days, text);
    sqlite3_result_text(ctx, text, SP_DATE_TEXT_LEN, SQLITE_TRANSIENT);
}

static unsigned month_days(int64_t year, unsigned month)
{
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* sp_date_add(date, amount, part): DAY, WEEK, MONTH, QUARTER, YEAR; a day past the end of
 * the new month becomes its last day, as in GoogleSQL. */
/* days + n parts (DAY, WEEK, MONTH, QUARTER, YEAR); false when out of DATE's range */
static bool date_plus(int64_t days, long long n, const char *part, int64_t *out)
{
    int64_t year;
    unsigned month, day;
    if (n > 4000000 || n < -4000000)
        return false;
    if (strcmp(part, "DAY") == 0 || strcmp(part, "WEEK") == 0) {
        *out = days + n * (strcmp(part, "WEEK") == 0 ? 7 : 1);
        return *out >= MIN_DATE_DAYS && *out <= MAX_DATE_DAYS;
    }
    long long months = strcmp(part, "MONTH") == 0     ? n
                       : strcmp(part, "QUARTER") == 0 ? 3 * n
                                                      : 12 * n;
    sp_civil_from_days(days, &year, &month, &day);
    long long index = year * 12 + (month - 1) + months;
    int64_t new_year = index >= 0 ? index / 12 : -((-index + 11) / 12);
    unsigned new_month = (unsigned)(index - new_year * 12) + 1;
    if (new_year < 1 || new_year > 9999)
        return false;
    unsigned last = month_days(new_year, new_month);
    *out = sp_days_from_civil(new_year, new_month, day > last ? last : day);
    return true;
}

static void fn_date_add(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_t days, sum;
    if (sp_fn_any_null(argc, argv) || !date_arg(ctx, argv[0], &days))
        return;
    if (!date_plus(days, sqlite3_value_int64(argv[1]), (const char *)sqlite3_value_text(argv[2]),
                   &sum))
        sp_fn_error(ctx, "OUT_OF_RANGE: Date overflow");
    else
        date_result(ctx, sum);
}

/* sp_generate_date_array(start, end, step, part): start, then each date step parts after
 * the one before, while not past end (nor past DATE's range) */
static void fn_generate_date_array(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_t day, end;
    if (sp_fn_any_null(argc, argv) || !date_arg(ctx, argv[0], &day) ||
        !date_arg(ctx, argv[1], &end))
        return;
    long long step = sqlite3_value_int64(argv[2]);
    const char *part = (const char *)sqlite3_value_text(argv[3]);
    if (step == 0) {
        sp_fn_error(ctx, "OUT_OF_RANGE: Sequence step cannot be 0.");
        return;
    }
    cJSON *array = cJSON_CreateArray();
    for (int n = 0; array && (step > 0 ? day <= end : day >= end); n++) {
        if (n == SP_GENERATE_ARRAY_MAX) {
            cJSON_Delete(array);
            SP_FN_ERROR(ctx, "OUT_OF_RANGE: Cannot generate arrays with more than %d elements.",
                        SP_GENERATE_ARRAY_MAX);
            return;
        }
        char text[SP_DATE_TEXT_LEN + 1];
        sp_date_format(day, text);
        cJSON *item = cJSON_CreateString(text);
        if (!item || !cJSON_AddItemToArray(array, item)) {
            cJSON_Delete(item);
            cJSON_Delete(array);
            array = NULL;
        } else if (!date_plus(day, step, part, &day)) {
            break;
        }
    }
    if (!array) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sp_fn_result_json(ctx, array);
    cJSON_Delete(array);
}

/* Weeks that start on Sunday: 1970-01-04 (day 3) starts week 1. */
static int64_t sunday_week(int64_t days)
{
    int64_t shifted = days + 4;
    return shifted >= 0 ? shifted / 7 : -((-shifted + 6) / 7);
}

/* Weeks that start on Monday: 1970-01-05 (day 4) starts week 1. */
static int64_t monday_week(int64_t days)
{
    return sunday_week(days - 1);
}

/* sp_date_diff(a, b, part): boundaries crossed from b to a. */
static void fn_date_diff(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_t a, b, ya, yb;
    unsigned ma, mb, da, db;
    if (sp_fn_any_null(argc, argv) || !date_arg(ctx, argv[0], &a) || !date_arg(ctx, argv[1], &b))
        return;
    const char *part = (const char *)sqlite3_value_text(argv[2]);
    sp_civil_from_days(a, &ya, &ma, &da);
    sp_civil_from_days(b, &yb, &mb, &db);
    long long diff;
    if (strcmp(part, "DAY") == 0)
        diff = a - b;
    else if (strcmp(part, "WEEK") == 0)
        diff = sunday_week(a) - sunday_week(b);
    else if (strcmp(part, "MONTH") == 0)
        diff = (ya * 12 + ma) - (yb * 12 + mb);
    else if (strcmp(part, "QUARTER") == 0)
        diff = (ya * 4 + (ma - 1) / 3) - (yb * 4 + (mb - 1) / 3);
    else if (strcmp(part, "ISOWEEK") == 0)
        diff = monday_week(a) - monday_week(b);
    else if (strcmp(part, "ISOYEAR") == 0)
        diff = sp_iso_year(a, NULL) - sp_iso_year(b, NULL);
    else
        diff = ya - yb;
    sqlite3_result_int64(ctx, diff);
}

/* sp_extract_date(part, date) */
static void fn_extract_date(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_t days, year;
    unsigned month, day, iso_week;
    if (sp_fn_any_null(argc, argv) || !date_arg(ctx, argv[1], &days))
        return;
    const char *part = (const char *)sqlite3_value_text(argv[0]);
    sp_civil_from_days(days, &year, &month, &day);
    int64_t jan1 = sp_days_from_civil(year, 1, 1), iso_year = sp_iso_year(days, &iso_week);
    long long value;
    if (strcmp(part, "YEAR") == 0)
        value = year;
    else if (strcmp(part, "MONTH") == 0)
        value = month;
    else if (strcmp(part, "DAY") == 0)
        value = day;
    else if (strcmp(part, "QUARTER") == 0)
        value = (month - 1) / 3 + 1;
    else if (strcmp(part, "DAYOFYEAR") == 0)
        value = days - jan1 + 1;
    else if (strcmp(part, "DAYOFWEEK") == 0)
        value = ((days + 4) % 7 + 7) % 7 + 1; /* 1 = Sunday */
    else if (strcmp(part, "ISOYEAR") == 0)
        value = iso_year;
    else if (strcmp(part, "ISOWEEK") == 0)
        value = iso_week;
    else /* WEEK: Sunday weeks; days before the year's first Sunday are week 0 */
        value = sunday_week(days) - sunday_week(jan1) + (((jan1 + 4) % 7 + 7) % 7 == 0 ? 1 : 0);
    sqlite3_result_int64(ctx, value);
}

/* ---- registration and errors ---- */

struct fn_entry {
    const char *name;
    int nargs;
    bool deterministic;
    void (*fn)(sqlite3_context *, int, sqlite3_value **);
};

static const struct fn_entry scalar_functions[] = {
    {"sp_raise", 1, true, fn_raise},
    {"sp_error", 1, true, fn_error},
    {"sp_error_function", 1, false, fn_error_function},
    {"sp_affect_once", -1, true, fn_affect_once},
    {"sp_int64_add", -1, true, fn_int64_add},
    {"sp_int64_sub", -1, true, fn_int64_sub},
    {"sp_int64_mul", -1, true, fn_int64_mul},
    {"sp_int64_neg", 1, true, fn_int64_neg},
    {"sp_int64_intdiv", 2, true, fn_int64_intdiv},
    {"sp_int64_mod", 2, true, fn_int64_mod},
    {"sp_int64_shift", 3, true, fn_int64_shift},
    {"sp_float64_add", -1, true, fn_float64_add},
    {"sp_float64_sub", -1, true, fn_float64_sub},
    {"sp_float64_mul", -1, true, fn_float64_mul},
    {"sp_float64_div", -1, true, fn_float64_div},
    {"sp_float64_neg", 1, true, fn_float64_neg},
    {"sp_float64_safe_div", 2, true, fn_float64_safe_div},
    {"sp_ieee_divide", 2, true, fn_ieee_divide},
    {"sp_float_order", 1, true, fn_float_order},
    {"sp_numeric_add", 2, true, fn_numeric_add},
    {"sp_numeric_sub", 2, true, fn_numeric_sub},
    {"sp_numeric_mul", 2, true, fn_numeric_mul},
    {"sp_numeric_div", 2, true, fn_numeric_div},
    {"sp_numeric_safe_div", 2, true, fn_numeric_safe_div},
    {"sp_numeric_intdiv", 2, true, fn_numeric_intdiv},
    {"sp_numeric_mod", 2, true, fn_numeric_mod},
    {"sp_numeric_neg", 1, true, fn_numeric_neg},
    {"sp_numeric_round", 3, true, fn_numeric_round},
    {"sp_cast", 4, true, fn_cast},
    {"sp_like", 2, true, fn_like},
    {"sp_bytes_concat", -1, true, fn_bytes_concat},
    {"sp_concat", -1, true, fn_concat},
    {"sp_replace_limit", 1, true, fn_replace_limit},
    {"sp_lower", 1, true, fn_lower},
    {"sp_upper", 1, true, fn_upper},
    {"sp_substr", 2, true, fn_substr},
    {"sp_substr", 3, true, fn_substr},
    {"sp_starts_with", 2, true, fn_starts_with},
    {"sp_ends_with", 2, true, fn_ends_with},
    {"sp_abs", 2, true, fn_abs},
    {"sp_sign", 2, true, fn_sign},
    {"sp_math", 2, true, fn_math},
    {"sp_log", 2, true, fn_log},
    {"sp_atan2", 2, true, fn_atan2},
    {"sp_safe_arith", 4, true, fn_safe_arith},
    {"sp_round", 3, true, fn_round},
    {"sp_pow", 2, true, fn_pow},
    {"sp_check_length", 3, true, fn_check_length},
    {"sp_check_limit", 1, true, fn_check_limit},
    {"sp_check_array_length", 4, true, fn_check_array_length},
    {"sp_sample_size", 2, true, fn_sample_size},
    {"sp_bernoulli", 1, false, fn_bernoulli},
    {"sp_array_element", 2, true, fn_array_element},
    {"sp_array", -1, true, fn_array},
    {"sp_array_at", 4, true, fn_array_at},
    {"sp_struct", -1, true, fn_struct},
    {"sp_struct_eq", 3, true, fn_struct_eq},
    {"sp_timestamp_add", 3, true, fn_timestamp_add},
    {"sp_timestamp_diff", 3, true, fn_timestamp_diff},
    {"sp_date_add", 3, true, fn_date_add},
    {"sp_generate_date_array", 4, true, fn_generate_date_array},
    {"sp_date_diff", 3, true, fn_date_diff},
    {"sp_extract_date", 2, true, fn_extract_date},
};

char sp_fn_safe_marker;

/* Registers a scalar function and its safe twin, "safe_" + its name (spanner_sql_udf.h). */
static int register_with_twin(sqlite3 *db, const char *name, int nargs, int flags,
                              void (*fn)(sqlite3_context *, int, sqlite3_value **))
{
    char twin[64];
    snprintf(twin, sizeof(twin), "safe_%s", name);
    int rc = sqlite3_create_function(db, name, nargs, flags, NULL, fn, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, twin, nargs, flags, SP_FN_SAFE, fn, NULL, NULL);
    return rc;
}

int sp_sql_register_scalars(sqlite3 *db, const struct sp_sql_scalar *functions, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int rc = register_with_twin(db, functions[i].name, functions[i].nargs,
                                    SQLITE_UTF8 | SQLITE_DETERMINISTIC, functions[i].fn);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

int sp_sql_functions_register(sqlite3 *db, struct sp_sql_clock *clock)
{
    sqlite3_limit(db, SQLITE_LIMIT_LENGTH, SP_SQL_LENGTH_MAX);
    for (size_t i = 0; i < sizeof(scalar_functions) / sizeof(scalar_functions[0]); i++) {
        const struct fn_entry *f = &scalar_functions[i];
        int flags = SQLITE_UTF8 | (f->deterministic ? SQLITE_DETERMINISTIC : 0);
        int rc = register_with_twin(db, f->name, f->nargs, flags, f->fn);
        if (rc != SQLITE_OK)
            return rc;
    }
    int rc = sqlite3_create_function(db, "sp_current_timestamp", 0, SQLITE_UTF8, (void *)clock,
                                     fn_current_timestamp, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "sp_commit_ns", 0, SQLITE_UTF8, (void *)clock,
                                     fn_commit_ns, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = register_with_twin(db, "sp_timestamp_of_ns", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                fn_timestamp_of_ns);
    if (rc == SQLITE_OK)
        rc = register_with_twin(db, "sp_vector_distance", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                fn_vector_distance);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "sp_generate_uuid", 0, SQLITE_UTF8, clock,
                                     fn_generate_uuid, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "sp_next_sequence_value", 1, SQLITE_UTF8, clock,
                                     fn_next_sequence_value, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "sp_sequence_state", 1, SQLITE_UTF8, clock,
                                     fn_sequence_state, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "sp_numeric_sum", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                     NULL, NULL, numeric_step, numeric_sum_final);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "sp_int64_sum", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                     NULL, NULL, int64_sum_step, int64_sum_final);
    for (int code = SP_TYPE_UNKNOWN; rc == SQLITE_OK && code <= SP_TYPE_STRUCT; code++) {
        char name[32];
        snprintf(name, sizeof(name), "sp_array_agg_%d", code);
        rc = sqlite3_create_function(db, name, 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                     (void *)(intptr_t)code, NULL, array_agg_step, array_agg_final);
        snprintf(name, sizeof(name), "sp_array_agg_having_%d", code);
        if (rc == SQLITE_OK)
            rc = sqlite3_create_function(db, name, 5, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                         (void *)(intptr_t)code, NULL, array_agg_having_step,
                                         array_agg_having_final);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "sp_array_concat_agg", 1,
                                     SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL,
                                     array_concat_agg_step, array_agg_final);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "sp_numeric_avg", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                     NULL, NULL, numeric_step, numeric_avg_final);
    if (rc == SQLITE_OK)
        rc = sp_sql_text_functions_register(db);
    if (rc == SQLITE_OK)
        rc = sp_sql_format_register(db);
    if (rc == SQLITE_OK)
        rc = sp_sql_time_functions_register(db);
    if (rc == SQLITE_OK)
        rc = sp_sql_strings_arrays_register(db);
    if (rc == SQLITE_OK)
        rc = sp_sql_codes_register(db);
    if (rc == SQLITE_OK)
        rc = sp_sql_json_functions_register(db);
    if (rc == SQLITE_OK)
        rc = sp_sql_json_edit_register(db);
    if (rc == SQLITE_OK)
        rc = sp_sql_net_register(db);
    return rc;
}

/* SQLite's limits on width a valid statement can exceed once translated (127 function
 * arguments, which COALESCE, GREATEST or an array literal pass through; 2000 columns): the
 * statement is refused naming the limit, not answered INTERNAL. Matched on the start of
 * SQLite's message; its nesting limits are handled in sp_sql_error. */
static const struct {
    const char *sqlite_prefix;
    const char *message;
} sqlite_limits[] = {
    {"too many arguments on function",
     "A function call or array literal has more than 127 arguments, more than this emulator "
     "supports"},
    {"too many columns", "Statement has more than 2000 columns, more than this emulator supports"},
};

enum em_code sp_sql_error(sqlite3 *db, int rc, struct em_status *st)
{
    const char *message = db ? sqlite3_errmsg(db) : "";
    const char *colon = strstr(message, ": ");
    if (colon && colon - message < 24) {
        char name[24];
        memcpy(name, message, (size_t)(colon - message));
        name[colon - message] = '\0';
        int code = em_code_from_name(name);
        if (code > 0)
            return EM_FAIL(st, (enum em_code)code, "%s", colon + 2);
    }
    for (size_t i = 0; i < sizeof(sqlite_limits) / sizeof(sqlite_limits[0]); i++)
        if (strncmp(message, sqlite_limits[i].sqlite_prefix,
                    strlen(sqlite_limits[i].sqlite_prefix)) == 0)
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "%s", sqlite_limits[i].message);
    if (strstr(message, "non-deterministic functions prohibited in generated columns"))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The expression of a generated column must be deterministic: it calls a "
                       "function whose result can change (CURRENT_TIMESTAMP, GENERATE_UUID, ...).");
    if (strcmp(message, "integer overflow") == 0)
        return EM_FAIL(st, EM_OUT_OF_RANGE,
                       "int64 overflow"); /* SQLite's own integer arithmetic, if any reaches it */
    if ((rc & 0xFF) == SQLITE_TOOBIG)
        return EM_FAIL(st, EM_OUT_OF_RANGE,
                       "A value or a row the statement builds is larger than %d MiB, the most the "
                       "emulator holds (a Spanner value holds at most 10 MiB).",
                       SP_SQL_LENGTH_MAX / (1024 * 1024));
    static const char companion[] = "UNIQUE constraint failed: index '";
    const char *nulls = strstr(message, SP_UNIQUE_NULLS_SUFFIX "'");
    if ((rc & 0xFF) == SQLITE_CONSTRAINT && strncmp(message, companion, strlen(companion)) == 0 &&
        nulls) { /* a UNIQUE index's companion (spanner_schema.c): its key repeats, NULLs too */
        const char *name = message + strlen(companion);
        return EM_FAIL(st, EM_ALREADY_EXISTS, "Row already exists: the key of UNIQUE index %.*s",
                       (int)(nulls - name), name);
    }
    if ((rc & 0xFF) == SQLITE_CONSTRAINT && strstr(message, "UNIQUE constraint failed"))
        return EM_FAIL(st, EM_ALREADY_EXISTS, "Row already exists: %s",
                       message + strlen("UNIQUE constraint failed: "));
    if ((rc & 0xFF) == SQLITE_BUSY || (rc & 0xFF) == SQLITE_LOCKED)
        return EM_FAIL(st, EM_ABORTED, "Transaction was aborted because of a concurrent write.");
    /* SQLite's parser keeps 100 entries and its expressions 1000 levels: a long chain of
     * operators (a + b + ..., x = 1 OR x = 2 OR ...) nests that deep once translated */
    if (strcmp(message, "parser stack overflow") == 0 ||
        strncmp(message, "Expression tree is too large", 28) == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The statement nests too deeply for this emulator (%s): write a long "
                       "chain of operators as IN (...) or split it.",
                       message);
    em_log(EM_LOG_ERROR, "spanner: SQLite error %d: %s", rc, message);
    return EM_FAIL(st, EM_INTERNAL, "Internal error while executing the statement.");
}
