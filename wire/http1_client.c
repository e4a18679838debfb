/* http1_client.c — one HTTP/1.1 request/response over a client connection (stub while being written). */
#include "wire/http_client.h"

int wire_h1_roundtrip(wire_conn *c, const wire_http_request *req, wire_http_response *resp, int64_t deadline_ns,
                      bool *reusable, wire_err *err) {
  (void)c; (void)req; (void)resp; (void)deadline_ns;
  *reusable = false;
  return wire_err_set(err, WIRE_E_UNSUPPORTED, "http1: client not implemented yet");
}
