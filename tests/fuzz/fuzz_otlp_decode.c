// fuzz-links: wire
/* fuzz_otlp_decode.c — libFuzzer target for the OTLP decoder (wire/otlp.c + wire/pbwalk.c).
 *
 * Any input: decoding as a request, a response and a google.rpc.Status either succeeds or fails with
 * WIRE_E_INVALID / WIRE_E_LIMIT and a message — never a crash, an overread or unbounded memory. When a request
 * decodes, it is re-encoded and decoded again (now with protobuf-c's malloc allocator): the point counts must
 * match and a second re-encoding must give the same bytes. Then the semantic check pass runs, and what it
 * leaves must still encode, decode, and hold exactly the points it did not reject.
 * Seed corpus: tests/fuzz/corpus/otlp_decode/ (regenerate with OTELC_WRITE_CORPUS=<dir> wire_test_otlp_codec). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/otlp.h"

#define MAX_MESSAGE (4u << 20)
#define ARENA_LIMIT (64u << 20)

static void die(const char *what, const wire_err *err) {
  fprintf(stderr, "fuzz_otlp_decode: %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
  abort();
}

static void expect_clean_failure(const wire_err *err) {
  if (err->code != WIRE_E_INVALID && err->code != WIRE_E_LIMIT) die("unexpected error class", err);
  if (!err->msg[0]) die("error without a message", NULL);
}

static void encode_or_die(const otlp_request *r, wire_buf *out) {
  wire_err err;
  wire_buf_init(out, 0);
  if (wire_otlp_encode_request(r, out, &err) < 0) die("re-encoding a decoded request failed", &err);
}

static void request_round_trip(otlp_request *r, otlp_arena *arena) {
  uint64_t points = wire_otlp_count_points(r);
  wire_buf first, second;
  encode_or_die(r, &first);

  wire_err err;
  otlp_request *again = wire_otlp_decode_request(first.data, first.len, 0, NULL, &err);
  if (!again) die("decoding our own encoding failed", &err);
  if (wire_otlp_count_points(again) != points) die("point count changed across a round trip", NULL);
  encode_or_die(again, &second);
  if (second.len != first.len || (first.len && memcmp(second.data, first.data, first.len) != 0))
    die("re-encoding is not stable", NULL);
  wire_otlp_request_free(again, NULL);
  wire_buf_free(&second);

  /* the check pass on the arena copy, then what is left must still round-trip */
  wire_otlp_check_report rep;
  uint64_t rejected = wire_otlp_check_request(r, arena, WIRE_OTLP_FIX_UTF8, &rep);
  if (rejected != rep.rejected_points || rejected > points) die("check pass miscounted", NULL);
  if (rep.problems && !rep.message[0]) die("check pass found problems without a message", NULL);
  if (wire_otlp_count_points(r) != points - rejected) die("check pass removed a different number of points", NULL);
  encode_or_die(r, &second);
  again = wire_otlp_decode_request(second.data, second.len, 0, NULL, &err);
  if (!again) die("decoding a checked request failed", &err);
  if (wire_otlp_count_points(again) != points - rejected) die("checked request lost points", NULL);
  wire_otlp_check_report rep2;
  if (wire_otlp_check_request(again, NULL, WIRE_OTLP_FIX_UTF8, &rep2) != 0 || rep2.problems)
    die("a checked request does not pass the check again", NULL);
  wire_otlp_request_free(again, NULL);
  wire_buf_free(&second);
  wire_buf_free(&first);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static otlp_arena arena;
  static int ready;
  if (!ready) {
    otlp_arena_init(&arena, ARENA_LIMIT);
    ready = 1;
  }
  wire_err err = {0};
  otlp_request *r = wire_otlp_decode_request(data, size, MAX_MESSAGE, &arena, &err);
  if (r) request_round_trip(r, &arena);
  else expect_clean_failure(&err);
  otlp_arena_reset(&arena);

  otlp_response *resp = wire_otlp_decode_response(data, size, MAX_MESSAGE, &arena, &err);
  if (resp) {
    wire_buf b;
    wire_buf_init(&b, 0);
    if (wire_otlp_encode_response(resp, &b, &err) < 0) die("re-encoding a response failed", &err);
    wire_buf_free(&b);
  } else {
    expect_clean_failure(&err);
  }
  otlp_arena_reset(&arena);

  Google__Rpc__Status *st = wire_otlp_decode_status(data, size, MAX_MESSAGE, &arena, &err);
  if (!st) expect_clean_failure(&err);
  otlp_arena_reset(&arena);
  return 0;
}
