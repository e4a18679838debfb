// fuzz-links: wire
/* fuzz_otlp_json.c — OTLP/JSON decoding of hostile bytes: no crash, leak or hang, and whatever decodes also
 * re-encodes to JSON that decodes to the same request (compared as protobuf bytes) and encodes the same again.
 *
 * Alternates between arena and malloc decoding (the low bit of the length) so both ownership paths are shaken,
 * and also decodes every input as a response. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/otlp.h"
#include "wire/otlp_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *pack(const ProtobufCMessage *m, size_t *len) {
  *len = protobuf_c_message_get_packed_size(m);
  uint8_t *p = malloc(*len ? *len : 1);
  if (p) protobuf_c_message_pack(m, p);
  return p;
}

/* Strings made from valid UTF-8 text without \u escapes (which can spell lone surrogates) come back unchanged;
 * others get U+FFFD from the encoder, so only the second round trip is compared for them. */
static int text_is_plain(const uint8_t *data, size_t size) {
  if (!wire_otlp_utf8_valid((const char *)data, size)) return 0;
  for (size_t i = 0; i + 1 < size; i++)
    if (data[i] == '\\' && data[i + 1] == 'u') return 0;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static otlp_arena arena;
  static int arena_ready;
  if (!arena_ready) {
    otlp_arena_init(&arena, 64u << 20);
    arena_ready = 1;
  }
  otlp_arena *a = (size & 1) ? &arena : NULL;
  wire_err err;
  otlp_request *req = wire_otlp_json_decode_request(data, size, 1u << 20, 0, a, &err);
  if (req) {
    wire_buf j1, j2;
    wire_buf_init(&j1, 0);
    wire_buf_init(&j2, 0);
    if (wire_otlp_json_encode_request(req, &j1, &err) != 0) abort();
    if (memchr(j1.data, '\n', j1.len)) abort();
    otlp_request *again = wire_otlp_json_decode_request(j1.data, j1.len, 0, WIRE_OTLP_JSON_DEPTH_CAP, NULL, &err);
    if (!again) abort(); /* our own output must decode */
    if (wire_otlp_json_encode_request(again, &j2, &err) != 0) abort();
    if (j1.len != j2.len || memcmp(j1.data, j2.data, j1.len) != 0) abort();
    if (text_is_plain(data, size)) {
      size_t l1, l2;
      uint8_t *p1 = pack(&req->base, &l1), *p2 = pack(&again->base, &l2);
      if (p1 && p2 && (l1 != l2 || memcmp(p1, p2, l1) != 0)) abort();
      free(p1);
      free(p2);
    }
    wire_otlp_request_free(again, NULL);
    wire_otlp_request_free(req, a);
    wire_buf_free(&j1);
    wire_buf_free(&j2);
  }
  otlp_response *resp = wire_otlp_json_decode_response(data, size, 1u << 20, 0, a, &err);
  if (resp) {
    wire_buf j;
    wire_buf_init(&j, 0);
    if (wire_otlp_json_encode_response(resp, &j, &err) != 0) abort();
    wire_buf_free(&j);
    wire_otlp_response_free(resp, a);
  }
  if (a) otlp_arena_reset(a);
  return 0;
}
