/* test_gzip_buf.c — the wire layer's bounded buffer, header list, Retry-After and gzip: limits hold, bombs are stopped,
 * corrupt and truncated streams give clear errors. */
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "wire/buf.h"
#include "wire/gzip.h"
#include "wire/http.h"

static void buf_respects_limit(void) {
  wire_buf b;
  wire_buf_init(&b, 10);
  wire_err err;
  CHECK_EQ(wire_buf_append(&b, "0123456789", 10, &err), 0);
  CHECK_EQ(wire_buf_append(&b, "x", 1, &err), -1);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  CHECK_CONTAINS(err.msg, "limit of 10 bytes");
  CHECK_EQ(b.len, 10);
  wire_buf_consume(&b, 4);
  CHECK_EQ(b.len, 6);
  CHECK(memcmp(b.data, "456789", 6) == 0);
  CHECK_EQ(wire_buf_printf(&b, &err, "%d", 1234), 0);
  CHECK_EQ(b.len, 10);
  wire_buf_free(&b);
}

static void gzip_round_trip(void) {
  char in[10000];
  for (size_t i = 0; i < sizeof in; i++) in[i] = (char)('a' + i % 7);
  wire_buf z, out;
  wire_buf_init(&z, 0);
  wire_buf_init(&out, 0);
  wire_err err;
  CHECK_EQ(wire_gzip_compress(in, sizeof in, -1, &z, &err), 0);
  CHECK(z.len < sizeof in);
  CHECK(z.data[0] == 0x1f && z.data[1] == 0x8b);
  CHECK_EQ(wire_gzip_decompress(z.data, z.len, sizeof in, &out, &err), 0);
  CHECK_EQ(out.len, sizeof in);
  CHECK(memcmp(out.data, in, sizeof in) == 0);
  /* one byte short of the real size: the limit wins */
  wire_buf_reset(&out);
  CHECK_EQ(wire_gzip_decompress(z.data, z.len, sizeof in - 1, &out, &err), -1);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  CHECK_EQ(out.len, 0);
  wire_buf_free(&z);
  wire_buf_free(&out);
}

static void gzip_bomb_is_bounded(void) {
  /* 64 MiB of zeros compresses to ~64 KiB; decompressing with a 1 MiB cap must stop at the cap. */
  size_t n = 64u << 20;
  char *zeros = calloc(1, n);
  wire_buf z, out;
  wire_buf_init(&z, 0);
  wire_buf_init(&out, 0);
  wire_err err;
  CHECK_EQ(wire_gzip_compress(zeros, n, 9, &z, &err), 0);
  free(zeros);
  CHECK(z.len < 200000);
  CHECK_EQ(wire_gzip_decompress(z.data, z.len, 1u << 20, &out, &err), -1);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  CHECK_CONTAINS(err.msg, "exceeds the limit");
  CHECK(out.cap <= 2 * ((1u << 20) + 65536)); /* doubling growth: at most twice the cap */
  wire_buf_free(&z);
  wire_buf_free(&out);
}

static void gzip_rejects_corrupt_and_truncated(void) {
  const char text[] = "hello, gzip world";
  wire_buf z, out;
  wire_buf_init(&z, 0);
  wire_buf_init(&out, 0);
  wire_err err;
  CHECK_EQ(wire_gzip_compress(text, sizeof text, -1, &z, &err), 0);
  for (size_t cut = 0; cut < z.len; cut++) {
    wire_buf_reset(&out);
    CHECK_MSG(wire_gzip_decompress(z.data, cut, 1024, &out, &err) == -1, "truncated at %zu accepted", cut);
    CHECK(err.code == WIRE_E_INVALID);
  }
  uint8_t bad[64];
  memcpy(bad, z.data, z.len);
  bad[12] ^= 0x55;
  wire_buf_reset(&out);
  CHECK_EQ(wire_gzip_decompress(bad, z.len, 1024, &out, &err), -1);
  CHECK_EQ(wire_gzip_decompress("not gzip at all", 15, 1024, &out, &err), -1);
  CHECK_EQ(err.code, WIRE_E_INVALID);
  /* two members back to back decode to the concatenation */
  wire_buf two;
  wire_buf_init(&two, 0);
  wire_buf_append(&two, z.data, z.len, NULL);
  wire_buf_append(&two, z.data, z.len, NULL);
  wire_buf_reset(&out);
  CHECK_EQ(wire_gzip_decompress(two.data, two.len, 1024, &out, &err), 0);
  CHECK_EQ(out.len, 2 * sizeof text);
  wire_buf_free(&two);
  wire_buf_free(&z);
  wire_buf_free(&out);
}

static void headers_limits_and_lookup(void) {
  wire_headers h;
  wire_headers_init(&h, 200, 3);
  wire_err err;
  CHECK_EQ(wire_headers_add_cstr(&h, "Content-Type", "application/x-protobuf", &err), 0);
  CHECK_STR(h.v[0].name, "content-type");
  CHECK_STR(wire_headers_get(&h, "CONTENT-TYPE"), "application/x-protobuf");
  CHECK_EQ(wire_headers_add_cstr(&h, "a", "1", &err), 0);
  CHECK_EQ(wire_headers_add_cstr(&h, "b", "2", &err), 0);
  CHECK_EQ(wire_headers_add_cstr(&h, "c", "3", &err), -1);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  CHECK_EQ(wire_headers_set(&h, "a", "9", &err), 0);
  CHECK_STR(wire_headers_get(&h, "a"), "9");
  CHECK_EQ(h.n, 3);
  char big[300];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  wire_headers_reset(&h);
  CHECK_EQ(wire_headers_add_cstr(&h, "big", big, &err), -1);
  CHECK_CONTAINS(err.msg, "200 bytes");
  wire_headers_free(&h);
  CHECK(wire_http_token_in_list("keep-alive, Upgrade", "upgrade"));
  CHECK(!wire_http_token_in_list("keep-alive, Upgraded", "upgrade"));
  CHECK(wire_http_token_in_list(" close ", "close"));
}

static void retry_after_forms(void) {
  int64_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
  CHECK_EQ(wire_http_retry_after_ns("120", now), 120LL * 1000000000LL);
  CHECK_EQ(wire_http_retry_after_ns(" 7 ", now), 7LL * 1000000000LL);
  CHECK_EQ(wire_http_retry_after_ns("99999999999999999999", now), 3600LL * 1000000000LL); /* capped */
  CHECK_EQ(wire_http_retry_after_ns("Sun, 06 Nov 1994 08:50:37 GMT", now), 60LL * 1000000000LL);
  CHECK_EQ(wire_http_retry_after_ns("Sunday, 06-Nov-94 08:49:47 GMT", now), 10LL * 1000000000LL);
  CHECK_EQ(wire_http_retry_after_ns("Sun Nov  6 08:49:57 1994", now), 20LL * 1000000000LL);
  CHECK_EQ(wire_http_retry_after_ns("Sun, 06 Nov 1994 08:00:00 GMT", now), 0); /* in the past */
  CHECK_EQ(wire_http_retry_after_ns("soon", now), -1);
  CHECK_EQ(wire_http_retry_after_ns("12s", now), -1);
  CHECK_EQ(wire_http_retry_after_ns("", now), -1);
  CHECK_EQ(wire_http_retry_after_ns(NULL, now), -1);
}

static void err_prefix_keeps_message(void) {
  wire_err e;
  wire_err_set(&e, WIRE_E_IO, "connection reset");
  wire_err_prefix(&e, "otlp exporter %s: ", "backend");
  CHECK_STR(e.msg, "otlp exporter backend: connection reset");
  CHECK_STR(wire_err_code_name(WIRE_E_TIMEOUT), "timeout");
}

int main(void) {
  RUN(buf_respects_limit);
  RUN(gzip_round_trip);
  RUN(gzip_bomb_is_bounded);
  RUN(gzip_rejects_corrupt_and_truncated);
  RUN(headers_limits_and_lookup);
  RUN(retry_after_forms);
  RUN(err_prefix_keeps_message);
  return test_finish();
}
