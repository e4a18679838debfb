/* test_grpc_frame.c — gRPC framing without I/O: encode, incremental deframing over every split, bad prefixes,
 * limits, compression, grpc-timeout, grpc-message percent-encoding, status details (RetryInfo), status names,
 * retryability and the HTTP→gRPC mapping. */
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "wire/grpc.h"
#include "wire/gzip.h"

typedef struct collected {
  int count;
  wire_buf all; /* messages concatenated, each preceded by its 4-byte length */
  int fail_at;  /* callback returns -1 on this message (1-based), 0: never */
} collected;

static int collect(void *ud, const uint8_t *msg, size_t len, wire_err *err) {
  collected *c = ud;
  c->count++;
  if (c->fail_at && c->count == c->fail_at) return wire_err_set(err, WIRE_E_INVALID, "callback refused");
  uint8_t l[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
  wire_buf_append(&c->all, l, 4, NULL);
  wire_buf_append(&c->all, msg, len, NULL);
  return 0;
}

static void collected_init(collected *c) {
  memset(c, 0, sizeof *c);
  wire_buf_init(&c->all, 0);
}

static void test_encode_prefix(void) {
  wire_buf out;
  wire_buf_init(&out, 0);
  CHECK_EQ(wire_grpc_frame_encode(&out, "hello", 5, WIRE_GRPC_IDENTITY, NULL), 0);
  CHECK_EQ(out.len, 10);
  static const uint8_t want[] = {0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
  CHECK(memcmp(out.data, want, sizeof want) == 0);
  /* an empty message is a bare prefix */
  CHECK_EQ(wire_grpc_frame_encode(&out, "", 0, WIRE_GRPC_GZIP, NULL), 0);
  CHECK_EQ(out.len, 15);
  CHECK(memcmp(out.data + 10, "\0\0\0\0\0", 5) == 0);
  uint8_t p[5];
  wire_grpc_prefix_write(p, true, 0x01020304);
  CHECK(p[0] == 1 && p[1] == 1 && p[2] == 2 && p[3] == 3 && p[4] == 4);
  wire_buf_free(&out);
}

static void test_encode_gzip_roundtrip(void) {
  size_t n = 100000;
  uint8_t *msg = malloc(n);
  for (size_t i = 0; i < n; i++) msg[i] = (uint8_t)(i % 7);
  wire_buf out;
  wire_buf_init(&out, 0);
  CHECK_EQ(wire_grpc_frame_encode(&out, msg, n, WIRE_GRPC_GZIP, NULL), 0);
  CHECK_EQ(out.data[0], 1);
  CHECK(out.len < n / 10);
  wire_buf tmp;
  wire_buf_init(&tmp, 0);
  const uint8_t *m;
  size_t mlen;
  wire_err err;
  CHECK_EQ(wire_grpc_decode_unary(out.data, out.len, WIRE_GRPC_GZIP, 0, false, &tmp, &m, &mlen, &err), 0);
  CHECK_EQ(mlen, n);
  CHECK(memcmp(m, msg, n) == 0);
  /* compressed frame without negotiated encoding is refused */
  CHECK_EQ(wire_grpc_decode_unary(out.data, out.len, WIRE_GRPC_IDENTITY, 0, false, &tmp, &m, &mlen, &err), -1);
  CHECK_EQ(err.code, WIRE_E_PROTOCOL);
  CHECK_CONTAINS(err.msg, "grpc-encoding");
  /* decompressed size over the limit */
  CHECK_EQ(wire_grpc_decode_unary(out.data, out.len, WIRE_GRPC_GZIP, 1000, false, &tmp, &m, &mlen, &err), -1);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  /* incompressible input goes out uncompressed (flag 0) */
  wire_buf_reset(&out);
  CHECK_EQ(wire_grpc_frame_encode(&out, "ab", 2, WIRE_GRPC_GZIP, NULL), 0);
  CHECK_EQ(out.data[0], 0);
  CHECK_EQ(out.len, 7);
  wire_buf_free(&tmp);
  wire_buf_free(&out);
  free(msg);
}

/* Three messages (one empty, one compressed) fed in every split into two and three pieces. */
static void test_deframe_every_split(void) {
  wire_buf stream;
  wire_buf_init(&stream, 0);
  uint8_t big[300];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i / 50);
  wire_grpc_frame_encode(&stream, "first", 5, WIRE_GRPC_IDENTITY, NULL);
  wire_grpc_frame_encode(&stream, "", 0, WIRE_GRPC_IDENTITY, NULL);
  wire_grpc_frame_encode(&stream, big, sizeof big, WIRE_GRPC_GZIP, NULL);
  CHECK_EQ(stream.data[15], 1); /* the third is compressed */

  collected ref;
  collected_init(&ref);
  wire_grpc_deframer d;
  wire_grpc_deframer_init(&d, 0, WIRE_GRPC_GZIP);
  CHECK_EQ(wire_grpc_deframer_feed(&d, stream.data, stream.len, collect, &ref, NULL), 0);
  CHECK_EQ(wire_grpc_deframer_finish(&d, NULL), 0);
  CHECK_EQ(ref.count, 3);
  CHECK_EQ(d.messages, 3);
  CHECK_EQ(ref.all.len, 4 + 5 + 4 + 4 + sizeof big);
  CHECK(memcmp(ref.all.data + 4 + 5 + 4 + 4, big, sizeof big) == 0);
  wire_grpc_deframer_free(&d);

  int bad = 0;
  for (size_t i = 0; i <= stream.len; i++) {
    for (size_t j = i; j <= stream.len; j++) {
      collected c;
      collected_init(&c);
      wire_grpc_deframer_init(&d, 0, WIRE_GRPC_GZIP);
      int rc = wire_grpc_deframer_feed(&d, stream.data, i, collect, &c, NULL);
      rc |= wire_grpc_deframer_feed(&d, stream.data + i, j - i, collect, &c, NULL);
      rc |= wire_grpc_deframer_feed(&d, stream.data + j, stream.len - j, collect, &c, NULL);
      rc |= wire_grpc_deframer_finish(&d, NULL);
      if (rc != 0 || c.count != 3 || c.all.len != ref.all.len || memcmp(c.all.data, ref.all.data, c.all.len) != 0)
        bad++;
      wire_grpc_deframer_free(&d);
      wire_buf_free(&c.all);
    }
  }
  CHECK_EQ(bad, 0);
  /* byte by byte */
  collected c;
  collected_init(&c);
  wire_grpc_deframer_init(&d, 0, WIRE_GRPC_GZIP);
  for (size_t i = 0; i < stream.len; i++) CHECK_EQ(wire_grpc_deframer_feed(&d, stream.data + i, 1, collect, &c, NULL), 0);
  CHECK_EQ(wire_grpc_deframer_finish(&d, NULL), 0);
  CHECK_EQ(c.count, 3);
  CHECK(c.all.len == ref.all.len && memcmp(c.all.data, ref.all.data, c.all.len) == 0);
  wire_grpc_deframer_free(&d);
  wire_buf_free(&c.all);
  wire_buf_free(&ref.all);
  wire_buf_free(&stream);
}

static void test_deframe_bad_prefixes(void) {
  wire_grpc_deframer d;
  wire_err err;
  /* flag 2 */
  wire_grpc_deframer_init(&d, 0, WIRE_GRPC_GZIP);
  static const uint8_t flag2[] = {2, 0, 0, 0, 1, 'x'};
  CHECK_EQ(wire_grpc_deframer_feed(&d, flag2, sizeof flag2, collect, NULL, &err), -1);
  CHECK_EQ(err.code, WIRE_E_PROTOCOL);
  CHECK_CONTAINS(err.msg, "neither 0 nor 1");
  /* refuses input afterwards */
  CHECK_EQ(wire_grpc_deframer_feed(&d, flag2, 1, collect, NULL, &err), -1);
  CHECK_EQ(wire_grpc_deframer_finish(&d, &err), -1);
  wire_grpc_deframer_free(&d);

  /* compressed flag without encoding, reported at the right offset */
  wire_grpc_deframer_init(&d, 0, WIRE_GRPC_IDENTITY);
  static const uint8_t two[] = {0, 0, 0, 0, 1, 'a', 1, 0, 0, 0, 1, 'b'};
  collected c;
  collected_init(&c);
  CHECK_EQ(wire_grpc_deframer_feed(&d, two, sizeof two, collect, &c, &err), -1);
  CHECK_EQ(c.count, 1);
  CHECK_EQ(err.code, WIRE_E_PROTOCOL);
  CHECK_CONTAINS(err.msg, "offset 6");
  wire_grpc_deframer_free(&d);
  wire_buf_free(&c.all);

  /* corrupt gzip body */
  wire_grpc_deframer_init(&d, 0, WIRE_GRPC_GZIP);
  static const uint8_t junk[] = {1, 0, 0, 0, 4, 'j', 'u', 'n', 'k'};
  CHECK_EQ(wire_grpc_deframer_feed(&d, junk, sizeof junk, collect, NULL, &err), -1);
  CHECK_EQ(err.code, WIRE_E_INVALID);
  wire_grpc_deframer_free(&d);

  /* the callback's refusal stops feeding */
  wire_grpc_deframer_init(&d, 0, WIRE_GRPC_IDENTITY);
  static const uint8_t three[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  collected_init(&c);
  c.fail_at = 2;
  CHECK_EQ(wire_grpc_deframer_feed(&d, three, sizeof three, collect, &c, &err), -1);
  CHECK_EQ(c.count, 2);
  CHECK_CONTAINS(err.msg, "callback refused");
  wire_grpc_deframer_free(&d);
  wire_buf_free(&c.all);
}

static void test_deframe_oversize_checked_from_prefix(void) {
  wire_grpc_deframer d;
  wire_err err;
  wire_grpc_deframer_init(&d, 1024, WIRE_GRPC_IDENTITY);
  /* only the prefix is sent: the limit fires before any body byte is buffered */
  static const uint8_t huge[] = {0, 0xff, 0xff, 0xff, 0xff};
  CHECK_EQ(wire_grpc_deframer_feed(&d, huge, sizeof huge, collect, NULL, &err), -1);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  CHECK_CONTAINS(err.msg, "4294967295");
  CHECK_EQ(d.partial.cap, 0);
  wire_grpc_deframer_free(&d);
  /* exactly at the limit is fine */
  wire_grpc_deframer_init(&d, 4, WIRE_GRPC_IDENTITY);
  static const uint8_t four[] = {0, 0, 0, 0, 4, 1, 2, 3, 4};
  collected c;
  collected_init(&c);
  CHECK_EQ(wire_grpc_deframer_feed(&d, four, 3, collect, &c, &err), 0);
  CHECK_EQ(wire_grpc_deframer_feed(&d, four + 3, 6, collect, &c, &err), 0);
  CHECK_EQ(c.count, 1);
  wire_grpc_deframer_free(&d);
  wire_buf_free(&c.all);
  /* unary decode applies the limit too */
  wire_buf tmp;
  wire_buf_init(&tmp, 0);
  const uint8_t *m;
  size_t ml;
  CHECK_EQ(wire_grpc_decode_unary(four, sizeof four, WIRE_GRPC_IDENTITY, 3, false, &tmp, &m, &ml, &err), -1);
  CHECK_EQ(err.code, WIRE_E_LIMIT);
  wire_buf_free(&tmp);
}

static void test_deframe_truncated(void) {
  wire_grpc_deframer d;
  wire_err err;
  static const uint8_t part[] = {0, 0, 0, 0, 5, 'a', 'b'};
  wire_grpc_deframer_init(&d, 0, WIRE_GRPC_IDENTITY);
  CHECK_EQ(wire_grpc_deframer_feed(&d, part, sizeof part, collect, NULL, &err), 0);
  CHECK_EQ(wire_grpc_deframer_finish(&d, &err), -1);
  CHECK_EQ(err.code, WIRE_E_PROTOCOL);
  CHECK_CONTAINS(err.msg, "2 of 5 bytes");
  wire_grpc_deframer_free(&d);
  wire_grpc_deframer_init(&d, 0, WIRE_GRPC_IDENTITY);
  CHECK_EQ(wire_grpc_deframer_feed(&d, part, 3, collect, NULL, &err), 0);
  CHECK_EQ(wire_grpc_deframer_finish(&d, &err), -1);
  CHECK_CONTAINS(err.msg, "prefix");
  wire_grpc_deframer_free(&d);

  wire_buf tmp;
  wire_buf_init(&tmp, 0);
  const uint8_t *m;
  size_t ml;
  CHECK_EQ(wire_grpc_decode_unary(part, sizeof part, WIRE_GRPC_IDENTITY, 0, false, &tmp, &m, &ml, &err), -1);
  CHECK_EQ(err.code, WIRE_E_PROTOCOL);
  CHECK_EQ(wire_grpc_decode_unary(part, 3, WIRE_GRPC_IDENTITY, 0, false, &tmp, &m, &ml, &err), -1);
  CHECK_EQ(wire_grpc_decode_unary(part, 0, WIRE_GRPC_IDENTITY, 0, false, &tmp, &m, &ml, &err), -1);
  CHECK_EQ(wire_grpc_decode_unary(part, 0, WIRE_GRPC_IDENTITY, 0, true, &tmp, &m, &ml, &err), 0);
  CHECK_EQ(ml, 0);
  /* two messages in a unary body */
  static const uint8_t twomsg[] = {0, 0, 0, 0, 1, 'a', 0, 0, 0, 0, 0};
  CHECK_EQ(wire_grpc_decode_unary(twomsg, sizeof twomsg, WIRE_GRPC_IDENTITY, 0, false, &tmp, &m, &ml, &err), -1);
  CHECK_CONTAINS(err.msg, "more than one message");
  CHECK_EQ(wire_grpc_decode_unary(twomsg, 6, WIRE_GRPC_IDENTITY, 0, false, &tmp, &m, &ml, &err), 0);
  CHECK_EQ(ml, 1);
  CHECK(m == twomsg + 5); /* no copy */
  wire_buf_free(&tmp);
}

static void test_encoding_names(void) {
  CHECK_EQ(wire_grpc_encoding_parse(NULL), WIRE_GRPC_IDENTITY);
  CHECK_EQ(wire_grpc_encoding_parse("identity"), WIRE_GRPC_IDENTITY);
  CHECK_EQ(wire_grpc_encoding_parse("gzip"), WIRE_GRPC_GZIP);
  CHECK_EQ(wire_grpc_encoding_parse("snappy"), -1);
  CHECK_EQ(wire_grpc_encoding_parse("deflate"), -1);
}

static void test_timeout(void) {
  int64_t ns;
  CHECK_EQ(wire_grpc_timeout_parse("1H", &ns, NULL), 0);
  CHECK_EQ(ns, 3600000000000LL);
  CHECK_EQ(wire_grpc_timeout_parse("2M", &ns, NULL), 0);
  CHECK_EQ(ns, 120000000000LL);
  CHECK_EQ(wire_grpc_timeout_parse("30S", &ns, NULL), 0);
  CHECK_EQ(ns, 30000000000LL);
  CHECK_EQ(wire_grpc_timeout_parse("250m", &ns, NULL), 0);
  CHECK_EQ(ns, 250000000LL);
  CHECK_EQ(wire_grpc_timeout_parse("7u", &ns, NULL), 0);
  CHECK_EQ(ns, 7000);
  CHECK_EQ(wire_grpc_timeout_parse("99999999n", &ns, NULL), 0);
  CHECK_EQ(ns, 99999999);
  CHECK_EQ(wire_grpc_timeout_parse("99999999H", &ns, NULL), 0);
  CHECK(ns == INT64_MAX); /* saturates rather than overflows */
  CHECK_EQ(wire_grpc_timeout_parse("0m", &ns, NULL), 0);
  CHECK_EQ(ns, 0);
  wire_err err;
  const char *bad[] = {"", "S", "123456789S", "10", "10s", "10 S", " 10S", "10SS", "-1S", "1.5S", "10x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_MSG(wire_grpc_timeout_parse(bad[i], &ns, &err) == -1, "accepted bad timeout '%s'", bad[i]);
    CHECK_EQ(err.code, WIRE_E_INVALID);
  }
  char out[16];
  wire_grpc_timeout_format(250000000, out, sizeof out);
  CHECK_STR(out, "250000u");
  wire_grpc_timeout_format(30000000000LL, out, sizeof out);
  CHECK_STR(out, "30000000u");
  wire_grpc_timeout_format(100000000001LL, out, sizeof out); /* rounds up */
  CHECK_STR(out, "100001m");
  wire_grpc_timeout_format(0, out, sizeof out);
  CHECK_STR(out, "1n");
  wire_grpc_timeout_format(INT64_MAX, out, sizeof out);
  CHECK_EQ(wire_grpc_timeout_parse(out, &ns, NULL), 0);
  CHECK(strlen(out) <= 9);
  /* format then parse never shortens the timeout */
  int64_t samples[] = {1, 999, 1000001, 123456789012LL, 5000000000000LL, 86400000000000LL};
  for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
    wire_grpc_timeout_format(samples[i], out, sizeof out);
    CHECK_EQ(wire_grpc_timeout_parse(out, &ns, NULL), 0);
    CHECK(ns >= samples[i]);
  }
}

static void test_message_percent(void) {
  wire_buf out;
  wire_buf_init(&out, 0);
  CHECK_EQ(wire_grpc_message_encode("plain text: ok", &out, NULL), 0);
  CHECK_STR((char *)out.data, "plain text: ok");
  wire_buf_reset(&out);
  CHECK_EQ(wire_grpc_message_encode("100% \xc3\xa9t\xc3\xa9\nline", &out, NULL), 0);
  CHECK_STR((char *)out.data, "100%25 %C3%A9t%C3%A9%0Aline");
  char *dec = wire_grpc_message_decode((char *)out.data);
  CHECK_STR(dec, "100% \xc3\xa9t\xc3\xa9\nline");
  free(dec);
  /* malformed sequences pass through; lower-case hex decodes */
  dec = wire_grpc_message_decode("50%zz %4 %c3%a9 end%");
  CHECK_STR(dec, "50%zz %4 \xc3\xa9 end%");
  free(dec);
  wire_buf_free(&out);
}

static void test_base64(void) {
  wire_buf out;
  wire_buf_init(&out, 0);
  const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char *enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
  const char *padded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; i++) {
    wire_buf_reset(&out);
    CHECK_EQ(wire_base64_encode(plain[i], strlen(plain[i]), &out, NULL), 0);
    CHECK_STR(out.data ? (char *)out.data : "", enc[i]);
    wire_buf_reset(&out);
    CHECK_EQ(wire_base64_decode(enc[i], strlen(enc[i]), &out, NULL), 0);
    CHECK(out.len == strlen(plain[i]) && memcmp(out.data ? (void *)out.data : (void *)"", plain[i], out.len) == 0);
    wire_buf_reset(&out);
    CHECK_EQ(wire_base64_decode(padded[i], strlen(padded[i]), &out, NULL), 0);
    CHECK(out.len == strlen(plain[i]) && memcmp(out.data ? (void *)out.data : (void *)"", plain[i], out.len) == 0);
  }
  CHECK_EQ(wire_base64_decode("Zm9v!", 5, &out, NULL), -1);
  CHECK_EQ(wire_base64_decode("Z", 1, &out, NULL), -1);
  CHECK_EQ(wire_base64_decode("Zg=", 3, &out, NULL), -1);
  wire_buf_free(&out);
}

static void test_status_details(void) {
  wire_buf v;
  wire_buf_init(&v, 0);
  CHECK_EQ(wire_grpc_status_details_build(WIRE_GRPC_RESOURCE_EXHAUSTED, "slow down", 2500000000LL, &v, NULL), 0);
  int64_t delay = -1;
  int code = -1;
  CHECK_EQ(wire_grpc_status_details_parse((char *)v.data, &delay, &code, NULL), 1);
  CHECK_EQ(delay, 2500000000LL);
  CHECK_EQ(code, WIRE_GRPC_RESOURCE_EXHAUSTED);
  /* padded form of the same bytes parses too */
  wire_buf raw, padded;
  wire_buf_init(&raw, 0);
  wire_buf_init(&padded, 0);
  CHECK_EQ(wire_base64_decode((char *)v.data, v.len, &raw, NULL), 0);
  wire_buf_append(&padded, v.data, v.len, NULL);
  while (padded.len % 4) wire_buf_append(&padded, "=", 1, NULL);
  wire_buf_append(&padded, "", 1, NULL);
  delay = -1;
  CHECK_EQ(wire_grpc_status_details_parse((char *)padded.data, &delay, NULL, NULL), 1);
  CHECK_EQ(delay, 2500000000LL);
  /* without RetryInfo */
  wire_buf_reset(&v);
  CHECK_EQ(wire_grpc_status_details_build(WIRE_GRPC_UNAVAILABLE, "down", -1, &v, NULL), 0);
  delay = -1;
  CHECK_EQ(wire_grpc_status_details_parse((char *)v.data, &delay, &code, NULL), 0);
  CHECK_EQ(delay, -1);
  CHECK_EQ(code, WIRE_GRPC_UNAVAILABLE);
  /* zero delay is still RetryInfo */
  wire_buf_reset(&v);
  CHECK_EQ(wire_grpc_status_details_build(WIRE_GRPC_UNAVAILABLE, NULL, 0, &v, NULL), 0);
  CHECK_EQ(wire_grpc_status_details_parse((char *)v.data, &delay, &code, NULL), 1);
  CHECK_EQ(delay, 0);
  /* garbage */
  wire_err err;
  CHECK_EQ(wire_grpc_status_details_parse("!!!", &delay, NULL, &err), -1);
  CHECK_EQ(err.code, WIRE_E_INVALID);
  CHECK_EQ(wire_grpc_status_details_parse("/////w", &delay, NULL, &err), -1); /* base64 fine, protobuf not */
  CHECK_EQ(err.code, WIRE_E_INVALID);
  CHECK_EQ(wire_grpc_status_details_parse("", &delay, &code, NULL), 0); /* empty Status */
  CHECK_EQ(code, 0);
  wire_buf_free(&v);
  wire_buf_free(&raw);
  wire_buf_free(&padded);
}

static void test_codes(void) {
  CHECK_STR(wire_grpc_code_name(0), "OK");
  CHECK_STR(wire_grpc_code_name(4), "DEADLINE_EXCEEDED");
  CHECK_STR(wire_grpc_code_name(8), "RESOURCE_EXHAUSTED");
  CHECK_STR(wire_grpc_code_name(16), "UNAUTHENTICATED");
  CHECK_STR(wire_grpc_code_name(17), "UNKNOWN_CODE");
  CHECK_STR(wire_grpc_code_name(-1), "UNKNOWN_CODE");
  int retryable[] = {1, 4, 10, 11, 14, 15};
  for (int code = 0; code <= 16; code++) {
    bool want = false;
    for (size_t i = 0; i < sizeof retryable / sizeof retryable[0]; i++) want |= retryable[i] == code;
    CHECK_MSG(wire_grpc_otlp_retryable(code, false) == want, "code %d", code);
    if (code != WIRE_GRPC_RESOURCE_EXHAUSTED) CHECK_MSG(wire_grpc_otlp_retryable(code, true) == want, "code %d", code);
  }
  CHECK(!wire_grpc_otlp_retryable(WIRE_GRPC_RESOURCE_EXHAUSTED, false));
  CHECK(wire_grpc_otlp_retryable(WIRE_GRPC_RESOURCE_EXHAUSTED, true));
  CHECK_EQ(wire_grpc_code_from_http(400), WIRE_GRPC_INTERNAL);
  CHECK_EQ(wire_grpc_code_from_http(401), WIRE_GRPC_UNAUTHENTICATED);
  CHECK_EQ(wire_grpc_code_from_http(403), WIRE_GRPC_PERMISSION_DENIED);
  CHECK_EQ(wire_grpc_code_from_http(404), WIRE_GRPC_UNIMPLEMENTED);
  CHECK_EQ(wire_grpc_code_from_http(429), WIRE_GRPC_UNAVAILABLE);
  CHECK_EQ(wire_grpc_code_from_http(502), WIRE_GRPC_UNAVAILABLE);
  CHECK_EQ(wire_grpc_code_from_http(503), WIRE_GRPC_UNAVAILABLE);
  CHECK_EQ(wire_grpc_code_from_http(504), WIRE_GRPC_UNAVAILABLE);
  CHECK_EQ(wire_grpc_code_from_http(500), WIRE_GRPC_UNKNOWN);
}

int main(void) {
  RUN(test_encode_prefix);
  RUN(test_encode_gzip_roundtrip);
  RUN(test_deframe_every_split);
  RUN(test_deframe_bad_prefixes);
  RUN(test_deframe_oversize_checked_from_prefix);
  RUN(test_deframe_truncated);
  RUN(test_encoding_names);
  RUN(test_timeout);
  RUN(test_message_percent);
  RUN(test_base64);
  RUN(test_status_details);
  RUN(test_codes);
  return test_finish();
}
