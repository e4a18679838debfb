// fuzz-links: wire
/* fuzz_grpc_frame.c — libFuzzer target for the gRPC deframer and the other parsers of wire/grpc.c that see
 * peer input (grpc-timeout, grpc-message, grpc-status-details-bin).
 *
 * Input layout: byte 0 picks the configuration (bit 0: gzip negotiated, bits 1-2: max message size, bits 3-7:
 * chunk size for feeding), the rest is the DATA stream of one gRPC call. The stream is deframed incrementally
 * in chunks, then as a whole by wire_grpc_decode_unary; both must agree on success or failure. The rest, as a
 * string, also goes through the header parsers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/grpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_message(void *ud, const uint8_t *msg, size_t len, wire_err *err) {
  (void)err;
  size_t *n = ud;
  (*n)++;
  if (len) { /* touch every byte so ASan sees a bad pointer */
    volatile uint8_t x = msg[0];
    x ^= msg[len - 1];
    (void)x;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static const size_t limits[] = {16, 1024, 65536, 1 << 20};
  uint8_t cfg = data[0];
  wire_grpc_encoding enc = (cfg & 1) ? WIRE_GRPC_GZIP : WIRE_GRPC_IDENTITY;
  size_t max = limits[(cfg >> 1) & 3];
  size_t chunk = (size_t)(cfg >> 3) + 1;
  const uint8_t *p = data + 1;
  size_t n = size - 1;

  wire_grpc_deframer d;
  wire_grpc_deframer_init(&d, max, enc);
  size_t messages = 0;
  wire_err err;
  int rc = 0;
  for (size_t off = 0; off < n && rc == 0; off += chunk) {
    size_t len = n - off < chunk ? n - off : chunk;
    rc = wire_grpc_deframer_feed(&d, p + off, len, count_message, &messages, &err);
  }
  if (rc == 0) rc = wire_grpc_deframer_finish(&d, &err);
  if (messages != d.messages) abort();
  wire_grpc_deframer_free(&d);

  wire_buf out;
  wire_buf_init(&out, max);
  const uint8_t *msg;
  size_t len;
  int urc = wire_grpc_decode_unary(p, n, enc, max, true, &out, &msg, &len, &err);
  /* A unary body that decodes is exactly one (or zero) messages the deframer also accepts. */
  if (urc == 0 && rc != 0) abort();
  if (urc == 0 && len > max) abort();
  wire_buf_free(&out);

  char *s = malloc(n + 1);
  if (!s) return 0;
  memcpy(s, p, n);
  s[n] = '\0';
  int64_t ns;
  if (wire_grpc_timeout_parse(s, &ns, &err) == 0 && ns < 0) abort();
  char *m = wire_grpc_message_decode(s);
  if (m && strlen(m) > n) abort();
  free(m);
  int64_t delay = -1;
  int code;
  if (wire_grpc_status_details_parse(s, &delay, &code, &err) == 1 && delay < 0) abort();
  free(s);
  return 0;
}
