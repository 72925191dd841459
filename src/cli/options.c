/* Helpers shared by the commands: usage errors, strict numbers, output
 * names, the assumption warnings, text from files cleaned for the terminal
 * (km_cli_clean), the recorded command line. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int km_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "knotmap: %s%s", cmd != NULL ? cmd : "", cmd != NULL ? ": " : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'knotmap %s%s--help'.\n", cmd != NULL ? cmd : "", cmd != NULL ? " " : "");
    return KM_EX_USAGE;
}

int km_cli_double(const char *cmd, const char *opt, const char *text, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (text[0] == '\0' || end == text || *end != '\0' || errno == ERANGE || isnan(v)) {
        km_cli_usage(cmd, "--%s: '%s' is not a number", opt, text);
        return -1;
    }
    *out = v;
    return 0;
}

int km_cli_int(const char *cmd, const char *opt, const char *text, long long lo, long long hi,
               long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (text[0] == '\0' || end == text || *end != '\0' || errno == ERANGE) {
        km_cli_usage(cmd, "--%s: '%s' is not an integer", opt, text);
        return -1;
    }
    if (v < lo || v > hi) {
        km_cli_usage(cmd, "--%s: %lld is out of range [%lld, %lld]", opt, v, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* 1 when `s` is UTF-8 throughout: each lead byte with its continuations, the
 * test the result writer applies to the text it stores (km_rw_attr_str). */
static int is_utf8(const unsigned char *s)
{
    for (; *s != 0; s++) {
        int more = *s < 0x80 ? 0 : (*s & 0xE0) == 0xC0 ? 1 : (*s & 0xF0) == 0xE0 ? 2
                 : (*s & 0xF8) == 0xF0 ? 3 : -1;
        for (; more > 0 && (s[1] & 0xC0) == 0x80; more--)
            s++;
        if (more != 0)
            return 0;
    }
    return 1;
}

const char *km_cli_clean(const char *s, char *buf, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    if (cap == 0)
        return buf;
    int latin1 = !is_utf8((const unsigned char *)s); /* as the result file stores it */
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0';) {
        size_t len = !latin1 && p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F ? 2 : 1;
        int ctl = len == 2 || (*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7F ||
                  (latin1 && *p >= 0x80 && *p <= 0x9F);
        int wide = latin1 && *p >= 0xA0; /* a Latin-1 character: two bytes of UTF-8 */
        if (n + (ctl ? 4 * len : 1 + (size_t)wide) >= cap)
            break;
        for (size_t k = 0; k < len; k++) {
            if (ctl) {
                buf[n++] = '\\';
                buf[n++] = 'x';
                buf[n++] = hex[p[k] >> 4];
                buf[n++] = hex[p[k] & 15];
            } else if (wide) {
                buf[n++] = (char)(0xC0 | (p[k] >> 6));
                buf[n++] = (char)(0x80 | (p[k] & 0x3F));
            } else {
                buf[n++] = (char)p[k];
            }
        }
        p += len;
    }
    buf[n] = '\0';
    return buf;
}

/* "knotmap: PATH: warning: TEXT", both cleaned (km_cli_clean): TEXT may
 * quote a result's own list of what was assumed. */
static void warn_line(const char *path, const char *text)
{
    char cp[2048], ct[2048];
    fprintf(stderr, "knotmap: %s: warning: %s\n", km_cli_clean(path, cp, sizeof cp),
            km_cli_clean(text, ct, sizeof ct));
}

int km_cli_warn_assumed(const char *path, const km_session_info *in)
{
    char what[512], rest[sizeof in->assumed];
    int n = (int)km_assumed_combined(in, what, sizeof what, rest, sizeof rest);
    if (n > 0) /* pitch, rate, units, mode: one line */
        warn_line(path, what);
    for (const char *p = rest; *p != '\0';) {
        size_t len = strcspn(p, ",");
        km_assumed_sentence(in, p, len, what, sizeof what);
        warn_line(path, what);
        n++;
        p += len;
        if (*p == ',')
            p++;
    }
    return n;
}

void km_cli_warn_nonfinite(const char *path, const km_session_info *in)
{
    char text[512];
    km_nonfinite_text(in, text, sizeof text);
    if (text[0] != '\0')
        warn_line(path, text);
}

static int needs_quotes(const char *s)
{
    if (*s == '\0')
        return 1;
    for (; *s != '\0'; s++)
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *s) ==
            NULL)
            return 1;
    return 0;
}

char *km_cli_command_line(int argc, char **argv)
{
    size_t n = 1;
    for (int i = 0; i < argc; i++)
        n += 4 * strlen(argv[i]) + 3;
    char *s = malloc(n), *p = s;
    if (s == NULL)
        return NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (i > 0)
            *p++ = ' ';
        if (!needs_quotes(a)) {
            size_t l = strlen(a);
            memcpy(p, a, l);
            p += l;
            continue;
        }
        *p++ = '\'';
        for (; *a != '\0'; a++) {
            if (*a == '\'') {
                memcpy(p, "'\\''", 4);
                p += 4;
            } else {
                *p++ = *a;
            }
        }
        *p++ = '\'';
    }
    *p = '\0';
    return s;
}

char *km_cli_output_name(const char *input, const char *ext)
{
    size_t n = strlen(input), e = strlen(ext);
    char *out = malloc(n + e + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, input, n + 1);
    if (n > 3 && strcmp(input + n - 3, ".h5") == 0)
        out[n - 3] = '\0';
    strcat(out, ext);
    return out;
}

int km_cli_deadline_arg(const char *cmd, const char *v, double *out)
{
    if (km_cli_double(cmd, "deadline", v, out) < 0)
        return KM_EX_USAGE;
    if (!(*out > 0.0) || *out > 1e9)
        return km_cli_usage(cmd, "--deadline must be > 0 seconds");
    return KM_EX_OK;
}

int km_cli_output_arg(const char *cmd, const char *v, const char **out)
{
    if (strcmp(v, "-") == 0)
        return km_cli_usage(cmd, "-o -: %s writes a file, not standard output; give a file name",
                            cmd);
    *out = v;
    return KM_EX_OK;
}
