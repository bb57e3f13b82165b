/* Common module of the `sushi` CLI: argument parsing, errors, loading,
 * JSON output and number formatting (see cli.h). */
#include "atomic_file.h"
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------- argument parsing ---------- */

void cli_parser_init(cli_parser *p, int argc, char **argv, const cli_option *opts)
{
    p->argc = argc;
    p->argv = argv;
    p->i = 1;
    p->opts = opts;
    p->cmd = argc > 0 ? argv[0] : "sushi";
    p->positional_only = false;
}

static const cli_option *find_long(const cli_option *opts, const char *name, size_t len)
{
    for (const cli_option *o = opts; o && o->long_name; o++)
        if (strlen(o->long_name) == len && strncmp(o->long_name, name, len) == 0)
            return o;
    return NULL;
}

static const cli_option *find_short(const cli_option *opts, char c)
{
    for (const cli_option *o = opts; o && o->long_name; o++)
        if (o->short_name && o->short_name == c)
            return o;
    return NULL;
}

int cli_next(cli_parser *p, const char **arg)
{
    *arg = NULL;
    if (p->i >= p->argc)
        return CLI_ARG_END;
    const char *a = p->argv[p->i++];
    if (p->positional_only || a[0] != '-' || a[1] == '\0') { /* "-" alone is positional */
        *arg = a;
        return CLI_ARG_POSITIONAL;
    }
    if (strcmp(a, "--") == 0) {
        p->positional_only = true;
        return cli_next(p, arg);
    }
    const cli_option *o;
    const char *inline_val = NULL;
    if (a[1] == '-') {
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        if (len == 4 && strncmp(name, "help", 4) == 0 && !eq)
            return CLI_OPT_HELP;
        o = find_long(p->opts, name, len);
        if (!o) {
            cli_usage_error(p->cmd, "unknown option '--%.*s'", (int)len, name);
            return CLI_ARG_ERROR;
        }
        if (eq) {
            if (!o->has_arg) {
                cli_usage_error(p->cmd, "option '--%s' takes no argument", o->long_name);
                return CLI_ARG_ERROR;
            }
            inline_val = eq + 1;
        }
    } else {
        if (a[1] == 'h' && a[2] == '\0')
            return CLI_OPT_HELP;
        o = a[2] == '\0' ? find_short(p->opts, a[1]) : NULL;
        if (!o) {
            cli_usage_error(p->cmd, "unknown option '%s'", a);
            return CLI_ARG_ERROR;
        }
    }
    if (o->has_arg) {
        if (inline_val) {
            *arg = inline_val;
        } else if (p->i < p->argc) {
            *arg = p->argv[p->i++];
        } else {
            cli_usage_error(p->cmd, "option '--%s' needs an argument", o->long_name);
            return CLI_ARG_ERROR;
        }
    }
    return o->id;
}

bool cli_parse_u64(const char *cmd, const char *opt, const char *text, uint64_t *out)
{
    const char *s = text;
    while (*s == ' ')
        s++;
    if (*s < '0' || *s > '9') {
        cli_usage_error(cmd, "%s: expected a non-negative integer, got '%s'", opt, text);
        return false;
    }
    errno = 0;
    char *end;
    int base = s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10; /* no octal surprises */
    unsigned long long v = strtoull(s, &end, base);
    if (errno == ERANGE || *end != '\0') {
        cli_usage_error(cmd, "%s: expected a non-negative integer, got '%s'", opt, text);
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

bool cli_parse_u32(const char *cmd, const char *opt, const char *text, uint32_t *out)
{
    uint64_t v;
    if (!cli_parse_u64(cmd, opt, text, &v))
        return false;
    if (v > UINT32_MAX) {
        cli_usage_error(cmd, "%s: %s is too large", opt, text);
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* ---------- errors ---------- */

/* Write s to stderr with control characters (newlines) turned into spaces. */
static void put_clean(const char *s)
{
    for (; s && *s; s++)
        fputc((unsigned char)*s < 0x20 ? ' ' : *s, stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fputs("sushi: ", stderr);
    if (cmd && strcmp(cmd, "sushi") != 0) {
        put_clean(cmd);
        fputs(": ", stderr);
    }
    put_clean(msg);
    fputs(" (see 'sushi ", stderr);
    if (cmd && strcmp(cmd, "sushi") != 0) {
        put_clean(cmd);
        fputc(' ', stderr);
    }
    fputs("--help')\n", stderr);
    fflush(stderr);
    return CLI_EXIT_USAGE;
}

int cli_fail(const char *what, int status, const char *detail)
{
    fputs("sushi: ", stderr);
    put_clean(what);
    fputs(": ", stderr);
    put_clean(sushi_status_str(status));
    if (detail && *detail) {
        fputs(": ", stderr);
        put_clean(detail);
    }
    fputc('\n', stderr);
    fflush(stderr);
    return CLI_EXIT_RUNTIME;
}

int cli_fail_msg(const char *what, const char *message)
{
    fputs("sushi: ", stderr);
    put_clean(what);
    fputs(": ", stderr);
    put_clean(message);
    fputc('\n', stderr);
    fflush(stderr);
    return CLI_EXIT_RUNTIME;
}

int cli_help(const char *text)
{
    fputs(text, stdout);
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_fail_msg("write stdout", strerror(errno));
    return CLI_EXIT_OK;
}

/* ---------- SuperNets and configs ---------- */

/* A short rendering of a user argument for messages: at most ~60 chars. */
static void shorten(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n < cap) {
        memcpy(dst, src, n + 1);
        return;
    }
    snprintf(dst, cap, "%.*s...", (int)(cap - 4), src);
}

uint32_t cli_load_flags;

int cli_load_supernet(const char *spec, sushi_supernet **out)
{
    *out = NULL;
    char what[320];
    char shown[256];
    shorten(shown, sizeof shown, spec);
    snprintf(what, sizeof what, "load '%s'", shown);

    sushi_context *ctx = NULL;
    int rc = sushi_context_create(NULL, &ctx);
    if (rc)
        return cli_fail(what, rc, NULL);
    /* No log callback: the one error line comes from here, never from the library. */
    char err[512] = "";
    size_t plen = strlen(CLI_BUILTIN_PREFIX);
    if (strncmp(spec, CLI_BUILTIN_PREFIX, plen) == 0) {
        const char *name = spec + plen;
        rc = sushi_supernet_builtin(ctx, name, 0, out);
        if (rc == SUSHI_ERR_NOT_FOUND) {
            char list[256] = "";
            for (size_t i = 0; sushi_supernet_builtin_name(i); i++) {
                if (i)
                    strncat(list, ", ", sizeof list - strlen(list) - 1);
                strncat(list, sushi_supernet_builtin_name(i), sizeof list - strlen(list) - 1);
            }
            snprintf(err, sizeof err, "no built-in SuperNet named '%s' (built-ins: %s)", name, list);
        }
    } else {
        sushi_load_options lo = SUSHI_LOAD_OPTIONS_INIT;
        lo.errbuf = err;
        lo.errbuf_size = sizeof err;
        lo.flags |= cli_load_flags;
        rc = sushi_supernet_load_file(ctx, spec, &lo, out);
    }
    sushi_context_destroy(ctx); /* the SuperNet keeps it alive */
    if (rc) {
        *out = NULL;
        /* "ofa-resnet50" is not a file but is a built-in: say how to name it */
        bool builtin = false;
        for (size_t i = 0; sushi_supernet_builtin_name(i); i++)
            builtin |= strcmp(spec, sushi_supernet_builtin_name(i)) == 0;
        if (builtin && rc == SUSHI_ERR_IO && access(spec, F_OK) != 0) {
            size_t n = strlen(err);
            snprintf(err + n, sizeof err - n, " (a built-in SuperNet of that name exists: use '%s%s')",
                     CLI_BUILTIN_PREFIX, spec);
        }
        return cli_fail(what, rc, err);
    }
    return CLI_EXIT_OK;
}

#define CLI_CONFIG_FILE_MAX (1u << 20)

/* Read a config file into a malloc'ed NUL-terminated string. */
static int read_config_file(const char *path, char **text_out)
{
    *text_out = NULL;
    char what[320];
    char shown[256];
    shorten(shown, sizeof shown, path);
    snprintf(what, sizeof what, "read config '%s'", shown);
    int oe;
    FILE *f = sushi_fopen_regular(path, &oe); /* a FIFO is refused, not waited on */
    if (!f)
        return cli_fail_msg(what, sushi_open_strerror(oe));
    char *buf = malloc(CLI_CONFIG_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return cli_fail(what, SUSHI_ERR_NOMEM, NULL);
    }
    size_t n = fread(buf, 1, CLI_CONFIG_FILE_MAX + 1, f);
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return cli_fail_msg(what, "read error");
    }
    if (n > CLI_CONFIG_FILE_MAX) {
        free(buf);
        return cli_fail_msg(what, "file larger than 1 MiB");
    }
    buf[n] = '\0';
    if (strlen(buf) != n) {
        free(buf);
        return cli_fail_msg(what, "file contains a NUL byte");
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        buf[--n] = '\0';
    *text_out = buf;
    return CLI_EXIT_OK;
}

int cli_parse_config(const sushi_supernet *sn, const char *text, uint32_t resolution, sushi_config *cfg)
{
    char *owned = NULL;
    if (text[0] == '@') {
        int ec = read_config_file(text + 1, &owned);
        if (ec)
            return ec;
    }
    char what[320];
    char shown[64];
    shorten(shown, sizeof shown, text);
    snprintf(what, sizeof what, "config '%s'", shown);
    char err[512] = "";
    sushi_config c = SUSHI_CONFIG_INIT;
    int rc = sushi_config_parse(sn, owned ? owned : text, resolution, &c, err, sizeof err);
    free(owned);
    if (rc)
        return cli_fail(what, rc, err);
    *cfg = c;
    return CLI_EXIT_OK;
}

int cli_create_subnet(const sushi_supernet *sn, const sushi_config *cfg, sushi_subnet **out)
{
    int rc = sushi_subnet_create(sn, cfg, out);
    if (rc) {
        *out = NULL;
        char *t = cli_config_text(cfg);
        char what[320];
        char shown[64];
        shorten(shown, sizeof shown, t ? t : "?");
        snprintf(what, sizeof what, "resolve SubNet %s", shown);
        free(t);
        return cli_fail(what, rc, NULL);
    }
    return CLI_EXIT_OK;
}

char *cli_config_text(const sushi_config *cfg)
{
    int n = sushi_config_print(cfg, NULL, 0);
    if (n < 0)
        return NULL;
    char *buf = malloc((size_t)n + 1);
    if (!buf)
        return NULL;
    if (sushi_config_print(cfg, buf, (size_t)n + 1) != n) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---------- JSON output ---------- */

static bool json_oom;

static void check(const void *p)
{
    if (!p)
        json_oom = true;
}

cJSON *cli_json_object(void)
{
    cJSON *o = cJSON_CreateObject();
    check(o);
    return o;
}

cJSON *cli_json_add_object(cJSON *obj, const char *key)
{
    cJSON *o = obj ? cJSON_AddObjectToObject(obj, key) : NULL;
    check(o);
    return o;
}

cJSON *cli_json_add_array(cJSON *obj, const char *key)
{
    cJSON *a = obj ? cJSON_AddArrayToObject(obj, key) : NULL;
    check(a);
    return a;
}

void cli_json_num(cJSON *obj, const char *key, double v)
{
    check(obj ? cJSON_AddNumberToObject(obj, key, v) : NULL);
}

void cli_json_num_or_null(cJSON *obj, const char *key, double v)
{
    if (isnan(v))
        cli_json_null(obj, key);
    else
        cli_json_num(obj, key, v);
}

void cli_json_str(cJSON *obj, const char *key, const char *s)
{
    if (!s)
        cli_json_null(obj, key);
    else
        check(obj ? cJSON_AddStringToObject(obj, key, s) : NULL);
}

void cli_json_bool(cJSON *obj, const char *key, bool b)
{
    check(obj ? cJSON_AddBoolToObject(obj, key, b) : NULL);
}

void cli_json_null(cJSON *obj, const char *key)
{
    check(obj ? cJSON_AddNullToObject(obj, key) : NULL);
}

void cli_json_append(cJSON *arr, cJSON *item)
{
    if (!arr || !item || !cJSON_AddItemToArray(arr, item)) {
        json_oom = true;
        cJSON_Delete(item);
    }
}

cJSON *cli_json_append_object(cJSON *arr)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !arr) {
        json_oom = true;
        cJSON_Delete(o);
        return NULL;
    }
    cli_json_append(arr, o);
    return o;
}

void cli_json_append_num(cJSON *arr, double v)
{
    cli_json_append(arr, cJSON_CreateNumber(v));
}

void cli_json_config(cJSON *obj, const char *key, const sushi_config *cfg)
{
    char *t = cli_config_text(cfg);
    cJSON *c = t ? cJSON_Parse(t) : NULL;
    free(t);
    if (!c || !obj || !cJSON_AddItemToObject(obj, key, c)) {
        json_oom = true;
        cJSON_Delete(c);
    }
}

int cli_json_print(cJSON *root)
{
    if (!root || json_oom) {
        cJSON_Delete(root);
        return cli_fail("json output", SUSHI_ERR_NOMEM, NULL);
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    if (!s)
        return cli_fail("json output", SUSHI_ERR_NOMEM, NULL);
    fputs(s, stdout);
    fputc('\n', stdout);
    cJSON_free(s);
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_fail_msg("write stdout", strerror(errno));
    return CLI_EXIT_OK;
}

/* ---------- human number formatting ---------- */

static cli_num fmt_scaled(double x, const char *unit)
{
    cli_num r;
    if (x >= 100.0)
        snprintf(r.s, sizeof r.s, "%.1f%s", x, unit);
    else if (x >= 1.0)
        snprintf(r.s, sizeof r.s, "%.2f%s", x, unit);
    else
        snprintf(r.s, sizeof r.s, "%.3g%s", x, unit);
    return r;
}

cli_num cli_fmt_mparams(uint64_t params)
{
    return fmt_scaled((double)params / 1e6, " M params");
}

cli_num cli_fmt_mmacs(uint64_t macs)
{
    return fmt_scaled((double)macs / 1e6, " MMACs");
}

cli_num cli_fmt_mb(uint64_t bytes)
{
    return fmt_scaled((double)bytes / 1e6, " MB");
}

cli_num cli_fmt_millions(uint64_t v)
{
    return fmt_scaled((double)v / 1e6, " M");
}

cli_num cli_fmt_u64(uint64_t v)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, v);
    cli_num r;
    size_t j = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            r.s[j++] = ',';
        r.s[j++] = digits[i];
    }
    r.s[j] = '\0';
    return r;
}

cli_num cli_fmt_mcol(uint64_t v)
{
    double x = (double)v / 1e6;
    cli_num r;
    if (x >= 100.0)
        snprintf(r.s, sizeof r.s, "%.1f", x);
    else if (x >= 1.0)
        snprintf(r.s, sizeof r.s, "%.3f", x);
    else
        snprintf(r.s, sizeof r.s, "%.4g", x);
    return r;
}

/* ---------- numbers, durations and trace generation ---------- */

bool cli_parse_double(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return *s && *end == '\0' && errno == 0 && isfinite(*v);
}

bool cli_parse_seconds(const char *s, double *v)
{
    char buf[64];
    size_t n = strlen(s);
    double mul = 1.0;
    if (n >= sizeof buf)
        return false;
    memcpy(buf, s, n + 1);
    if (n > 2 && strcmp(buf + n - 2, "ms") == 0)
        mul = 1e-3, buf[n - 2] = '\0';
    else if (n > 2 && strcmp(buf + n - 2, "us") == 0)
        mul = 1e-6, buf[n - 2] = '\0';
    else if (n > 1 && buf[n - 1] == 's')
        buf[n - 1] = '\0';
    if (!cli_parse_double(buf, v))
        return false;
    *v *= mul;
    return true;
}

bool cli_accel_preset(const char *name, double *id)
{
    /* pinned ids of the cycle backend (sushi_cycle_preset) */
    static const char *const presets[] = { "zcu104", "u50", "zcu104-sgs", "u50-sgs" };
    for (int i = 0; i < (int)(sizeof presets / sizeof presets[0]); i++)
        if (strcmp(name, presets[i]) == 0) {
            *id = i;
            return true;
        }
    return cli_parse_double(name, id);
}

/* plain decimal, no sign, no usage message */
static bool parse_dec_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return false;
    unsigned long long x = strtoull(s, &end, 10);
    *v = x;
    return *end == '\0' && errno == 0;
}

/* "LO:HI" */
static bool parse_range(const char *s, bool seconds, double *lo, double *hi)
{
    const char *c = strchr(s, ':');
    char a[64];
    if (!c || (size_t)(c - s) >= sizeof a)
        return false;
    memcpy(a, s, (size_t)(c - s));
    a[c - s] = '\0';
    if (seconds)
        return cli_parse_seconds(a, lo) && cli_parse_seconds(c + 1, hi);
    return cli_parse_double(a, lo) && cli_parse_double(c + 1, hi);
}

static bool unit_interval(const char *s, double *v)
{
    return cli_parse_double(s, v) && *v >= 0 && *v <= 1;
}

int cli_trace_gen_set(sushi_trace_gen_options *o, const char *k, const char *v, unsigned *set)
{
    uint64_t u;
    unsigned bits = 0;
    bool ok;
    if (strcmp(k, "seed") == 0)
        ok = parse_dec_u64(v, &o->seed);
    else if (strcmp(k, "queries") == 0 || strcmp(k, "n") == 0)
        ok = parse_dec_u64(v, &u) && u >= 1 && u <= 100000000 && ((o->n_queries = (uint32_t)u), true);
    else if (strcmp(k, "regimes") == 0)
        ok = parse_dec_u64(v, &u) && u >= 1 && u <= 1000000 && ((o->n_regimes = (uint32_t)u), true);
    else if (strcmp(k, "dwell") == 0)
        ok = cli_parse_double(v, &o->dwell) && o->dwell >= 1;
    else if (strcmp(k, "mix") == 0)
        ok = unit_interval(v, &o->mix);
    else if (strcmp(k, "both") == 0)
        ok = unit_interval(v, &o->both);
    else if (strcmp(k, "jitter") == 0)
        ok = unit_interval(v, &o->jitter);
    else if (strcmp(k, "rate") == 0)
        ok = cli_parse_double(v, &o->rate_hz) && o->rate_hz > 0;
    else if (strcmp(k, "acc_lo") == 0)
        ok = unit_interval(v, &o->acc_lo), bits = CLI_GEN_SET_ACC;
    else if (strcmp(k, "acc_hi") == 0)
        ok = unit_interval(v, &o->acc_hi), bits = CLI_GEN_SET_ACC;
    else if (strcmp(k, "slo_lo") == 0)
        ok = cli_parse_seconds(v, &o->slo_lo_s) && o->slo_lo_s > 0, bits = CLI_GEN_SET_SLO;
    else if (strcmp(k, "slo_hi") == 0)
        ok = cli_parse_seconds(v, &o->slo_hi_s) && o->slo_hi_s > 0, bits = CLI_GEN_SET_SLO;
    else if (strcmp(k, "acc") == 0)
        ok = parse_range(v, false, &o->acc_lo, &o->acc_hi) && o->acc_lo >= 0 && o->acc_hi <= 1,
        bits = CLI_GEN_SET_ACC;
    else if (strcmp(k, "slo") == 0)
        ok = parse_range(v, true, &o->slo_lo_s, &o->slo_hi_s) && o->slo_lo_s > 0, bits = CLI_GEN_SET_SLO;
    else
        return CLI_GEN_UNKNOWN_KEY;
    if (!ok)
        return CLI_GEN_BAD_VALUE;
    if (set)
        *set |= bits;
    return CLI_GEN_OK;
}

const char *cli_trace_gen_expect(const char *k)
{
    if (strcmp(k, "queries") == 0 || strcmp(k, "n") == 0)
        return "an integer 1..100000000";
    if (strcmp(k, "regimes") == 0)
        return "an integer 1..1000000";
    if (strcmp(k, "seed") == 0)
        return "an unsigned integer";
    if (strcmp(k, "dwell") == 0)
        return "a number >= 1";
    if (strcmp(k, "rate") == 0)
        return "a number > 0 (queries/s)";
    if (strcmp(k, "slo_lo") == 0 || strcmp(k, "slo_hi") == 0)
        return "seconds > 0 (suffix ms/us allowed)";
    if (strcmp(k, "acc") == 0)
        return "LO:HI with 0 <= LO, HI <= 1";
    if (strcmp(k, "slo") == 0)
        return "LO:HI in seconds, LO > 0";
    return "a number in [0, 1]"; /* mix, both, jitter, acc_lo, acc_hi */
}

bool cli_trace_gen_check(const sushi_trace_gen_options *o, char *msg, size_t n)
{
    if (o->acc_lo > o->acc_hi) {
        snprintf(msg, n, "acc_lo %g > acc_hi %g", o->acc_lo, o->acc_hi);
        return false;
    }
    if (o->slo_lo_s > o->slo_hi_s) {
        snprintf(msg, n, "slo_lo %gs > slo_hi %gs", o->slo_lo_s, o->slo_hi_s);
        return false;
    }
    return true;
}

/* ---------- progress on a terminal ---------- */

double cli_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void progress_draw(const cli_progress *p, uint64_t done, double now)
{
    enum { WIDTH = 30 };
    static const char bar[] = "##############################";
    double f = p->total ? (double)done / (double)p->total : 1.0;
    if (f > 1.0)
        f = 1.0;
    int fill = (int)(f * WIDTH);
    double el = now - p->t0;
    double eta = done ? el * (double)(p->total - (done < p->total ? done : p->total)) / (double)done : 0;
    /* \r + clear to end of line: a shorter redraw leaves no residue */
    fprintf(stderr, "\r\033[K%s%s[%.*s%*s] %5.1f%%  %llu/%llu %s  %.0fs elapsed, eta %.0fs", p->label,
            p->label[0] ? " " : "", fill, bar, WIDTH - fill, "", 100 * f, (unsigned long long)done,
            (unsigned long long)p->total, p->unit ? p->unit : "", el, eta);
    fflush(stderr);
}

void cli_progress_start(cli_progress *p, uint64_t total, const char *unit)
{
    memset(p, 0, sizeof *p);
    p->on = isatty(2) == 1;
    p->total = total;
    p->unit = unit;
    p->t0 = cli_now_s();
    p->last = -1.0;
}

void cli_progress_update(cli_progress *p, uint64_t done)
{
    if (!p->on)
        return;
    double now = cli_now_s();
    if (p->last >= 0 && now - p->last < 0.25)
        return;
    p->last = now;
    progress_draw(p, done, now);
}

void cli_progress_end(cli_progress *p, uint64_t done)
{
    if (!p->on)
        return;
    progress_draw(p, done, cli_now_s());
    fputc('\n', stderr);
    fflush(stderr);
    p->on = false;
}
