/*
 * spangate_plugin.h — the C SDK for Spangate plugins (`spangate:plugin@0.2.0`).
 *
 * Header-only (every function is `static inline`): include it and write plugin logic
 * against plain C types. The same header compiles for wasm32 (the plugin component) and
 * natively (unit tests with `spangate_plugin_testing.h`).
 *
 *   - sg_batch: the batch the host sent, parsed once (`sg_batch_parse`), read per span
 *     with bounds-checked accessors (`sg_span_name`, `sg_span_duration_nanos`,
 *     `sg_span_attributes` + `sg_attr_next`, ...). Out-of-range reads return defaults.
 *   - sg_edits: a processor's answer, a growable buffer of 24-byte edit records plus
 *     a string arena (`sg_edits_set_span_attribute`, `sg_edits_add_span_attribute`,
 *     `sg_edits_set_name`, `sg_edits_drop_span`, ...).
 *   - sg_decisions: a sampler's answer (one verdict per span or trace).
 *   - sg_config: a small JSON reader for flat config objects (strings, integers,
 *     booleans, lists of strings) whose errors name the key.
 *   - sg_log / sg_now_unix_nanos: the host's log and clock; sg_panic: log at error
 *     level, then trap.
 *   - sg_processor / sg_sampler: the plugin's functions, exported with
 *     SG_EXPORT_PROCESSOR / SG_EXPORT_SAMPLER.
 *
 * The byte layout is the one of wit/README.md ("Batch layout", "Edit records",
 * "Decisions"), implemented in Rust by sdk/abi. Every number is little-endian.
 */
#ifndef SPANGATE_PLUGIN_H
#define SPANGATE_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__wasm__)
#include <setjmp.h>
#include <time.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define SG_WIT_VERSION "0.2.0"

#if defined(__GNUC__) || defined(__clang__)
#define SG__UNUSED __attribute__((unused))
#define SG__WEAK __attribute__((weak))
#define SG__PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SG__NORETURN __attribute__((noreturn))
#else
#define SG__UNUSED
#define SG__WEAK
#define SG__PRINTF(f, a)
#define SG__NORETURN
#endif

/* ------------------------------------------------------------------------------------
 * Enumerations (the WIT cases' indexes)
 * ---------------------------------------------------------------------------------- */

/* Span fields a plugin may read: the WIT `span-fields` flags, as bits. */
enum {
    SG_FIELD_TRACE_ID = 1u << 0,
    SG_FIELD_SPAN_ID = 1u << 1,
    SG_FIELD_PARENT_SPAN_ID = 1u << 2,
    SG_FIELD_SERVICE_NAME = 1u << 3,
    SG_FIELD_NAME = 1u << 4,
    SG_FIELD_KIND = 1u << 5,
    SG_FIELD_TIMES = 1u << 6,
    SG_FIELD_STATUS = 1u << 7,
    SG_FIELD_STATUS_MESSAGE = 1u << 8,
    SG_FIELD_SIZE = 1u << 9,
    SG_FIELD_EVENT_NAMES = 1u << 10,
};

typedef enum {
    SG_SPAN_KIND_UNSPECIFIED = 0,
    SG_SPAN_KIND_INTERNAL = 1,
    SG_SPAN_KIND_SERVER = 2,
    SG_SPAN_KIND_CLIENT = 3,
    SG_SPAN_KIND_PRODUCER = 4,
    SG_SPAN_KIND_CONSUMER = 5,
} sg_span_kind;

typedef enum {
    SG_STATUS_UNSET = 0,
    SG_STATUS_OK = 1,
    SG_STATUS_ERROR = 2,
} sg_status;

/* An attribute value's kind (WIT `value-kind`). JSON (non-scalar values: arrays, maps,
 * bytes as JSON text) is never an edit's value. */
typedef enum {
    SG_VALUE_STR = 0,
    SG_VALUE_INT = 1,
    SG_VALUE_DOUBLE = 2,
    SG_VALUE_BOOL = 3,
    SG_VALUE_JSON = 4,
} sg_value_kind;

typedef enum {
    SG_LOG_TRACE = 0,
    SG_LOG_DEBUG = 1,
    SG_LOG_INFO = 2,
    SG_LOG_WARN = 3,
    SG_LOG_ERROR = 4,
} sg_log_level;

/* The four attribute tables of a batch. */
typedef enum {
    SG_SPAN_ATTRIBUTES = 0,
    SG_RESOURCE_ATTRIBUTES = 1,
    SG_EVENT_ATTRIBUTES = 2,
    SG_LINK_ATTRIBUTES = 3,
} sg_table;

/* Column numbers (directory positions), as in sdk/abi `column`. */
enum {
    SG_COL_TRACE_ID = 0,
    SG_COL_SPAN_ID = 1,
    SG_COL_PARENT_SPAN_ID = 2,
    SG_COL_SERVICE = 3,
    SG_COL_NAME = 4,
    SG_COL_KIND = 5,
    SG_COL_STATUS = 6,
    SG_COL_START = 7,
    SG_COL_END = 8,
    SG_COL_STATUS_MESSAGE = 9,
    SG_COL_SIZE = 10,
    SG_COL_RESOURCE = 11,
    SG_COL_EVENT_OFFSETS = 12,
    SG_COL_EVENT_NAMES = 13,
    SG_COL_LINK_OFFSETS = 14,
    SG_COL_SERVICES = 15,
    /* First column of the four attribute tables (span, resource, event, link), five
     * columns each: table start + SG_TCOL_*. */
    SG_COL_ATTRIBUTE_TABLES = 16,
    SG_COL_COUNT = 36,
};

enum {
    SG_TCOL_OWNER_OFFSETS = 0,
    SG_TCOL_KEY = 1,
    SG_TCOL_VALUE_KIND = 2,
    SG_TCOL_VALUE = 3,
    SG_TCOL_KEYS = 4,
    SG_TABLE_COLUMNS = 5,
};

#define SG_DIRECTORY_BYTES (SG_COL_COUNT * 8)
#define SG_EDIT_RECORD_BYTES 24

/* Edit operations (sdk/abi `op`). */
enum {
    SG_OP_SET_SPAN_ATTRIBUTE = 1,
    SG_OP_REMOVE_SPAN_ATTRIBUTE = 2,
    SG_OP_ADD_SPAN_ATTRIBUTE = 3,
    SG_OP_SET_RESOURCE_ATTRIBUTE = 4,
    SG_OP_REMOVE_RESOURCE_ATTRIBUTE = 5,
    SG_OP_SET_EVENT_ATTRIBUTE = 6,
    SG_OP_REMOVE_EVENT_ATTRIBUTE = 7,
    SG_OP_SET_LINK_ATTRIBUTE = 8,
    SG_OP_REMOVE_LINK_ATTRIBUTE = 9,
    SG_OP_SET_NAME = 10,
    SG_OP_SET_STATUS_MESSAGE = 11,
    SG_OP_SET_EVENT_NAME = 12,
    SG_OP_DROP_SPAN = 13,
};

/* Element width in bytes of each column. */
static const uint8_t sg_column_widths[SG_COL_COUNT] SG__UNUSED = {
    16, 8, 8, 4, 8, 1, 1, 8, 8, 8, 4, 4, 4, 8, 4, 8,
    4, 4, 1, 8, 8, /* span attributes */
    4, 4, 1, 8, 8, /* resource attributes */
    4, 4, 1, 8, 8, /* event attributes */
    4, 4, 1, 8, 8, /* link attributes */
};

/* Column names as wit/README.md spells them (for error messages). */
static const char *const sg_column_names[SG_COL_COUNT] SG__UNUSED = {
    "trace-id", "span-id", "parent-span-id", "service", "name", "kind", "status",
    "start", "end", "status-message", "size", "resource", "event-offsets",
    "event-names", "link-offsets", "services",
    "span-attributes.owner-offsets", "span-attributes.key", "span-attributes.value-kind",
    "span-attributes.value", "span-attributes.keys",
    "resource-attributes.owner-offsets", "resource-attributes.key",
    "resource-attributes.value-kind", "resource-attributes.value", "resource-attributes.keys",
    "event-attributes.owner-offsets", "event-attributes.key", "event-attributes.value-kind",
    "event-attributes.value", "event-attributes.keys",
    "link-attributes.owner-offsets", "link-attributes.key", "link-attributes.value-kind",
    "link-attributes.value", "link-attributes.keys",
};

static const char *const sg_table_names[4] SG__UNUSED = {"span", "resource", "event", "link"};

/* ------------------------------------------------------------------------------------
 * Formatting without libc's printf
 *
 * wasi-libc's printf family drags stdio's stderr into the module, and with it WASI
 * imports (fd_write, fd_seek, fd_close) that would need the preview1 adapter. The SDK
 * formats with its own sg_vsnprintf instead, identical natively and in wasm:
 * flags - 0 + space #, width and precision (numbers or *), length hh h l ll z j t, and
 * conversions d i u x X o c s p % f F e E g G (floating point is correct to about 17
 * significant digits, not bit-exact with glibc's for every value). Anything else is
 * copied through as written.
 * ---------------------------------------------------------------------------------- */

typedef struct {
    char *out;
    size_t cap, len;
} sg__fmt_sink;

static inline void sg__fmt_put(sg__fmt_sink *s, char c) {
    if (s->len + 1 < s->cap) s->out[s->len] = c;
    s->len++;
}

static inline void sg__fmt_puts(sg__fmt_sink *s, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) sg__fmt_put(s, p[i]);
}

static inline void sg__fmt_pad(sg__fmt_sink *s, char c, long n) {
    for (; n > 0; n--) sg__fmt_put(s, c);
}

/* Writes prefix (sign, 0x) + zeros + body with the field's width and flags. */
static inline void sg__fmt_field(sg__fmt_sink *s, const char *prefix, size_t prefix_len, long zeros,
                                 const char *body, size_t body_len, long width, bool left, bool zero_pad) {
    long total = (long)(prefix_len + body_len) + (zeros > 0 ? zeros : 0);
    long padding = width > total ? width - total : 0;
    if (!left && !zero_pad) sg__fmt_pad(s, ' ', padding);
    sg__fmt_puts(s, prefix, prefix_len);
    if (!left && zero_pad) sg__fmt_pad(s, '0', padding);
    sg__fmt_pad(s, '0', zeros);
    sg__fmt_puts(s, body, body_len);
    if (left) sg__fmt_pad(s, ' ', padding);
}

/* Digits of `v` in `base` into the end of buf[64]; returns the start. */
static inline char *sg__fmt_digits(char *end, uint64_t v, unsigned base, bool upper) {
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char *p = end;
    do {
        *--p = digits[v % base];
        v /= base;
    } while (v);
    return p;
}

/* Fixed notation of a finite non-negative `x` with `prec` decimals (prec <= 40) into buf. */
static inline size_t sg__fmt_fixed(char *buf, size_t size, double x, int prec) {
    /* Scale down to < 1e18 to print the integer part in pieces. */
    int shift = 0;
    while (x >= 1e18) {
        x /= 10;
        shift++;
    }
    uint64_t ip = (uint64_t)x;
    double frac = x - (double)ip;
    char digits[64];
    size_t n = 0;
    char tmp[24];
    char *p = sg__fmt_digits(tmp + sizeof tmp, ip, 10, false);
    size_t ipn = (size_t)(tmp + sizeof tmp - p);
    /* Rounding of the fraction, digit by digit (exact enough for up to 17 digits). */
    char fd[48];
    int fdn = prec > 40 ? 40 : prec;
    for (int i = 0; i < fdn; i++) {
        frac *= 10;
        int d = (int)frac;
        if (d > 9) d = 9;
        fd[i] = (char)('0' + d);
        frac -= d;
    }
    /* A true tie (x exactly halfway at this precision) rounds to even, as glibc does;
     * it is one only when the fraction times 2^(prec+1) is an odd integer. */
    double t = x - (double)(uint64_t)x;
    for (int i = 0; i <= fdn; i++) t *= 2;
    bool tie = t < 9.2e18 && t == (double)(uint64_t)t && ((uint64_t)t & 1);
    int last = fdn > 0 ? fd[fdn - 1] - '0' : (int)(ip % 10);
    if (tie ? last % 2 == 1 : frac >= 0.5) { /* round up, carrying into the integer part */
        int i = fdn - 1;
        for (; i >= 0; i--) {
            if (fd[i] == '9') {
                fd[i] = '0';
            } else {
                fd[i]++;
                break;
            }
        }
        if (i < 0) {
            ip++;
            p = sg__fmt_digits(tmp + sizeof tmp, ip, 10, false);
            ipn = (size_t)(tmp + sizeof tmp - p);
        }
    }
    for (size_t i = 0; i < ipn && n < sizeof digits; i++) digits[n++] = p[i];
    for (int i = 0; i < shift && n < sizeof digits; i++) digits[n++] = '0';
    size_t written = 0;
    for (size_t i = 0; i < n && written < size; i++) buf[written++] = digits[i];
    if (fdn > 0 && written < size) buf[written++] = '.';
    for (int i = 0; i < fdn && written < size; i++) buf[written++] = fd[i];
    return written;
}

/* Exponent notation of a finite non-negative `x`: d.ddde+XX. */
static inline size_t sg__fmt_exp(char *buf, size_t size, double x, int prec, bool upper) {
    int e = 0;
    if (x != 0) {
        while (x >= 10) { x /= 10; e++; }
        while (x < 1) { x *= 10; e--; }
    }
    char mant[64];
    size_t n = sg__fmt_fixed(mant, sizeof mant, x, prec);
    if (mant[0] == '1' && n > 1 && mant[1] == '0' && x >= 9.5) { /* 9.99 rounded to 10.0 */
        x /= 10;
        e++;
        n = sg__fmt_fixed(mant, sizeof mant, x, prec);
    }
    size_t w = 0;
    for (size_t i = 0; i < n && w < size; i++) buf[w++] = mant[i];
    if (w < size) buf[w++] = upper ? 'E' : 'e';
    if (w < size) buf[w++] = e < 0 ? '-' : '+';
    unsigned ue = (unsigned)(e < 0 ? -e : e);
    char tmp[8];
    char *p = sg__fmt_digits(tmp + sizeof tmp, ue, 10, false);
    if (ue < 10 && w < size) buf[w++] = '0';
    while (p < tmp + sizeof tmp && w < size) buf[w++] = *p++;
    return w;
}

/* Removes trailing zeros (and a trailing point) of the fraction in buf[0..n). */
static inline size_t sg__fmt_trim(char *buf, size_t n) {
    size_t point = n, exp = n;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '.') point = i;
        if (buf[i] == 'e' || buf[i] == 'E') exp = i;
    }
    if (point == n) return n;
    size_t end = exp;
    while (end > point + 1 && buf[end - 1] == '0') end--;
    if (end == point + 1) end = point;
    size_t removed = exp - end;
    for (size_t i = exp; i < n; i++) buf[i - removed] = buf[i];
    return n - removed;
}

static inline int sg_vsnprintf(char *out, size_t cap, const char *fmt, va_list args) {
    sg__fmt_sink s = {out, cap, 0};
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            sg__fmt_put(&s, *fmt);
            continue;
        }
        const char *spec = fmt++;
        bool left = false, zero = false, plus = false, space = false, alt = false;
        for (;; fmt++) {
            if (*fmt == '-') left = true;
            else if (*fmt == '0') zero = true;
            else if (*fmt == '+') plus = true;
            else if (*fmt == ' ') space = true;
            else if (*fmt == '#') alt = true;
            else break;
        }
        long width = 0;
        if (*fmt == '*') {
            int w = va_arg(args, int);
            if (w < 0) {
                left = true;
                w = -w;
            }
            width = w;
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        }
        long prec = -1;
        if (*fmt == '.') {
            fmt++;
            prec = 0;
            if (*fmt == '*') {
                int p = va_arg(args, int);
                prec = p < 0 ? -1 : p;
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9') prec = prec * 10 + (*fmt++ - '0');
            }
        }
        int length = 0; /* 0 int, 1 long, 2 long long, 3 size_t, 4 intmax_t, 5 ptrdiff_t, -1 short, -2 char */
        if (*fmt == 'h') {
            length = -1;
            if (*++fmt == 'h') { length = -2; fmt++; }
        } else if (*fmt == 'l') {
            length = 1;
            if (*++fmt == 'l') { length = 2; fmt++; }
        } else if (*fmt == 'z') { length = 3; fmt++; }
        else if (*fmt == 'j') { length = 4; fmt++; }
        else if (*fmt == 't') { length = 5; fmt++; }
        else if (*fmt == 'L') { fmt++; }
        char buf[80];
        char *end = buf + sizeof buf;
        char conv = *fmt;
        if (!conv) {
            fmt--;
            sg__fmt_puts(&s, spec, strlen(spec));
            break;
        }
        switch (conv) {
        case 'd':
        case 'i': {
            int64_t v;
            switch (length) {
            case 1: v = va_arg(args, long); break;
            case 2: v = va_arg(args, long long); break;
            case 3: v = (int64_t)va_arg(args, size_t); break;
            case 4: v = va_arg(args, intmax_t); break;
            case 5: v = va_arg(args, ptrdiff_t); break;
            case -1: v = (short)va_arg(args, int); break;
            case -2: v = (signed char)va_arg(args, int); break;
            default: v = va_arg(args, int); break;
            }
            uint64_t magnitude = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            char *p = (prec == 0 && v == 0) ? end : sg__fmt_digits(end, magnitude, 10, false);
            const char *sign = v < 0 ? "-" : plus ? "+" : space ? " " : "";
            long zeros = prec > (long)(end - p) ? prec - (long)(end - p) : 0;
            sg__fmt_field(&s, sign, strlen(sign), zeros, p, (size_t)(end - p), width, left, zero && prec < 0);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            uint64_t v;
            switch (length) {
            case 1: v = va_arg(args, unsigned long); break;
            case 2: v = va_arg(args, unsigned long long); break;
            case 3: v = va_arg(args, size_t); break;
            case 4: v = va_arg(args, uintmax_t); break;
            case 5: v = (uint64_t)va_arg(args, ptrdiff_t); break;
            case -1: v = (unsigned short)va_arg(args, unsigned); break;
            case -2: v = (unsigned char)va_arg(args, unsigned); break;
            default: v = va_arg(args, unsigned); break;
            }
            unsigned base = conv == 'u' ? 10 : conv == 'o' ? 8 : 16;
            char *p = (prec == 0 && v == 0) ? end : sg__fmt_digits(end, v, base, conv == 'X');
            const char *prefix = alt && v && base == 16 ? (conv == 'X' ? "0X" : "0x") : alt && base == 8 ? "0" : "";
            long zeros = prec > (long)(end - p) ? prec - (long)(end - p) : 0;
            sg__fmt_field(&s, prefix, strlen(prefix), zeros, p, (size_t)(end - p), width, left, zero && prec < 0);
            break;
        }
        case 'p': {
            uintptr_t v = (uintptr_t)va_arg(args, void *);
            char *p = sg__fmt_digits(end, v, 16, false);
            sg__fmt_field(&s, "0x", 2, 0, p, (size_t)(end - p), width, left, false);
            break;
        }
        case 'c': {
            char c = (char)va_arg(args, int);
            sg__fmt_field(&s, "", 0, 0, &c, 1, width, left, false);
            break;
        }
        case 's': {
            const char *str = va_arg(args, const char *);
            if (!str) str = "(null)";
            size_t n = 0;
            while ((prec < 0 || (long)n < prec) && str[n]) n++;
            sg__fmt_field(&s, "", 0, 0, str, n, width, left, false);
            break;
        }
        case 'f':
        case 'F':
        case 'e':
        case 'E':
        case 'g':
        case 'G': {
            double v = va_arg(args, double);
            bool negative = v < 0 || (v == 0 && 1 / v < 0);
            const char *sign = negative ? "-" : plus ? "+" : space ? " " : "";
            double x = negative ? -v : v;
            bool upper = conv == 'F' || conv == 'E' || conv == 'G';
            size_t n;
            if (v != v) {
                memcpy(buf, upper ? "NAN" : "nan", 3);
                n = 3;
                sign = plus ? "+" : space ? " " : "";
            } else if (x > 1.7976931348623157e308) {
                memcpy(buf, upper ? "INF" : "inf", 3);
                n = 3;
            } else {
                int p = prec < 0 ? 6 : prec > 40 ? 40 : (int)prec;
                if (conv == 'f' || conv == 'F') {
                    n = sg__fmt_fixed(buf, sizeof buf, x, p);
                } else if (conv == 'e' || conv == 'E') {
                    n = sg__fmt_exp(buf, sizeof buf, x, p, upper);
                } else {
                    if (p == 0) p = 1;
                    /* %g: exponent X of the %e form decides: fixed if -4 <= X < P. */
                    int e = 0;
                    double m = x;
                    if (m != 0) {
                        while (m >= 10) { m /= 10; e++; }
                        while (m < 1) { m *= 10; e--; }
                    }
                    char probe[80];
                    size_t pn = sg__fmt_exp(probe, sizeof probe, x, p - 1, upper);
                    /* the rounded exponent */
                    int sign_e = 1, ex = 0;
                    size_t i = 0;
                    while (i < pn && probe[i] != 'e' && probe[i] != 'E') i++;
                    if (i + 1 < pn && probe[i + 1] == '-') sign_e = -1;
                    for (i += 2; i < pn; i++) ex = ex * 10 + (probe[i] - '0');
                    e = sign_e * ex;
                    if (e >= -4 && e < p)
                        n = sg__fmt_fixed(buf, sizeof buf, x, p - 1 - e);
                    else {
                        memcpy(buf, probe, pn);
                        n = pn;
                    }
                    if (!alt) n = sg__fmt_trim(buf, n);
                }
            }
            sg__fmt_field(&s, sign, strlen(sign), 0, buf, n, width, left, zero && v == v && x <= 1.7976931348623157e308);
            break;
        }
        case '%': sg__fmt_put(&s, '%'); break;
        default: sg__fmt_puts(&s, spec, (size_t)(fmt - spec + 1)); break;
        }
    }
    if (cap) out[s.len < cap ? s.len : cap - 1] = 0;
    return s.len > INT32_MAX ? INT32_MAX : (int)s.len;
}

static inline SG__PRINTF(3, 4) int sg_snprintf(char *out, size_t cap, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    int n = sg_vsnprintf(out, cap, fmt, args);
    va_end(args);
    return n;
}

/* ------------------------------------------------------------------------------------
 * Strings and errors
 * ---------------------------------------------------------------------------------- */

/* A borrowed UTF-8 string: `len` bytes at `ptr`, NOT NUL-terminated. Print it with
 * printf("%.*s", SG_STR_ARG(s)). */
typedef struct {
    const char *ptr;
    size_t len;
} sg_str;

#define SG_STR_ARG(s) (int)(s).len, (s).ptr
/* An sg_str for a string literal. */
#define SG_LIT(literal) ((sg_str){(literal), sizeof(literal) - 1})

static inline sg_str sg_str_from(const char *cstr) {
    sg_str s = {cstr ? cstr : "", cstr ? strlen(cstr) : 0};
    return s;
}

static inline bool sg_str_eq(sg_str a, sg_str b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool sg_str_eq_cstr(sg_str a, const char *b) {
    return sg_str_eq(a, sg_str_from(b));
}

/* An owned string: malloc'd, NUL-terminated, `len` bytes before the NUL. */
typedef struct {
    char *ptr;
    size_t len;
} sg_string;

typedef struct {
    sg_string *items;
    size_t count;
} sg_string_list;

static inline sg_str sg_string_view(sg_string s) {
    sg_str view = {s.ptr ? s.ptr : "", s.len};
    return view;
}

static inline void sg_string_free(sg_string *s) {
    free(s->ptr);
    s->ptr = NULL;
    s->len = 0;
}

static inline void sg_string_list_free(sg_string_list *list) {
    for (size_t i = 0; i < list->count; i++) sg_string_free(&list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

/* Whether `list` holds a string equal to `s`. */
static inline bool sg_string_list_contains(const sg_string_list *list, sg_str s) {
    for (size_t i = 0; i < list->count; i++)
        if (sg_str_eq(sg_string_view(list->items[i]), s)) return true;
    return false;
}

/* A copy of `len` bytes as an owned string; ptr NULL when out of memory. */
static inline sg_string sg_string_copy(const char *bytes, size_t len) {
    sg_string s = {(char *)malloc(len + 1), len};
    if (s.ptr) {
        if (len) memcpy(s.ptr, bytes, len);
        s.ptr[len] = 0;
    } else {
        s.len = 0;
    }
    return s;
}

/* An error message, filled by the functions that take an `sg_error *` (which may be
 * NULL). A plugin's init/process return false with it set to refuse or fail. */
typedef struct {
    char message[512];
} sg_error;

static inline void sg_error_vset(sg_error *err, const char *fmt, va_list args) {
    if (err) sg_vsnprintf(err->message, sizeof err->message, fmt, args);
}

static inline SG__PRINTF(2, 3) void sg_error_set(sg_error *err, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    sg_error_vset(err, fmt, args);
    va_end(args);
}

/* Prefixes an error's message with `prefix`: (e.g. the key of the value that failed). */
static inline void sg_error_prefix(sg_error *err, const char *prefix) {
    if (!err) return;
    size_t cap = sizeof err->message, plen = strlen(prefix);
    if (plen + 3 > cap) return;
    size_t mlen = 0;
    while (mlen < cap - 1 && err->message[mlen]) mlen++;
    if (plen + 2 + mlen > cap - 1) mlen = cap - 1 - plen - 2;
    memmove(err->message + plen + 2, err->message, mlen);
    memcpy(err->message, prefix, plen);
    err->message[plen] = ':';
    err->message[plen + 1] = ' ';
    err->message[plen + 2 + mlen] = 0;
}

/* A growable text buffer for building strings (`sg_buf_appendf`). */
typedef struct {
    char *ptr;
    size_t len, cap;
    bool failed; /* out of memory at some point */
} sg_buf;

static inline bool sg_buf_reserve(sg_buf *b, size_t extra) {
    if (b->failed) return false;
    if (b->len + extra + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) cap *= 2;
    char *grown = (char *)realloc(b->ptr, cap);
    if (!grown) {
        b->failed = true;
        return false;
    }
    b->ptr = grown;
    b->cap = cap;
    return true;
}

static inline bool sg_buf_append(sg_buf *b, sg_str s) {
    if (!sg_buf_reserve(b, s.len)) return false;
    if (s.len) memcpy(b->ptr + b->len, s.ptr, s.len);
    b->len += s.len;
    b->ptr[b->len] = 0;
    return true;
}

static inline bool sg_buf_vappendf(sg_buf *b, const char *fmt, va_list args) {
    va_list copy;
    va_copy(copy, args);
    int needed = sg_vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (needed < 0 || !sg_buf_reserve(b, (size_t)needed)) return false;
    sg_vsnprintf(b->ptr + b->len, (size_t)needed + 1, fmt, args);
    b->len += (size_t)needed;
    return true;
}

static inline SG__PRINTF(2, 3) bool sg_buf_appendf(sg_buf *b, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    bool ok = sg_buf_vappendf(b, fmt, args);
    va_end(args);
    return ok;
}

static inline sg_str sg_buf_str(const sg_buf *b) {
    sg_str s = {b->ptr ? b->ptr : "", b->len};
    return s;
}

static inline void sg_buf_clear(sg_buf *b) {
    b->len = 0;
    if (b->ptr) b->ptr[0] = 0;
}

static inline void sg_buf_free(sg_buf *b) {
    free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}

/* ------------------------------------------------------------------------------------
 * Host functions: log, clock, panic
 * ---------------------------------------------------------------------------------- */

static const char *const sg_log_level_names[5] SG__UNUSED = {"trace", "debug", "info", "warn",
                                                              "error"};

#if defined(__wasm__)
/* The `spangate:plugin/host@0.2.0` imports, in the canonical ABI's flat form. */
__attribute__((import_module("spangate:plugin/host@0.2.0"), import_name("log"))) extern void
sg__host_log(int32_t level, const char *message, size_t len);
__attribute__((import_module("spangate:plugin/host@0.2.0"),
               import_name("now-unix-nanos"))) extern int64_t
sg__host_now_unix_nanos(void);

static inline void sg_log_str(sg_log_level level, sg_str message) {
    sg__host_log((int32_t)level, message.ptr, message.len);
}

static inline uint64_t sg_now_unix_nanos(void) { return (uint64_t)sg__host_now_unix_nanos(); }

#else
/* Natively (tests), logs go to a buffer that `sg_test_take_logs()` returns, one
 * "level: message\n" line each, and the clock reads `sg__test_now` when it is set. */
SG__WEAK sg_buf sg__test_logs;
SG__WEAK uint64_t sg__test_now;
SG__WEAK bool sg__test_now_set;
/* Where sg_panic jumps to when a test harness is running the plugin. */
SG__WEAK jmp_buf *sg__panic_target;
SG__WEAK char sg__panic_message[512];

static inline void sg_log_str(sg_log_level level, sg_str message) {
    unsigned index = (unsigned)level < 5 ? (unsigned)level : 4;
    sg_buf_appendf(&sg__test_logs, "%s: %.*s\n", sg_log_level_names[index], SG_STR_ARG(message));
}

static inline uint64_t sg_now_unix_nanos(void) {
    if (sg__test_now_set) return sg__test_now;
    return (uint64_t)time(NULL) * 1000000000ull;
}
#endif

static inline void sg_log(sg_log_level level, const char *message) {
    sg_log_str(level, sg_str_from(message));
}

static inline SG__PRINTF(2, 3) void sg_logf(sg_log_level level, const char *fmt, ...) {
    char line[1024];
    va_list args;
    va_start(args, fmt);
    int n = sg_vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    sg_str s = {line, n < 0 ? 0 : ((size_t)n < sizeof line ? (size_t)n : sizeof line - 1)};
    sg_log_str(level, s);
}

/* A bug in the plugin: logs `message` at error level, then traps (the host kills the
 * instance and applies the pipeline entry's `on_error` policy). In the native harness
 * the test fails with the message instead. */
static inline SG__NORETURN void sg_panic_str(sg_str message) {
    sg_buf line = {0};
    sg_buf_appendf(&line, "plugin panicked: %.*s", SG_STR_ARG(message));
    sg_log_str(SG_LOG_ERROR, line.failed ? message : sg_buf_str(&line));
#if defined(__wasm__)
    sg_buf_free(&line);
    __builtin_trap();
#else
    sg_snprintf(sg__panic_message, sizeof sg__panic_message, "%.*s", SG_STR_ARG(message));
    sg_buf_free(&line);
    if (sg__panic_target) longjmp(*sg__panic_target, 1);
    fprintf(stderr, "plugin panicked: %s\n", sg__panic_message);
    abort();
#endif
}

static inline SG__PRINTF(1, 2) SG__NORETURN void sg_panic(const char *fmt, ...) {
    char message[512];
    va_list args;
    va_start(args, fmt);
    int n = sg_vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    sg_str s = {message, n < 0 ? 0 : ((size_t)n < sizeof message ? (size_t)n : sizeof message - 1)};
    sg_panic_str(s);
}

/* Like assert(), but the message reaches the gateway's log before the trap (in wasm,
 * assert() writes to a discarded stderr). */
#define SG_ASSERT(condition)                                                           \
    do {                                                                               \
        if (!(condition))                                                              \
            sg_panic("assertion failed: %s (%s:%d)", #condition, __FILE__, __LINE__);  \
    } while (0)

/* ------------------------------------------------------------------------------------
 * Little-endian helpers
 * ---------------------------------------------------------------------------------- */

static inline uint32_t sg__le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t sg__le64(const uint8_t *p) {
    return (uint64_t)sg__le32(p) | (uint64_t)sg__le32(p + 4) << 32;
}

static inline void sg__put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void sg__put64(uint8_t *p, uint64_t v) {
    sg__put32(p, (uint32_t)v);
    sg__put32(p + 4, (uint32_t)(v >> 32));
}

static inline double sg__bits_to_double(uint64_t bits) {
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static inline uint64_t sg__double_to_bits(double d) {
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits;
}

/* ------------------------------------------------------------------------------------
 * Attribute values
 * ---------------------------------------------------------------------------------- */

typedef struct {
    sg_value_kind kind;
    union {
        sg_str str; /* SG_VALUE_STR, SG_VALUE_JSON */
        int64_t i;  /* SG_VALUE_INT */
        double d;   /* SG_VALUE_DOUBLE */
        bool b;     /* SG_VALUE_BOOL */
    } as;
} sg_value;

static inline sg_value sg_value_str(sg_str s) {
    sg_value v;
    v.kind = SG_VALUE_STR;
    v.as.str = s;
    return v;
}

static inline sg_value sg_value_cstr(const char *s) { return sg_value_str(sg_str_from(s)); }

static inline sg_value sg_value_int(int64_t i) {
    sg_value v;
    v.kind = SG_VALUE_INT;
    v.as.i = i;
    return v;
}

static inline sg_value sg_value_double(double d) {
    sg_value v;
    v.kind = SG_VALUE_DOUBLE;
    v.as.d = d;
    return v;
}

static inline sg_value sg_value_bool(bool b) {
    sg_value v;
    v.kind = SG_VALUE_BOOL;
    v.as.b = b;
    return v;
}

/* A non-scalar value as JSON text (what the host sends for arrays, maps and bytes). */
static inline sg_value sg_value_json(sg_str s) {
    sg_value v;
    v.kind = SG_VALUE_JSON;
    v.as.str = s;
    return v;
}

static inline bool sg_value_is_str(sg_value v) { return v.kind == SG_VALUE_STR; }

/* ------------------------------------------------------------------------------------
 * Needs: what a plugin reads
 * ---------------------------------------------------------------------------------- */

typedef enum {
    SG_SELECT_NONE = 0,
    /* Only the keys in `keys`. */
    SG_SELECT_KEYS = 1,
    /* Every attribute with a string value. */
    SG_SELECT_ALL_STRINGS = 2,
    /* Every attribute; non-scalar values arrive as JSON text. */
    SG_SELECT_ALL = 3,
} sg_selection_kind;

/* Which attributes of a kind (span, resource, event, link) a plugin reads. `keys` is
 * borrowed: it must live as long as the plugin (e.g. point into its config). */
typedef struct {
    sg_selection_kind kind;
    const sg_str *keys;
    size_t key_count;
} sg_selection;

static inline sg_selection sg_select_none(void) {
    sg_selection s = {SG_SELECT_NONE, NULL, 0};
    return s;
}

static inline sg_selection sg_select_keys(const sg_str *keys, size_t count) {
    sg_selection s = {SG_SELECT_KEYS, keys, count};
    return s;
}

static inline sg_selection sg_select_all_strings(void) {
    sg_selection s = {SG_SELECT_ALL_STRINGS, NULL, 0};
    return s;
}

static inline sg_selection sg_select_all(void) {
    sg_selection s = {SG_SELECT_ALL, NULL, 0};
    return s;
}

/* Whether `selection` selects an attribute `key` whose value is (not) a string. */
static inline bool sg_selection_selects(const sg_selection *selection, sg_str key,
                                        bool is_string) {
    switch (selection->kind) {
    case SG_SELECT_NONE: return false;
    case SG_SELECT_ALL_STRINGS: return is_string;
    case SG_SELECT_ALL: return true;
    case SG_SELECT_KEYS:
        for (size_t i = 0; i < selection->key_count; i++)
            if (sg_str_eq(selection->keys[i], key)) return true;
        return false;
    }
    return false;
}

/* What `init` returns (WIT `needs`). Strings are borrowed (static or plugin-owned). */
typedef struct {
    const char *name;
    const char *version;
    uint16_t fields; /* SG_FIELD_* bits */
    sg_selection span_attributes;
    sg_selection resource_attributes;
    sg_selection event_attributes;
    sg_selection link_attributes;
} sg_needs;

static inline const sg_selection *sg_needs_selection(const sg_needs *needs, sg_table table) {
    switch (table) {
    case SG_SPAN_ATTRIBUTES: return &needs->span_attributes;
    case SG_RESOURCE_ATTRIBUTES: return &needs->resource_attributes;
    case SG_EVENT_ATTRIBUTES: return &needs->event_attributes;
    default: return &needs->link_attributes;
    }
}

/* A sampler's tail settings (WIT `tail-settings`). */
typedef struct {
    uint64_t decision_wait_millis;
    uint32_t max_traces;
    uint32_t max_spans_per_trace;
} sg_tail_settings;

/* What a sampler's `init` returns: needs, and tail settings if `tail` is true. */
typedef struct {
    sg_needs needs;
    bool tail;
    sg_tail_settings tail_settings;
} sg_sampler_needs;

/* ------------------------------------------------------------------------------------
 * The batch
 * ---------------------------------------------------------------------------------- */

/* A batch (`span-batch`) read through its directory; every column range is checked once
 * by sg_batch_parse. Accessors past a column's end return defaults (0, "", no rows). */
typedef struct {
    uint32_t len; /* spans */
    const uint8_t *columns;
    size_t columns_len;
    const uint8_t *strings;
    size_t strings_len;
    uint32_t offset[SG_COL_COUNT];
    uint32_t count[SG_COL_COUNT];
    /* Set by the native harness only: reading a field or attribute kind that the
     * plugin did not declare panics with its name (in wasm it reads as a default). */
    bool strict;
    uint16_t declared_fields;
    uint8_t declared_tables; /* bit t: table t selected */
} sg_batch;

/* Parses the column buffer's directory. Returns false with `err` set when a column lies
 * outside the buffer or is misaligned (the host never sends such a batch). */
static inline bool sg_batch_parse(sg_batch *b, uint32_t len, const uint8_t *columns,
                                  size_t columns_len, const uint8_t *strings, size_t strings_len,
                                  sg_error *err) {
    memset(b, 0, sizeof *b);
    b->len = len;
    b->columns = columns;
    b->columns_len = columns_len;
    b->strings = strings;
    b->strings_len = strings_len;
    if (columns_len < SG_DIRECTORY_BYTES) {
        sg_error_set(err, "the column buffer is %zu bytes, shorter than its %d-byte directory",
                     columns_len, SG_DIRECTORY_BYTES);
        return false;
    }
    for (int c = 0; c < SG_COL_COUNT; c++) {
        uint32_t offset = sg__le32(columns + c * 8);
        uint32_t count = sg__le32(columns + c * 8 + 4);
        if (count == 0) continue;
        uint64_t end = (uint64_t)offset + (uint64_t)count * sg_column_widths[c];
        if (end > columns_len) {
            sg_error_set(err,
                         "column %d (%s) claims %u elements of %u bytes at offset %u, outside "
                         "the %zu-byte column buffer",
                         c, sg_column_names[c], count, sg_column_widths[c], offset, columns_len);
            return false;
        }
        if (offset % 8 != 0) {
            sg_error_set(err, "column %d (%s) starts at offset %u, not a multiple of 8", c,
                         sg_column_names[c], offset);
            return false;
        }
        b->offset[c] = offset;
        b->count[c] = count;
    }
    return true;
}

/* Elements in a column (0 when absent). */
static inline uint32_t sg_batch_count(const sg_batch *b, int column) { return b->count[column]; }

static inline const uint8_t *sg__element(const sg_batch *b, int column, uint32_t index) {
    if (index >= b->count[column]) return NULL;
    return b->columns + b->offset[column] + (size_t)index * sg_column_widths[column];
}

/* Raw column readers: the element at `index`, or `fallback` past the column's end. */
static inline uint8_t sg_batch_u8(const sg_batch *b, int column, uint32_t index, uint8_t fallback) {
    const uint8_t *p = sg__element(b, column, index);
    return p ? *p : fallback;
}

static inline uint32_t sg_batch_u32(const sg_batch *b, int column, uint32_t index,
                                    uint32_t fallback) {
    const uint8_t *p = sg__element(b, column, index);
    return p ? sg__le32(p) : fallback;
}

static inline uint64_t sg_batch_u64(const sg_batch *b, int column, uint32_t index,
                                    uint64_t fallback) {
    const uint8_t *p = sg__element(b, column, index);
    return p ? sg__le64(p) : fallback;
}

/* The string a reference points to; "" when the reference lies outside the arena. */
static inline sg_str sg_batch_ref(const sg_batch *b, uint64_t reference) {
    uint64_t offset = (uint32_t)reference, len = reference >> 32;
    sg_str s = {"", 0};
    if (offset + len <= b->strings_len) {
        s.ptr = (const char *)b->strings + offset;
        s.len = (size_t)len;
    }
    return s;
}

/* The string of a string-reference column at `index`; "" past its end. */
static inline sg_str sg_batch_str(const sg_batch *b, int column, uint32_t index) {
    const uint8_t *p = sg__element(b, column, index);
    if (!p) return SG_LIT("");
    return sg_batch_ref(b, sg__le64(p));
}

/* A half-open range of indexes [begin, end). */
typedef struct {
    uint32_t begin, end;
} sg_range;

/* [offsets[index], offsets[index + 1]) of an offsets column; empty when out of range or
 * decreasing. */
static inline sg_range sg_batch_range(const sg_batch *b, int column, uint32_t index) {
    sg_range r = {0, 0};
    if (index == UINT32_MAX || index + 1 >= b->count[column]) return r;
    uint32_t begin = sg_batch_u32(b, column, index, 0);
    uint32_t end = sg_batch_u32(b, column, index + 1, 0);
    if (begin <= end) {
        r.begin = begin;
        r.end = end;
    }
    return r;
}

static inline const char *sg__field_name(uint16_t field) {
    switch (field) {
    case SG_FIELD_TRACE_ID: return "trace-id (SG_FIELD_TRACE_ID)";
    case SG_FIELD_SPAN_ID: return "span-id (SG_FIELD_SPAN_ID)";
    case SG_FIELD_PARENT_SPAN_ID: return "parent-span-id (SG_FIELD_PARENT_SPAN_ID)";
    case SG_FIELD_SERVICE_NAME: return "service-name (SG_FIELD_SERVICE_NAME)";
    case SG_FIELD_NAME: return "name (SG_FIELD_NAME)";
    case SG_FIELD_KIND: return "kind (SG_FIELD_KIND)";
    case SG_FIELD_TIMES: return "times (SG_FIELD_TIMES)";
    case SG_FIELD_STATUS: return "status (SG_FIELD_STATUS)";
    case SG_FIELD_STATUS_MESSAGE: return "status-message (SG_FIELD_STATUS_MESSAGE)";
    case SG_FIELD_SIZE: return "size (SG_FIELD_SIZE)";
    case SG_FIELD_EVENT_NAMES: return "event-names (SG_FIELD_EVENT_NAMES)";
    default: return "?";
    }
}

/* In the native harness: a read of an undeclared field is a test failure naming it. */
static inline void sg__require_field(const sg_batch *b, uint16_t field) {
    if (b->strict && !(b->declared_fields & field))
        sg_panic("read of span field `%s`, which the plugin did not declare in its needs",
                 sg__field_name(field));
}

static inline void sg__require_table(const sg_batch *b, sg_table table) {
    if (b->strict && !(b->declared_tables & (1u << table)))
        sg_panic("read of %s attributes, which the plugin did not declare in its needs "
                 "(%s_attributes is SG_SELECT_NONE)",
                 sg_table_names[table], sg_table_names[table]);
}

/* ---- per-span fields ---- */

static inline sg_str sg_span_name(const sg_batch *b, uint32_t span) {
    sg__require_field(b, SG_FIELD_NAME);
    return sg_batch_str(b, SG_COL_NAME, span);
}

static inline sg_str sg_span_service_name(const sg_batch *b, uint32_t span) {
    sg__require_field(b, SG_FIELD_SERVICE_NAME);
    const uint8_t *p = sg__element(b, SG_COL_SERVICE, span);
    if (!p) return SG_LIT("");
    return sg_batch_str(b, SG_COL_SERVICES, sg__le32(p));
}

static inline sg_str sg_span_status_message(const sg_batch *b, uint32_t span) {
    sg__require_field(b, SG_FIELD_STATUS_MESSAGE);
    return sg_batch_str(b, SG_COL_STATUS_MESSAGE, span);
}

static inline uint64_t sg_span_start(const sg_batch *b, uint32_t span) {
    sg__require_field(b, SG_FIELD_TIMES);
    return sg_batch_u64(b, SG_COL_START, span, 0);
}

static inline uint64_t sg_span_end(const sg_batch *b, uint32_t span) {
    sg__require_field(b, SG_FIELD_TIMES);
    return sg_batch_u64(b, SG_COL_END, span, 0);
}

/* end - start in nanoseconds; 0 when end < start. */
static inline uint64_t sg_span_duration_nanos(const sg_batch *b, uint32_t span) {
    uint64_t start = sg_span_start(b, span), end = sg_span_end(b, span);
    return end > start ? end - start : 0;
}

static inline sg_status sg_span_status(const sg_batch *b, uint32_t span) {
    sg__require_field(b, SG_FIELD_STATUS);
    return (sg_status)sg_batch_u8(b, SG_COL_STATUS, span, SG_STATUS_UNSET);
}

static inline sg_span_kind sg_span_kind_of(const sg_batch *b, uint32_t span) {
    sg__require_field(b, SG_FIELD_KIND);
    return (sg_span_kind)sg_batch_u8(b, SG_COL_KIND, span, SG_SPAN_KIND_UNSPECIFIED);
}

/* The span's encoded size in bytes. */
static inline uint32_t sg_span_size(const sg_batch *b, uint32_t span) {
    sg__require_field(b, SG_FIELD_SIZE);
    return sg_batch_u32(b, SG_COL_SIZE, span, 0);
}

static const uint8_t sg__zero_id[16] SG__UNUSED = {0};

/* The trace id's 16 bytes as on the wire (zeros when absent). */
static inline const uint8_t *sg_span_trace_id(const sg_batch *b, uint32_t span) {
    sg__require_field(b, SG_FIELD_TRACE_ID);
    const uint8_t *p = sg__element(b, SG_COL_TRACE_ID, span);
    return p ? p : sg__zero_id;
}

/* The span id's 8 bytes as on the wire. */
static inline const uint8_t *sg_span_span_id(const sg_batch *b, uint32_t span) {
    sg__require_field(b, SG_FIELD_SPAN_ID);
    const uint8_t *p = sg__element(b, SG_COL_SPAN_ID, span);
    return p ? p : sg__zero_id;
}

/* The parent span id's 8 bytes (zeros for a root span). */
static inline const uint8_t *sg_span_parent_span_id(const sg_batch *b, uint32_t span) {
    sg__require_field(b, SG_FIELD_PARENT_SPAN_ID);
    const uint8_t *p = sg__element(b, SG_COL_PARENT_SPAN_ID, span);
    return p ? p : sg__zero_id;
}

static inline bool sg_span_is_root(const sg_batch *b, uint32_t span) {
    return memcmp(sg_span_parent_span_id(b, span), sg__zero_id, 8) == 0;
}

/* ---- attributes ---- */

/* One attribute row. `row` is its index in its table: what attribute edits address. */
typedef struct {
    sg_table table;
    uint32_t row;
    sg_str key;
    sg_value value;
} sg_attribute;

/* The rows of one owner (a span, a resource, an event or a link). */
typedef struct {
    const sg_batch *batch;
    sg_table table;
    uint32_t next, end;
} sg_attr_iter;

/* Rows in a table. */
static inline uint32_t sg_attribute_rows(const sg_batch *b, sg_table table) {
    return b->count[SG_COL_ATTRIBUTE_TABLES + table * SG_TABLE_COLUMNS + SG_TCOL_KEY];
}

/* Row `row` of `table`; false past the table's end. */
static inline bool sg_attribute_at(const sg_batch *b, sg_table table, uint32_t row,
                                   sg_attribute *out) {
    int base = SG_COL_ATTRIBUTE_TABLES + (int)table * SG_TABLE_COLUMNS;
    const uint8_t *key = sg__element(b, base + SG_TCOL_KEY, row);
    if (!key) return false;
    out->table = table;
    out->row = row;
    out->key = sg_batch_str(b, base + SG_TCOL_KEYS, sg__le32(key));
    uint8_t kind = sg_batch_u8(b, base + SG_TCOL_VALUE_KIND, row, SG_VALUE_STR);
    uint64_t word = sg_batch_u64(b, base + SG_TCOL_VALUE, row, 0);
    switch (kind) {
    case SG_VALUE_INT: out->value = sg_value_int((int64_t)word); break;
    case SG_VALUE_DOUBLE: out->value = sg_value_double(sg__bits_to_double(word)); break;
    case SG_VALUE_BOOL: out->value = sg_value_bool(word != 0); break;
    case SG_VALUE_JSON: out->value = sg_value_json(sg_batch_ref(b, word)); break;
    default: out->value = sg_value_str(sg_batch_ref(b, word)); break;
    }
    return true;
}

static inline sg_attr_iter sg__owner_rows(const sg_batch *b, sg_table table, uint32_t owner) {
    sg__require_table(b, table);
    int base = SG_COL_ATTRIBUTE_TABLES + (int)table * SG_TABLE_COLUMNS;
    sg_range r = sg_batch_range(b, base + SG_TCOL_OWNER_OFFSETS, owner);
    sg_attr_iter it = {b, table, r.begin, r.end};
    return it;
}

/* The next row of an owner; false when there is none.
 *     sg_attribute a;
 *     for (sg_attr_iter it = sg_span_attributes(batch, span); sg_attr_next(&it, &a);) ... */
static inline bool sg_attr_next(sg_attr_iter *it, sg_attribute *out) {
    while (it->next < it->end) {
        if (sg_attribute_at(it->batch, it->table, it->next++, out)) return true;
    }
    return false;
}

/* The first of the iterator's rows with key `key`. */
static inline bool sg_attr_find(sg_attr_iter it, const char *key, sg_attribute *out) {
    sg_str wanted = sg_str_from(key);
    while (sg_attr_next(&it, out))
        if (sg_str_eq(out->key, wanted)) return true;
    return false;
}

/* A span's (declared) attributes. */
static inline sg_attr_iter sg_span_attributes(const sg_batch *b, uint32_t span) {
    return sg__owner_rows(b, SG_SPAN_ATTRIBUTES, span);
}

/* The span's resource index (shared by spans of the same resource). */
static inline uint32_t sg_span_resource(const sg_batch *b, uint32_t span) {
    sg__require_table(b, SG_RESOURCE_ATTRIBUTES);
    return sg_batch_u32(b, SG_COL_RESOURCE, span, UINT32_MAX);
}

/* The (declared) attributes of the span's resource. Setting one changes it for every
 * span of that resource. */
static inline sg_attr_iter sg_resource_attributes(const sg_batch *b, uint32_t span) {
    return sg__owner_rows(b, SG_RESOURCE_ATTRIBUTES, sg_span_resource(b, span));
}

/* ---- events and links ---- */

/* The span's events, as global event indexes [begin, end). */
static inline sg_range sg_span_events(const sg_batch *b, uint32_t span) {
    if (b->strict && !(b->declared_fields & SG_FIELD_EVENT_NAMES) &&
        !(b->declared_tables & (1u << SG_EVENT_ATTRIBUTES)))
        sg_panic("read of events, which need `event-names (SG_FIELD_EVENT_NAMES)` or event "
                 "attributes declared in needs");
    return sg_batch_range(b, SG_COL_EVENT_OFFSETS, span);
}

static inline sg_str sg_event_name(const sg_batch *b, uint32_t event) {
    sg__require_field(b, SG_FIELD_EVENT_NAMES);
    return sg_batch_str(b, SG_COL_EVENT_NAMES, event);
}

static inline sg_attr_iter sg_event_attributes(const sg_batch *b, uint32_t event) {
    return sg__owner_rows(b, SG_EVENT_ATTRIBUTES, event);
}

/* The span's links, as global link indexes [begin, end). */
static inline sg_range sg_span_links(const sg_batch *b, uint32_t span) {
    sg__require_table(b, SG_LINK_ATTRIBUTES);
    return sg_batch_range(b, SG_COL_LINK_OFFSETS, span);
}

static inline sg_attr_iter sg_link_attributes(const sg_batch *b, uint32_t link) {
    return sg__owner_rows(b, SG_LINK_ATTRIBUTES, link);
}

/* ------------------------------------------------------------------------------------
 * Edits: a processor's answer
 * ---------------------------------------------------------------------------------- */

/* Growable edit records and their string arena (malloc/realloc). Every function returns
 * false when out of memory or given a JSON value; `failure` then says why and the glue
 * fails the call. */
typedef struct {
    uint8_t *records;
    size_t records_len, records_cap; /* bytes */
    uint8_t *strings;
    size_t strings_len, strings_cap;
    const char *failure;
} sg_edits;

static inline void sg_edits_init(sg_edits *e) { memset(e, 0, sizeof *e); }

static inline void sg_edits_free(sg_edits *e) {
    free(e->records);
    free(e->strings);
    sg_edits_init(e);
}

/* Empties the edits, keeping the buffers. */
static inline void sg_edits_clear(sg_edits *e) {
    e->records_len = 0;
    e->strings_len = 0;
    e->failure = NULL;
}

/* Number of edit records. */
static inline size_t sg_edits_count(const sg_edits *e) {
    return e->records_len / SG_EDIT_RECORD_BYTES;
}

static inline bool sg__grow(uint8_t **buffer, size_t *cap, size_t needed) {
    if (needed <= *cap) return true;
    size_t grown = *cap ? *cap : 256;
    while (grown < needed) {
        if (grown > SIZE_MAX / 2) return false;
        grown *= 2;
    }
    uint8_t *p = (uint8_t *)realloc(*buffer, grown);
    if (!p) return false;
    *buffer = p;
    *cap = grown;
    return true;
}

static inline bool sg__edits_fail(sg_edits *e, const char *why) {
    if (!e->failure) e->failure = why;
    return false;
}

/* Appends bytes to the arena; `*reference` = offset | len << 32. */
static inline bool sg__edits_string(sg_edits *e, const char *bytes, size_t len,
                                    uint64_t *reference) {
    if (len > UINT32_MAX || e->strings_len + len > UINT32_MAX)
        return sg__edits_fail(e, "edit strings exceed 4 GiB");
    if (!sg__grow(&e->strings, &e->strings_cap, e->strings_len + len))
        return sg__edits_fail(e, "out of memory building edits");
    if (len) memcpy(e->strings + e->strings_len, bytes, len);
    *reference = (uint64_t)e->strings_len | (uint64_t)len << 32;
    e->strings_len += len;
    return true;
}

static inline bool sg__edits_vformat(sg_edits *e, uint64_t *reference, const char *fmt,
                                     va_list args) {
    va_list copy;
    va_copy(copy, args);
    int needed = sg_vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (needed < 0) return sg__edits_fail(e, "invalid format string in an edit");
    /* +1: vsnprintf writes a NUL, which the next string overwrites. */
    if (!sg__grow(&e->strings, &e->strings_cap, e->strings_len + (size_t)needed + 1))
        return sg__edits_fail(e, "out of memory building edits");
    sg_vsnprintf((char *)e->strings + e->strings_len, (size_t)needed + 1, fmt, args);
    *reference = (uint64_t)e->strings_len | (uint64_t)needed << 32;
    e->strings_len += (size_t)needed;
    return true;
}

static inline bool sg__edits_record(sg_edits *e, uint8_t op, uint8_t kind, uint32_t target,
                                    uint64_t key, uint64_t value) {
    if (!sg__grow(&e->records, &e->records_cap, e->records_len + SG_EDIT_RECORD_BYTES))
        return sg__edits_fail(e, "out of memory building edits");
    uint8_t *r = e->records + e->records_len;
    memset(r, 0, SG_EDIT_RECORD_BYTES);
    r[0] = op;
    r[1] = kind;
    sg__put32(r + 4, target);
    sg__put64(r + 8, key);
    sg__put64(r + 16, value);
    e->records_len += SG_EDIT_RECORD_BYTES;
    return true;
}

/* The value word of a scalar value (strings appended to the arena). */
static inline bool sg__edits_value(sg_edits *e, sg_value v, uint64_t *word) {
    switch (v.kind) {
    case SG_VALUE_STR: return sg__edits_string(e, v.as.str.ptr, v.as.str.len, word);
    case SG_VALUE_INT: *word = (uint64_t)v.as.i; return true;
    case SG_VALUE_DOUBLE: *word = sg__double_to_bits(v.as.d); return true;
    case SG_VALUE_BOOL: *word = v.as.b ? 1 : 0; return true;
    default: return sg__edits_fail(e, "an edit's value cannot be JSON (only str, int, double, bool)");
    }
}

static inline bool sg__edits_set(sg_edits *e, uint8_t op, uint32_t target, sg_value v) {
    uint64_t word;
    if (!sg__edits_value(e, v, &word)) return false;
    return sg__edits_record(e, op, (uint8_t)v.kind, target, 0, word);
}

/* Sets the value of a span attribute row (sg_attribute.row). */
static inline bool sg_edits_set_span_attribute(sg_edits *e, uint32_t row, sg_value v) {
    return sg__edits_set(e, SG_OP_SET_SPAN_ATTRIBUTE, row, v);
}

/* Sets a span attribute row to a printf-formatted string. */
static inline SG__PRINTF(3, 4) bool sg_edits_set_span_attribute_fmt(sg_edits *e, uint32_t row,
                                                                     const char *fmt, ...) {
    uint64_t word;
    va_list args;
    va_start(args, fmt);
    bool ok = sg__edits_vformat(e, &word, fmt, args);
    va_end(args);
    return ok && sg__edits_record(e, SG_OP_SET_SPAN_ATTRIBUTE, SG_VALUE_STR, row, 0, word);
}

static inline bool sg_edits_remove_span_attribute(sg_edits *e, uint32_t row) {
    return sg__edits_record(e, SG_OP_REMOVE_SPAN_ATTRIBUTE, 0, row, 0, 0);
}

/* Adds attribute `key` to span `span`; a key the span already has gets its value
 * replaced. Needs some span attribute selection (keys with just `key` is enough). */
static inline bool sg_edits_add_span_attribute(sg_edits *e, uint32_t span, sg_str key,
                                               sg_value v) {
    uint64_t key_ref, word;
    if (!sg__edits_string(e, key.ptr, key.len, &key_ref)) return false;
    if (!sg__edits_value(e, v, &word)) return false;
    return sg__edits_record(e, SG_OP_ADD_SPAN_ATTRIBUTE, (uint8_t)v.kind, span, key_ref, word);
}

static inline bool sg_edits_set_resource_attribute(sg_edits *e, uint32_t row, sg_value v) {
    return sg__edits_set(e, SG_OP_SET_RESOURCE_ATTRIBUTE, row, v);
}

static inline bool sg_edits_remove_resource_attribute(sg_edits *e, uint32_t row) {
    return sg__edits_record(e, SG_OP_REMOVE_RESOURCE_ATTRIBUTE, 0, row, 0, 0);
}

static inline bool sg_edits_set_event_attribute(sg_edits *e, uint32_t row, sg_value v) {
    return sg__edits_set(e, SG_OP_SET_EVENT_ATTRIBUTE, row, v);
}

static inline bool sg_edits_remove_event_attribute(sg_edits *e, uint32_t row) {
    return sg__edits_record(e, SG_OP_REMOVE_EVENT_ATTRIBUTE, 0, row, 0, 0);
}

static inline bool sg_edits_set_link_attribute(sg_edits *e, uint32_t row, sg_value v) {
    return sg__edits_set(e, SG_OP_SET_LINK_ATTRIBUTE, row, v);
}

static inline bool sg_edits_remove_link_attribute(sg_edits *e, uint32_t row) {
    return sg__edits_record(e, SG_OP_REMOVE_LINK_ATTRIBUTE, 0, row, 0, 0);
}

/* Sets/removes the row of any table (sg_attribute.table). */
static inline bool sg_edits_set_attribute(sg_edits *e, const sg_attribute *a, sg_value v) {
    return sg__edits_set(e, (uint8_t)(SG_OP_SET_SPAN_ATTRIBUTE + (a->table == SG_SPAN_ATTRIBUTES
                                                                      ? 0
                                                                      : 1 + 2 * a->table)),
                         a->row, v);
}

static inline bool sg_edits_remove_attribute(sg_edits *e, const sg_attribute *a) {
    uint8_t op = a->table == SG_SPAN_ATTRIBUTES ? SG_OP_REMOVE_SPAN_ATTRIBUTE
                                                : (uint8_t)(SG_OP_SET_SPAN_ATTRIBUTE + 2 + 2 * a->table);
    return sg__edits_record(e, op, 0, a->row, 0, 0);
}

static inline bool sg__edits_text(sg_edits *e, uint8_t op, uint32_t target, sg_str text) {
    uint64_t word;
    if (!sg__edits_string(e, text.ptr, text.len, &word)) return false;
    return sg__edits_record(e, op, SG_VALUE_STR, target, 0, word);
}

/* Renames span `span` (needs SG_FIELD_NAME). */
static inline bool sg_edits_set_name(sg_edits *e, uint32_t span, sg_str name) {
    return sg__edits_text(e, SG_OP_SET_NAME, span, name);
}

static inline SG__PRINTF(3, 4) bool sg_edits_set_name_fmt(sg_edits *e, uint32_t span,
                                                           const char *fmt, ...) {
    uint64_t word;
    va_list args;
    va_start(args, fmt);
    bool ok = sg__edits_vformat(e, &word, fmt, args);
    va_end(args);
    return ok && sg__edits_record(e, SG_OP_SET_NAME, SG_VALUE_STR, span, 0, word);
}

/* Sets span `span`'s status message (needs SG_FIELD_STATUS_MESSAGE). */
static inline bool sg_edits_set_status_message(sg_edits *e, uint32_t span, sg_str message) {
    return sg__edits_text(e, SG_OP_SET_STATUS_MESSAGE, span, message);
}

/* Renames the event with global index `event` (needs SG_FIELD_EVENT_NAMES). */
static inline bool sg_edits_set_event_name(sg_edits *e, uint32_t event, sg_str name) {
    return sg__edits_text(e, SG_OP_SET_EVENT_NAME, event, name);
}

/* Drops span `span` from the batch. */
static inline bool sg_edits_drop_span(sg_edits *e, uint32_t span) {
    return sg__edits_record(e, SG_OP_DROP_SPAN, 0, span, 0, 0);
}

/* One decoded edit record. */
typedef struct {
    uint8_t op, kind;
    uint32_t target;
    uint64_t key;   /* string reference (op 3) */
    uint64_t value; /* as an attribute table's value column */
} sg_edit_record;

/* Record `index` of a records buffer of `len` bytes; false past its end. */
static inline bool sg_edit_record_at(const uint8_t *records, size_t len, size_t index,
                                     sg_edit_record *out) {
    if (index >= len / SG_EDIT_RECORD_BYTES) return false;
    const uint8_t *r = records + index * SG_EDIT_RECORD_BYTES;
    out->op = r[0];
    out->kind = r[1];
    out->target = sg__le32(r + 4);
    out->key = sg__le64(r + 8);
    out->value = sg__le64(r + 16);
    return true;
}

/* ------------------------------------------------------------------------------------
 * Decisions: a sampler's answer
 * ---------------------------------------------------------------------------------- */

/* One verdict per span (head) or per trace (tail): 0 drops, i > 0 keeps with policy
 * policies[i - 1]. Policies are deduplicated. */
typedef struct {
    uint16_t *verdicts;
    size_t len, cap;
    sg_string *policies;
    size_t policy_count;
    const char *failure;
} sg_decisions;

static inline void sg_decisions_init(sg_decisions *d) { memset(d, 0, sizeof *d); }

static inline void sg_decisions_free(sg_decisions *d) {
    free(d->verdicts);
    for (size_t i = 0; i < d->policy_count; i++) sg_string_free(&d->policies[i]);
    free(d->policies);
    sg_decisions_init(d);
}

static inline bool sg__decisions_push(sg_decisions *d, uint16_t verdict) {
    if (d->len == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        uint16_t *p = (uint16_t *)realloc(d->verdicts, cap * sizeof *p);
        if (!p) {
            if (!d->failure) d->failure = "out of memory building decisions";
            return false;
        }
        d->verdicts = p;
        d->cap = cap;
    }
    d->verdicts[d->len++] = verdict;
    return true;
}

static inline bool sg_decisions_drop(sg_decisions *d) { return sg__decisions_push(d, 0); }

/* Keeps the next span or trace, recording `policy` as what kept it. */
static inline bool sg_decisions_keep(sg_decisions *d, sg_str policy) {
    size_t i = 0;
    while (i < d->policy_count && !sg_str_eq(sg_string_view(d->policies[i]), policy)) i++;
    if (i == d->policy_count) {
        if (i >= UINT16_MAX) {
            if (!d->failure) d->failure = "more than 65535 sampling policies";
            return false;
        }
        sg_string *grown = (sg_string *)realloc(d->policies, (i + 1) * sizeof *grown);
        if (!grown) {
            if (!d->failure) d->failure = "out of memory building decisions";
            return false;
        }
        d->policies = grown;
        d->policies[i] = sg_string_copy(policy.ptr, policy.len);
        if (!d->policies[i].ptr) {
            if (!d->failure) d->failure = "out of memory building decisions";
            return false;
        }
        d->policy_count++;
    }
    return sg__decisions_push(d, (uint16_t)(i + 1));
}

/* Distinct trace ids in order of first appearance (what sample_tail answers for):
 * fills `first_spans` (malloc'd, caller frees) with the index of each trace's first span.
 * Needs SG_FIELD_TRACE_ID. Returns the number of traces, or SIZE_MAX when out of memory. */
static inline size_t sg_trace_first_spans(const sg_batch *b, uint32_t **first_spans) {
    *first_spans = NULL;
    if (b->len == 0) return 0;
    size_t slots = 16;
    while (slots < (size_t)b->len * 2) slots *= 2;
    uint32_t *table = (uint32_t *)malloc(slots * sizeof *table);
    uint32_t *firsts = (uint32_t *)malloc((size_t)b->len * sizeof *firsts);
    if (!table || !firsts) {
        free(table);
        free(firsts);
        return SIZE_MAX;
    }
    for (size_t i = 0; i < slots; i++) table[i] = UINT32_MAX;
    size_t traces = 0;
    for (uint32_t span = 0; span < b->len; span++) {
        const uint8_t *id = sg_span_trace_id(b, span);
        uint64_t h = sg__le64(id) * 0x9E3779B97F4A7C15ull ^ sg__le64(id + 8);
        size_t slot = (size_t)(h ^ h >> 29) & (slots - 1);
        for (;;) {
            if (table[slot] == UINT32_MAX) {
                table[slot] = (uint32_t)traces;
                firsts[traces++] = span;
                break;
            }
            if (memcmp(sg_span_trace_id(b, firsts[table[slot]]), id, 16) == 0) break;
            slot = (slot + 1) & (slots - 1);
        }
    }
    free(table);
    *first_spans = firsts;
    return traces;
}

/* ------------------------------------------------------------------------------------
 * Config: a small JSON reader
 * ---------------------------------------------------------------------------------- */

typedef enum {
    SG_JSON_NULL,
    SG_JSON_BOOL,
    SG_JSON_NUMBER, /* `text` holds the number as written */
    SG_JSON_STRING, /* `text` holds the decoded UTF-8 */
    SG_JSON_ARRAY,
    SG_JSON_OBJECT,
} sg_json_type;

typedef struct sg_json sg_json;
struct sg_json {
    sg_json_type type;
    bool boolean;
    sg_string text;
    sg_json *items;   /* array items, object values */
    sg_string *keys;  /* object keys */
    size_t count;
};

static inline void sg_json_free(sg_json *v) {
    sg_string_free(&v->text);
    for (size_t i = 0; i < v->count; i++) {
        sg_json_free(&v->items[i]);
        if (v->keys) sg_string_free(&v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

typedef struct {
    const char *text;
    size_t len, pos;
    int depth;
    sg_error *err;
} sg__json_parser;

static inline bool sg__json_fail(sg__json_parser *p, const char *what) {
    sg_error_set(p->err, "invalid JSON at byte %zu: %s", p->pos, what);
    return false;
}

static inline void sg__json_space(sg__json_parser *p) {
    while (p->pos < p->len && (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' ||
                               p->text[p->pos] == '\n' || p->text[p->pos] == '\r'))
        p->pos++;
}

static inline int sg__hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static inline bool sg__json_hex4(sg__json_parser *p, uint32_t *out) {
    if (p->pos + 4 > p->len) return sg__json_fail(p, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = sg__hex(p->text[p->pos + i]);
        if (h < 0) return sg__json_fail(p, "bad \\u escape");
        v = v << 4 | (uint32_t)h;
    }
    p->pos += 4;
    *out = v;
    return true;
}

static inline bool sg__json_string(sg__json_parser *p, sg_string *out) {
    p->pos++; /* opening quote */
    sg_buf b = {0};
    sg_buf_reserve(&b, 16);
    while (p->pos < p->len && p->text[p->pos] != '"') {
        unsigned char c = (unsigned char)p->text[p->pos];
        if (c < 0x20) {
            sg_buf_free(&b);
            return sg__json_fail(p, "control character in a string");
        }
        if (c != '\\') {
            size_t start = p->pos;
            while (p->pos < p->len && p->text[p->pos] != '"' && p->text[p->pos] != '\\' &&
                   (unsigned char)p->text[p->pos] >= 0x20)
                p->pos++;
            sg_str run = {p->text + start, p->pos - start};
            sg_buf_append(&b, run);
            continue;
        }
        p->pos++;
        if (p->pos >= p->len) break;
        char e = p->text[p->pos++];
        char single = 0;
        switch (e) {
        case '"': single = '"'; break;
        case '\\': single = '\\'; break;
        case '/': single = '/'; break;
        case 'b': single = '\b'; break;
        case 'f': single = '\f'; break;
        case 'n': single = '\n'; break;
        case 'r': single = '\r'; break;
        case 't': single = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (!sg__json_hex4(p, &cp)) {
                sg_buf_free(&b);
                return false;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t low;
                if (p->pos + 2 > p->len || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u') {
                    sg_buf_free(&b);
                    return sg__json_fail(p, "unpaired surrogate in \\u escape");
                }
                p->pos += 2;
                if (!sg__json_hex4(p, &low) || low < 0xDC00 || low > 0xDFFF) {
                    sg_buf_free(&b);
                    return sg__json_fail(p, "unpaired surrogate in \\u escape");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                sg_buf_free(&b);
                return sg__json_fail(p, "unpaired surrogate in \\u escape");
            }
            char u[4];
            size_t n;
            if (cp < 0x80) {
                u[0] = (char)cp;
                n = 1;
            } else if (cp < 0x800) {
                u[0] = (char)(0xC0 | cp >> 6);
                u[1] = (char)(0x80 | (cp & 0x3F));
                n = 2;
            } else if (cp < 0x10000) {
                u[0] = (char)(0xE0 | cp >> 12);
                u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
                u[2] = (char)(0x80 | (cp & 0x3F));
                n = 3;
            } else {
                u[0] = (char)(0xF0 | cp >> 18);
                u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
                u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
                u[3] = (char)(0x80 | (cp & 0x3F));
                n = 4;
            }
            sg_str run = {u, n};
            sg_buf_append(&b, run);
            continue;
        }
        default: sg_buf_free(&b); p->pos--; return sg__json_fail(p, "unknown escape");
        }
        sg_str run = {&single, 1};
        sg_buf_append(&b, run);
    }
    if (p->pos >= p->len) {
        sg_buf_free(&b);
        return sg__json_fail(p, "unterminated string");
    }
    p->pos++; /* closing quote */
    if (b.failed) {
        sg_buf_free(&b);
        sg_error_set(p->err, "out of memory reading the config");
        return false;
    }
    out->ptr = b.ptr;
    out->len = b.len;
    return true;
}

static inline bool sg__json_value(sg__json_parser *p, sg_json *out);

static inline bool sg__json_push(sg__json_parser *p, sg_json *container, size_t *cap) {
    if (container->count < *cap) return true;
    size_t grown = *cap ? *cap * 2 : 4;
    sg_json *items = (sg_json *)realloc(container->items, grown * sizeof *items);
    if (!items) goto oom;
    container->items = items;
    if (container->type == SG_JSON_OBJECT) {
        sg_string *keys = (sg_string *)realloc(container->keys, grown * sizeof *keys);
        if (!keys) goto oom;
        container->keys = keys;
    }
    *cap = grown;
    return true;
oom:
    sg_error_set(p->err, "out of memory reading the config");
    return false;
}

static inline bool sg__json_value(sg__json_parser *p, sg_json *out) {
    memset(out, 0, sizeof *out);
    sg__json_space(p);
    if (p->pos >= p->len) return sg__json_fail(p, "expected a value");
    char c = p->text[p->pos];
    if (c == '"') {
        out->type = SG_JSON_STRING;
        return sg__json_string(p, &out->text);
    }
    if (c == '{' || c == '[') {
        bool object = c == '{';
        char close = object ? '}' : ']';
        if (++p->depth > 64) return sg__json_fail(p, "nested too deeply");
        out->type = object ? SG_JSON_OBJECT : SG_JSON_ARRAY;
        size_t cap = 0;
        p->pos++;
        sg__json_space(p);
        if (p->pos < p->len && p->text[p->pos] == close) {
            p->pos++;
            p->depth--;
            return true;
        }
        for (;;) {
            if (!sg__json_push(p, out, &cap)) return false;
            if (object) {
                sg__json_space(p);
                if (p->pos >= p->len || p->text[p->pos] != '"')
                    return sg__json_fail(p, "expected a string key");
                sg_string key = {0};
                if (!sg__json_string(p, &key)) return false;
                out->keys[out->count] = key;
                memset(&out->items[out->count], 0, sizeof(sg_json));
                out->count++;
                sg__json_space(p);
                if (p->pos >= p->len || p->text[p->pos] != ':')
                    return sg__json_fail(p, "expected ':'");
                p->pos++;
            } else {
                memset(&out->items[out->count], 0, sizeof(sg_json));
                out->count++;
            }
            if (!sg__json_value(p, &out->items[out->count - 1])) return false;
            sg__json_space(p);
            if (p->pos < p->len && p->text[p->pos] == ',') {
                p->pos++;
                continue;
            }
            if (p->pos < p->len && p->text[p->pos] == close) {
                p->pos++;
                p->depth--;
                return true;
            }
            return sg__json_fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    if (c == 't' && p->len - p->pos >= 4 && memcmp(p->text + p->pos, "true", 4) == 0) {
        out->type = SG_JSON_BOOL;
        out->boolean = true;
        p->pos += 4;
        return true;
    }
    if (c == 'f' && p->len - p->pos >= 5 && memcmp(p->text + p->pos, "false", 5) == 0) {
        out->type = SG_JSON_BOOL;
        p->pos += 5;
        return true;
    }
    if (c == 'n' && p->len - p->pos >= 4 && memcmp(p->text + p->pos, "null", 4) == 0) {
        out->type = SG_JSON_NULL;
        p->pos += 4;
        return true;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        size_t start = p->pos;
        if (p->text[p->pos] == '-') p->pos++;
        if (p->pos >= p->len || p->text[p->pos] < '0' || p->text[p->pos] > '9')
            return sg__json_fail(p, "bad number");
        if (p->text[p->pos] == '0') {
            p->pos++;
        } else {
            while (p->pos < p->len && p->text[p->pos] >= '0' && p->text[p->pos] <= '9') p->pos++;
        }
        if (p->pos < p->len && p->text[p->pos] == '.') {
            p->pos++;
            if (p->pos >= p->len || p->text[p->pos] < '0' || p->text[p->pos] > '9')
                return sg__json_fail(p, "bad number");
            while (p->pos < p->len && p->text[p->pos] >= '0' && p->text[p->pos] <= '9') p->pos++;
        }
        if (p->pos < p->len && (p->text[p->pos] == 'e' || p->text[p->pos] == 'E')) {
            p->pos++;
            if (p->pos < p->len && (p->text[p->pos] == '+' || p->text[p->pos] == '-')) p->pos++;
            if (p->pos >= p->len || p->text[p->pos] < '0' || p->text[p->pos] > '9')
                return sg__json_fail(p, "bad number");
            while (p->pos < p->len && p->text[p->pos] >= '0' && p->text[p->pos] <= '9') p->pos++;
        }
        out->type = SG_JSON_NUMBER;
        out->text = sg_string_copy(p->text + start, p->pos - start);
        if (!out->text.ptr) {
            sg_error_set(p->err, "out of memory reading the config");
            return false;
        }
        return true;
    }
    return sg__json_fail(p, "expected a value");
}

/* Parses JSON text into `out` (sg_json_free it). */
static inline bool sg_json_parse(sg_str text, sg_json *out, sg_error *err) {
    sg__json_parser p = {text.ptr, text.len, 0, 0, err};
    if (!sg__json_value(&p, out)) {
        sg_json_free(out);
        return false;
    }
    sg__json_space(&p);
    if (p.pos != p.len) {
        sg_json_free(out);
        return sg__json_fail(&p, "trailing characters after the value");
    }
    return true;
}

/* A short description of a JSON value for error messages: `found "fast"`, `found 3`. */
static inline void sg__json_describe(const sg_json *v, char *out, size_t size) {
    switch (v->type) {
    case SG_JSON_NULL: sg_snprintf(out, size, "null"); break;
    case SG_JSON_BOOL: sg_snprintf(out, size, "%s", v->boolean ? "true" : "false"); break;
    case SG_JSON_NUMBER: sg_snprintf(out, size, "%.*s", (int)(v->text.len > 40 ? 40 : v->text.len), v->text.ptr); break;
    case SG_JSON_STRING:
        sg_snprintf(out, size, "\"%.*s%s\"", (int)(v->text.len > 40 ? 40 : v->text.len), v->text.ptr,
                 v->text.len > 40 ? "..." : "");
        break;
    case SG_JSON_ARRAY: sg_snprintf(out, size, "a list"); break;
    case SG_JSON_OBJECT: sg_snprintf(out, size, "an object"); break;
    }
}

#define SG_CONFIG_MAX_KEYS 64

/* A plugin's config: a JSON object whose values are read by key. Every getter marks its
 * key as known; sg_config_finish refuses keys that no getter asked for. Errors name the
 * key: `slow_ms: expected a non-negative integer, found "fast"`. */
typedef struct {
    sg_json root;
    bool *used;
    const char *known[SG_CONFIG_MAX_KEYS];
    size_t known_count;
} sg_config;

static inline void sg_config_free(sg_config *c) {
    sg_json_free(&c->root);
    free(c->used);
    c->used = NULL;
    c->known_count = 0;
}

/* Parses the config text; "" (or only whitespace) reads as {}. Refuses anything but an
 * object, and duplicate keys. */
static inline bool sg_config_parse(sg_config *c, sg_str text, sg_error *err) {
    memset(c, 0, sizeof *c);
    size_t i = 0;
    while (i < text.len && (text.ptr[i] == ' ' || text.ptr[i] == '\n' || text.ptr[i] == '\t' ||
                            text.ptr[i] == '\r'))
        i++;
    if (i == text.len) {
        c->root.type = SG_JSON_OBJECT;
        return true;
    }
    if (!sg_json_parse(text, &c->root, err)) {
        sg_error_prefix(err, "config");
        return false;
    }
    if (c->root.type != SG_JSON_OBJECT) {
        char found[64];
        sg__json_describe(&c->root, found, sizeof found);
        sg_error_set(err, "config: expected a JSON object, found %s", found);
        sg_config_free(c);
        return false;
    }
    for (size_t a = 0; a < c->root.count; a++)
        for (size_t b = a + 1; b < c->root.count; b++)
            if (sg_str_eq(sg_string_view(c->root.keys[a]), sg_string_view(c->root.keys[b]))) {
                sg_error_set(err, "%s: duplicate key", c->root.keys[a].ptr);
                sg_config_free(c);
                return false;
            }
    c->used = (bool *)calloc(c->root.count ? c->root.count : 1, sizeof(bool));
    if (!c->used) {
        sg_error_set(err, "out of memory reading the config");
        sg_config_free(c);
        return false;
    }
    return true;
}

/* The value of `key` (NULL when absent); marks the key as known. */
static inline const sg_json *sg_config_get(sg_config *c, const char *key) {
    if (c->known_count < SG_CONFIG_MAX_KEYS) c->known[c->known_count++] = key;
    for (size_t i = 0; i < c->root.count; i++)
        if (sg_str_eq_cstr(sg_string_view(c->root.keys[i]), key)) {
            if (c->used) c->used[i] = true;
            return &c->root.items[i];
        }
    return NULL;
}

static inline bool sg__config_type_error(sg_error *err, const char *key, const sg_json *v,
                                         const char *expected) {
    char found[64];
    sg__json_describe(v, found, sizeof found);
    sg_error_set(err, "%s: expected %s, found %s", key, expected, found);
    return false;
}

/* String `key`, or a copy of `fallback` when absent. */
static inline bool sg_config_string(sg_config *c, const char *key, const char *fallback,
                                    sg_string *out, sg_error *err) {
    const sg_json *v = sg_config_get(c, key);
    if (v && v->type != SG_JSON_STRING) return sg__config_type_error(err, key, v, "a string");
    sg_str s = v ? sg_string_view(v->text) : sg_str_from(fallback);
    *out = sg_string_copy(s.ptr, s.len);
    if (!out->ptr) {
        sg_error_set(err, "%s: out of memory", key);
        return false;
    }
    return true;
}

/* Whether a JSON number's text is an integer (no fraction or exponent). */
static inline bool sg__json_integer_text(const sg_json *v) {
    if (v->type != SG_JSON_NUMBER) return false;
    for (size_t i = 0; i < v->text.len; i++)
        if (v->text.ptr[i] == '.' || v->text.ptr[i] == 'e' || v->text.ptr[i] == 'E') return false;
    return true;
}

/* The decimal digits of an integer's text from byte `start` as a value ≤ `limit`;
 * false when it is larger. */
static inline bool sg__json_digits(const sg_json *v, size_t start, uint64_t limit, uint64_t *out) {
    uint64_t n = 0;
    for (size_t i = start; i < v->text.len; i++) {
        unsigned d = (unsigned)(v->text.ptr[i] - '0');
        if (n > (limit - d) / 10) return false;
        n = n * 10 + d;
    }
    *out = n;
    return true;
}

/* Non-negative integer `key` (fits u64), or `fallback` when absent. */
static inline bool sg_config_u64(sg_config *c, const char *key, uint64_t fallback, uint64_t *out,
                                 sg_error *err) {
    const sg_json *v = sg_config_get(c, key);
    if (!v) {
        *out = fallback;
        return true;
    }
    if (!sg__json_integer_text(v) || v->text.ptr[0] == '-')
        return sg__config_type_error(err, key, v, "a non-negative integer");
    if (!sg__json_digits(v, 0, UINT64_MAX, out)) {
        sg_error_set(err, "%s: %s is too large (at most %llu)", key, v->text.ptr,
                     (unsigned long long)UINT64_MAX);
        return false;
    }
    return true;
}

/* Integer `key` (fits i64), or `fallback` when absent. */
static inline bool sg_config_i64(sg_config *c, const char *key, int64_t fallback, int64_t *out,
                                 sg_error *err) {
    const sg_json *v = sg_config_get(c, key);
    if (!v) {
        *out = fallback;
        return true;
    }
    if (!sg__json_integer_text(v)) return sg__config_type_error(err, key, v, "an integer");
    bool negative = v->text.ptr[0] == '-';
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, n;
    if (!sg__json_digits(v, negative ? 1 : 0, limit, &n)) {
        sg_error_set(err, "%s: %s is out of range for a 64-bit integer", key, v->text.ptr);
        return false;
    }
    *out = negative ? (int64_t)(0 - n) : (int64_t)n;
    return true;
}

/* Number `key` (any JSON number), or `fallback` when absent. */
static inline bool sg_config_double(sg_config *c, const char *key, double fallback, double *out,
                                    sg_error *err) {
    const sg_json *v = sg_config_get(c, key);
    if (!v) {
        *out = fallback;
        return true;
    }
    if (v->type != SG_JSON_NUMBER) return sg__config_type_error(err, key, v, "a number");
    *out = strtod(v->text.ptr, NULL);
    return true;
}

/* Boolean `key`, or `fallback` when absent. */
static inline bool sg_config_bool(sg_config *c, const char *key, bool fallback, bool *out,
                                  sg_error *err) {
    const sg_json *v = sg_config_get(c, key);
    if (!v) {
        *out = fallback;
        return true;
    }
    if (v->type != SG_JSON_BOOL) return sg__config_type_error(err, key, v, "a boolean");
    *out = v->boolean;
    return true;
}

/* List of strings `key` (copies), or an empty list when absent. An element of another
 * type is named by its index: `mask_keys[1]: expected a string, found 3`. */
static inline bool sg_config_string_list(sg_config *c, const char *key, sg_string_list *out,
                                         sg_error *err) {
    out->items = NULL;
    out->count = 0;
    const sg_json *v = sg_config_get(c, key);
    if (!v) return true;
    if (v->type != SG_JSON_ARRAY) return sg__config_type_error(err, key, v, "a list of strings");
    for (size_t i = 0; i < v->count; i++) {
        if (v->items[i].type != SG_JSON_STRING) {
            char found[64];
            sg__json_describe(&v->items[i], found, sizeof found);
            sg_error_set(err, "%s[%zu]: expected a string, found %s", key, i, found);
            return false;
        }
    }
    out->items = (sg_string *)calloc(v->count ? v->count : 1, sizeof(sg_string));
    if (!out->items) {
        sg_error_set(err, "%s: out of memory", key);
        return false;
    }
    for (size_t i = 0; i < v->count; i++) {
        out->items[i] = sg_string_copy(v->items[i].text.ptr, v->items[i].text.len);
        out->count++;
        if (!out->items[i].ptr) {
            sg_string_list_free(out);
            sg_error_set(err, "%s: out of memory", key);
            return false;
        }
    }
    return true;
}

/* Refuses a key that no getter asked for (call after the getters), then frees the
 * parsed JSON. `unknown key "treshold" (known keys: mask_keys, slow_ms, drop_name)`. */
static inline bool sg_config_finish(sg_config *c, sg_error *err) {
    for (size_t i = 0; i < c->root.count; i++) {
        if (c->used && c->used[i]) continue;
        char known[256] = "";
        size_t used = 0;
        for (size_t k = 0; k < c->known_count && used < sizeof known; k++) {
            int n = sg_snprintf(known + used, sizeof known - used, "%s%s", k ? ", " : "", c->known[k]);
            if (n < 0) break;
            used += (size_t)n;
        }
        sg_error_set(err, "%s: unknown key (known keys: %s)", c->root.keys[i].ptr,
                     c->known_count ? known : "none");
        sg_config_free(c);
        return false;
    }
    sg_config_free(c);
    return true;
}

/* ------------------------------------------------------------------------------------
 * Plugins
 * ---------------------------------------------------------------------------------- */

/* A processor: `init` parses the config and declares its needs (strings in `needs` must
 * outlive the plugin: point them at static text or at `*state`), `process` answers a
 * batch with edits. Return false with `err` set to refuse init or fail a batch. `free`
 * (optional) releases the state. */
typedef struct {
    bool (*init)(void **state, sg_str config, sg_needs *needs, sg_error *err);
    bool (*process)(void *state, const sg_batch *batch, sg_edits *edits, sg_error *err);
    void (*free)(void *state);
} sg_processor;

/* A sampler: one verdict per span for `sample_head`, per distinct trace id in order of
 * first appearance (sg_trace_first_spans) for `sample_tail` (may be NULL if the sampler
 * declares no tail settings). */
typedef struct {
    bool (*init)(void **state, sg_str config, sg_sampler_needs *needs, sg_error *err);
    bool (*sample_head)(void *state, const sg_batch *batch, sg_decisions *decisions, sg_error *err);
    bool (*sample_tail)(void *state, const sg_batch *batch, sg_decisions *decisions, sg_error *err);
    void (*free)(void *state);
} sg_sampler;

/* Exports a processor (`const sg_processor NAME = {...}`) as the component's
 * `spangate:plugin/processor@0.2.0`; once per plugin. The wasm glue
 * (sdk/c/glue/processor.c, compiled by scripts/build-c-plugin.sh) calls it. */
#define SG_EXPORT_PROCESSOR(processor) const sg_processor *const sg_exported_processor = &(processor)
#define SG_EXPORT_SAMPLER(sampler) const sg_sampler *const sg_exported_sampler = &(sampler)

#ifdef __cplusplus
}
#endif

#endif /* SPANGATE_PLUGIN_H */
