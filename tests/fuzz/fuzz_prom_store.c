// fuzz-links: receiver
/* fuzz_prom_store.c — libFuzzer target for the Prometheus exporter's series store (receiver/exporters/prom_store.c).
 *
 * Input: one option byte (OpenMetrics, resource_to_telemetry_conversion, no suffixes, timestamps, namespace,
 * _created lines, no scope labels, const labels) followed by an OTLP ExportMetricsServiceRequest. The request is
 * decoded and consumed twice (updates, delta accumulation, conflicts), then rendered in both formats; every line
 * must be valid exposition syntax (metric and label names, quoted and escaped values, no duplicate label names,
 * valid UTF-8). After the expiration time everything must be gone. Any violation aborts.
 * Seed corpus: tests/fuzz/corpus/prom_store/ (option byte + the otlp_decode seeds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/exporters/prom_store.h"
#include "wire/otlp.h"

static int64_t fake_now;
static int64_t fake_clock(void *ud) {
  (void)ud;
  return fake_now;
}

static void fail(const char *why, const char *line, size_t len) {
  fprintf(stderr, "fuzz_prom_store: %s in line: %.*s\n", why, (int)(len > 300 ? 300 : len), line);
  abort();
}

static int is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
static int is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

/* Valid UTF-8 over the whole body (the escaper must have repaired every invalid byte). */
static void check_utf8(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned char c = p[i];
    size_t need = c < 0x80 ? 0 : (c >= 0xC2 && c <= 0xDF) ? 1 : (c >= 0xE0 && c <= 0xEF) ? 2 : (c >= 0xF0 && c <= 0xF4) ? 3 : 9;
    if (need == 9 || i + need >= n + (need ? 0 : 1)) fail("invalid UTF-8", (const char *)p + i, 16);
    for (size_t k = 1; k <= need; k++)
      if ((p[i + k] & 0xC0) != 0x80) fail("invalid UTF-8 continuation", (const char *)p + i, 16);
    if (c == 0) fail("NUL byte", (const char *)p + i, 16);
    i += need + 1;
  }
}

/* Parses {name="value",...}; returns the position after '}' or NULL. Checks duplicate names. */
static const char *check_labels(const char *p, const char *end, const char *line, size_t len) {
  if (*p != '{') return p;
  p++;
  const char *names[256];
  size_t nlen[256], nn = 0;
  if (p < end && *p == '}') return p + 1;
  for (;;) {
    const char *n0 = p;
    if (p >= end || !(is_name_start(*p) && *p != ':')) fail("bad label name start", line, len);
    while (p < end && is_name_char(*p) && *p != ':') p++;
    size_t nl = (size_t)(p - n0);
    for (size_t i = 0; i < nn; i++)
      if (nlen[i] == nl && memcmp(names[i], n0, nl) == 0) fail("duplicate label name", line, len);
    if (nn < 256) names[nn] = n0, nlen[nn] = nl, nn++;
    if (p + 1 >= end || p[0] != '=' || p[1] != '"') fail("expected =\"", line, len);
    p += 2;
    while (p < end && *p != '"') {
      if (*p == '\\') {
        if (p + 1 >= end || (p[1] != '\\' && p[1] != '"' && p[1] != 'n')) fail("bad escape", line, len);
        p += 2;
      } else {
        p++;
      }
    }
    if (p >= end) fail("unterminated label value", line, len);
    p++;
    if (p < end && *p == ',') {
      p++;
      continue;
    }
    if (p < end && *p == '}') return p + 1;
    fail("expected , or }", line, len);
  }
}

static void check_value(const char *v, size_t n, const char *line, size_t len) {
  if (n == 0) fail("empty value", line, len);
  if ((n == 3 && memcmp(v, "NaN", 3) == 0) || (n == 4 && (memcmp(v, "+Inf", 4) == 0 || memcmp(v, "-Inf", 4) == 0))) return;
  char buf[64];
  if (n >= sizeof buf) fail("value too long", line, len);
  memcpy(buf, v, n);
  buf[n] = 0;
  char *endp;
  strtod(buf, &endp);
  if (*endp) fail("value is not a number", line, len);
}

static void check_exposition(const char *body, size_t n, int om) {
  if (n == 0) {
    if (om) fail("OpenMetrics without # EOF", "", 0);
    return;
  }
  check_utf8((const unsigned char *)body, n);
  if (n && body[n - 1] != '\n') fail("no final newline", body, n);
  int saw_eof = 0;
  for (const char *p = body, *end = body + n; p < end;) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    size_t len = (size_t)(eol - p);
    if (saw_eof) fail("data after # EOF", p, len);
    if (len >= 2 && p[0] == '#') {
      if (len == 5 && memcmp(p, "# EOF", 5) == 0) saw_eof = 1;
      else if (!(len > 7 && (memcmp(p, "# HELP ", 7) == 0 || memcmp(p, "# TYPE ", 7) == 0 || memcmp(p, "# UNIT ", 7) == 0)))
        fail("unknown comment", p, len);
    } else {
      const char *q = p;
      if (!is_name_start(*q)) fail("bad metric name start", p, len);
      while (q < eol && is_name_char(*q)) q++;
      q = check_labels(q, eol, p, len);
      if (q >= eol || *q != ' ') fail("expected space before value", p, len);
      q++;
      const char *v = q;
      while (q < eol && *q != ' ') q++;
      check_value(v, (size_t)(q - v), p, len);
      if (q < eol && !(om && eol - q > 3 && memcmp(q, " # {", 4) == 0)) { /* timestamp */
        q++;
        const char *t = q;
        while (q < eol && *q != ' ') q++;
        check_value(t, (size_t)(q - t), p, len);
      }
      if (q < eol) {
        if (!om || eol - q < 4 || memcmp(q, " # {", 4) != 0) fail("trailing text", p, len);
        q = check_labels(q + 3, eol, p, len);
        if (q >= eol || *q != ' ') fail("exemplar without value", p, len);
      }
    }
    p = eol + 1;
  }
  if (om && !saw_eof) fail("OpenMetrics without # EOF", body, n);
}

/* Renders in full and family by family (prom_store_render_some): both must be valid and identical. */
static void render_and_check(prom_store *s, prom_format f) {
  wire_buf out, parts;
  wire_buf_init(&out, 256u << 20);
  wire_buf_init(&parts, 256u << 20);
  wire_err err;
  if (prom_store_render(s, f, &out, &err) == 0) {
    check_exposition((const char *)out.data, out.len, f == PROM_FORMAT_OPENMETRICS);
    prom_render_cursor cur = {0};
    while (!cur.done)
      if (prom_store_render_some(s, f, &cur, 1, &parts, &err) < 0) abort();
    prom_render_cursor_reset(&cur);
    if (parts.len != out.len || (out.len && memcmp(parts.data, out.data, out.len) != 0)) {
      fprintf(stderr, "fuzz_prom_store: incremental render differs from the full one\n");
      abort();
    }
  }
  wire_buf_free(&out);
  wire_buf_free(&parts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t opts = data[0];
  otlp_arena arena;
  otlp_arena_init(&arena, 64u << 20);
  otlp_request *req = wire_otlp_decode_request(data + 1, size - 1, 4u << 20, &arena, NULL);
  if (!req) {
    otlp_arena_free(&arena);
    return 0;
  }
  prom_store_config c;
  prom_store_config_init(&c);
  c.enable_open_metrics = opts & 1;
  c.resource_to_telemetry_conversion = (opts & 2) != 0;
  c.add_metric_suffixes = !(opts & 4);
  c.send_timestamps = (opts & 8) != 0;
  c.metric_namespace = (opts & 16) ? "fz" : NULL;
  c.om_created_samples = (opts & 32) != 0;
  c.without_scope_labels = (opts & 64) != 0;
  prom_label_pair consts[] = {{"env", "fuzz"}, {"job", "fallback"}};
  if (opts & 128) {
    c.const_labels = consts;
    c.n_const_labels = 2;
  }
  c.metric_expiration_ms = 1000;
  c.max_series = 20000;
  prom_store *s = prom_store_new(&c, NULL);
  if (!s) abort();
  fake_now = 0;
  prom_store_set_clock(s, fake_clock, NULL);
  prom_consume_result r1, r2;
  prom_store_consume_request(s, req, &r1);
  fake_now = 10;
  prom_store_consume_request(s, req, &r2);
  uint64_t points = wire_otlp_count_points(req);
  if (r1.accepted + r1.dropped != points) {
    fprintf(stderr, "fuzz_prom_store: %llu accepted + %llu dropped != %llu points\n", (unsigned long long)r1.accepted,
            (unsigned long long)r1.dropped, (unsigned long long)points);
    abort();
  }
  render_and_check(s, PROM_FORMAT_TEXT);
  render_and_check(s, PROM_FORMAT_OPENMETRICS);
  fake_now = 5000;
  prom_store_sweep(s);
  prom_store_stats st;
  prom_store_get_stats(s, &st);
  if (st.series != 0 || st.families != 0) {
    fprintf(stderr, "fuzz_prom_store: %zu series, %zu families left after expiry\n", st.series, st.families);
    abort();
  }
  prom_store_free(s);
  otlp_arena_free(&arena);
  return 0;
}
