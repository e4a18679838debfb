/* bench_otlp_codec.c — OTLP codec speed: ns per data point to encode, validate and decode a 1,000-point request
 * (100 metrics x 10 points x 4 attributes, the shape of sample_otlp_parametric), decoding both into an
 * otlp_arena and with protobuf-c's default malloc allocator. Each figure is the best of 5 rounds (the machine
 * is shared: the minimum is the least disturbed). Usage: bench_otlp_codec [iterations per round]. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sample_otlp.h"
#include "wire/clock.h"
#include "wire/otlp.h"
#include "wire/pbwalk.h"

#define METRICS 100
#define POINTS 10
#define ATTRS 4

#define ROUNDS 5

static void report(const char *what, int64_t ns, long iters, uint64_t points, size_t bytes) {
  double per_point = (double)ns / (double)iters / (double)points;
  double mbps = (double)bytes * (double)iters / ((double)ns / 1e9) / 1e6;
  printf("%-28s %8.1f ns/point  %8.1f MB/s\n", what, per_point, mbps);
}

int main(int argc, char **argv) {
  long iters = argc > 1 ? atol(argv[1]) : 400;
  if (iters <= 0) iters = 400;
  otlp_request *req = sample_otlp_parametric(METRICS, POINTS, ATTRS);
  uint64_t points = wire_otlp_count_points(req);
  wire_buf buf;
  wire_buf_init(&buf, 0);
  wire_err err;
  if (wire_otlp_encode_request(req, &buf, &err) < 0) {
    fprintf(stderr, "encode: %s\n", err.msg);
    return 1;
  }
  printf("request: %llu points, %zu bytes encoded, %ld iterations\n", (unsigned long long)points, buf.len, iters);

  wire_buf out;
  wire_buf_init(&out, 0);
  otlp_arena arena;
  otlp_arena_init(&arena, 0);
  int64_t best[5];
  for (int k = 0; k < 5; k++) best[k] = INT64_MAX;
  for (int round = 0; round < ROUNDS; round++) {
    int64_t t0 = wire_now_ns();
    for (long i = 0; i < iters; i++) {
      wire_buf_reset(&out);
      if (wire_otlp_encode_request(req, &out, &err) < 0) return 1;
    }
    int64_t t1 = wire_now_ns();
    for (long i = 0; i < iters; i++)
      if (pbwalk_validate(buf.data, buf.len, PBWALK_EXPORT_METRICS_REQUEST, PBWALK_DEFAULT_DEPTH, &err) < 0) return 1;
    int64_t t2 = wire_now_ns();
    for (long i = 0; i < iters; i++) {
      if (!wire_otlp_decode_request(buf.data, buf.len, 0, &arena, &err)) return 1;
      otlp_arena_reset(&arena);
    }
    int64_t t3 = wire_now_ns();
    for (long i = 0; i < iters; i++) {
      otlp_request *r = wire_otlp_decode_request(buf.data, buf.len, 0, NULL, &err);
      if (!r) return 1;
      wire_otlp_request_free(r, NULL);
    }
    int64_t t4 = wire_now_ns();
    for (long i = 0; i < iters; i++) {
      otlp_request *r = (otlp_request *)protobuf_c_message_unpack(
          &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor, NULL, buf.len,
          buf.data);
      if (!r) return 1;
      protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    int64_t t5 = wire_now_ns();
    int64_t d[5] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4};
    for (int k = 0; k < 5; k++)
      if (d[k] < best[k]) best[k] = d[k];
  }
  report("encode", best[0], iters, points, buf.len);
  report("validate only (pbwalk)", best[1], iters, points, buf.len);
  report("decode (arena)", best[2], iters, points, buf.len);
  report("decode (malloc) + free", best[3], iters, points, buf.len);
  report("bare protobuf-c unpack+free", best[4], iters, points, buf.len);

  otlp_arena_free(&arena);
  wire_buf_free(&out);
  wire_buf_free(&buf);
  sample_otlp_free(req);
  return 0;
}
