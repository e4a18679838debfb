// fuzz-links: wire
/* fuzz_otlp_scan.c — libFuzzer target for the scanning walk (wire/pbwalk.c pbwalk_scan_request, wire/otlp.c
 * wire_otlp_scan_request), which lets the receiver keep a request's bytes undecoded when it is "clean".
 *
 * Any input: the scan accepts and rejects exactly what validation and decoding do, with the same error text.
 * When it calls the request clean: decoding it and running the semantic checks (with UTF-8 repair) finds
 * nothing, the decoded point count is the scanned one, the trusted decode equals the checked one, the input
 * twice in a row (a merged batch) is clean with twice the points, and the top-level field iterator used to cut
 * requests walks exactly the whole input, finding every resource_metrics.
 * Seed corpus: tests/fuzz/corpus/otlp_scan/ (the otlp_decode seeds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/otlp.h"

#define MAX_MESSAGE (4u << 20)
#define ARENA_LIMIT (64u << 20)

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_otlp_scan: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort();
}

static void encode_or_die(const otlp_request *r, wire_buf *out) {
  wire_err err;
  wire_buf_init(out, 0);
  if (wire_otlp_encode_request(r, out, &err) < 0) die("encode failed", err.msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  if (len > MAX_MESSAGE) return 0;
  wire_err e1 = {0}, e2 = {0}, e3 = {0};
  pbwalk_scan scan;
  int rs = pbwalk_scan_request(data, len, WIRE_OTLP_MAX_DEPTH, &scan, &e1);
  int rv = pbwalk_validate(data, len, PBWALK_EXPORT_METRICS_REQUEST, WIRE_OTLP_MAX_DEPTH, &e2);
  if (rs != rv) die("scan and validate disagree", rs < 0 ? e1.msg : e2.msg);
  if (rs < 0 && strcmp(e1.msg, e2.msg) != 0) die("scan and validate give different errors", e1.msg);

  otlp_arena arena;
  otlp_arena_init(&arena, ARENA_LIMIT);
  pbwalk_scan scan2;
  int ro = wire_otlp_scan_request(data, len, 0, &scan2, &e1);
  otlp_request *req = wire_otlp_decode_request(data, len, 0, &arena, &e3);
  if ((ro == 0) != (req != NULL) && !(req == NULL && e3.code == WIRE_E_LIMIT))
    die("scan and decode disagree", ro < 0 ? e1.msg : e3.msg);
  if (ro < 0 && req == NULL && strcmp(e1.msg, e3.msg) != 0) die("scan and decode give different errors", e1.msg);
  if (ro == 0 && (scan2.clean != scan.clean || scan2.points != scan.points)) die("the two scans disagree", NULL);

  if (req && scan.clean) {
    if (wire_otlp_count_points(req) != scan.points) die("clean request: point counts differ", NULL);
    if (req->n_resource_metrics != scan.resource_metrics) die("clean request: resource_metrics counts differ", NULL);
    wire_buf before, after;
    encode_or_die(req, &before);
    wire_otlp_check_report rep;
    wire_otlp_check_request(req, &arena, WIRE_OTLP_FIX_UTF8, &rep);
    if (rep.problems) die("clean request, but the check pass finds", rep.message);
    encode_or_die(req, &after);
    if (before.len != after.len || (before.len && memcmp(before.data, after.data, before.len)))
      die("clean request changed by the check pass", NULL);
    /* the trusted decode (no walk) reads the same */
    otlp_request *t = wire_otlp_decode_request_trusted(data, len, &arena, &e1);
    if (!t) die("trusted decode failed", e1.msg);
    wire_buf tb;
    encode_or_die(t, &tb);
    if (tb.len != before.len || (tb.len && memcmp(tb.data, before.data, tb.len))) die("trusted decode differs", NULL);
    wire_buf_free(&tb);
    wire_buf_free(&before);
    wire_buf_free(&after);

    /* a merged batch: the input twice */
    uint8_t *twice = malloc(2 * len + 1);
    if (!twice) die("out of memory", NULL);
    if (len) {
      memcpy(twice, data, len);
      memcpy(twice + len, data, len);
    }
    pbwalk_scan s2;
    if (pbwalk_scan_request(twice, 2 * len, WIRE_OTLP_MAX_DEPTH, &s2, NULL) < 0 || !s2.clean ||
        s2.points != 2 * scan.points || s2.resource_metrics != 2 * scan.resource_metrics)
      die("the input twice is not clean with twice the points", NULL);
    free(twice);

    /* top-level fields cover the input exactly */
    size_t pos = 0;
    uint64_t rms = 0;
    while (pos < len) {
      uint32_t number = 0;
      size_t end = pbwalk_next_field(data, len, pos, &number);
      if (end <= pos || end > len) die("top-level field iteration failed", NULL);
      if (number == 1) rms++;
      pos = end;
    }
    if (rms != scan.resource_metrics) die("top-level iteration found another resource_metrics count", NULL);
  }
  otlp_arena_free(&arena);
  return 0;
}
