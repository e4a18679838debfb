/* otlp_test_server.h — an in-process OTLP metrics server for tests: OTLP/gRPC and OTLP/HTTP (protobuf or JSON
 * bodies, gzip or not) on one port of 127.0.0.1 (HTTP/1.1 and HTTP/2, plaintext or TLS), on a libuv loop in
 * its own thread.
 *
 * It decodes and keeps every request, answers with scripted replies (HTTP 503 + Retry-After, gRPC UNAVAILABLE,
 * RESOURCE_EXHAUSTED with RetryInfo, partial success, a slow answer, ...), can go "down" (stop listening and
 * close its connections) and come "up" again on the same port, and lets a test wait, with a bound, until N
 * requests have arrived.
 *
 *   otlp_test_server *s = otlp_test_server_start(NULL);
 *   setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_test_server_url(s), 1);
 *   otlp_test_reply r = {.http_status = 503, .retry_after = "0", .grpc_code = WIRE_GRPC_UNAVAILABLE};
 *   otlp_test_server_push_reply(s, &r, 2);      // the next two requests fail, then the default (success)
 *   ...export...
 *   CHECK(otlp_test_server_wait(s, 3, 10000));
 *   const otlp_test_request *q = otlp_test_server_request(s, 2);
 *   const otlp_metric *m = otlp_test_find_metric(q->req, "jobs.done");
 *   otlp_test_server_stop(s);
 *
 * Thread safety: every function may be called from any test thread (not from the server's loop). */
#ifndef OTELC_TESTS_OTLP_TEST_SERVER_H
#define OTELC_TESTS_OTLP_TEST_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/http.h"
#include "wire/otlp.h"
#include "wire/tls.h"

typedef struct otlp_test_server otlp_test_server;

typedef struct otlp_test_server_options {
  const wire_tls_config *tls; /* NULL: plaintext. Copied (kept for otlp_test_server_up) */
  size_t max_stored;          /* requests kept for inspection (later ones are counted only); 0: 4096 */
  size_t max_body_bytes;      /* 0: 16 MiB */
} otlp_test_server_options;

/* One scripted answer. Zero-initialised it is a plain success. Fields apply to the protocol of the request. */
typedef struct otlp_test_reply {
  int http_status;          /* OTLP/HTTP: status (0: 200). Failures carry a google.rpc.Status body */
  const char *retry_after;  /* OTLP/HTTP: Retry-After header value ("2", an HTTP-date), or NULL */
  int grpc_code;            /* OTLP/gRPC: status code (0: OK) */
  bool retry_info;          /* OTLP/gRPC: add a google.rpc.RetryInfo with retry_delay_ns */
  int64_t retry_delay_ns;
  const char *message;      /* grpc-message / google.rpc.Status.message of a failure */
  int64_t rejected_points;  /* success with partial_success.rejected_data_points */
  const char *partial_message; /* success with partial_success.error_message */
  int delay_ms;             /* answer this long after the request arrived */
} otlp_test_reply;

/* One request as received. */
typedef struct otlp_test_request {
  bool grpc;                /* gRPC (else OTLP/HTTP) */
  bool tls;
  bool gzip;                /* the body/message was gzip-compressed by the client */
  bool json;                /* OTLP/HTTP with a JSON body */
  char method[16];
  char path[256];
  char content_type[96];
  wire_headers headers;     /* every request header as received (names lower-case) */
  otlp_request *req;        /* decoded request, or NULL (then decode_error says why) */
  char decode_error[320];
  int answered;             /* HTTP status (OTLP/HTTP) or gRPC code (OTLP/gRPC) sent back */
  int64_t received_ns;      /* monotonic time of arrival */
} otlp_test_request;

/* Starts the server on 127.0.0.1, port 0 (opts may be NULL). NULL on failure (message on stderr). */
otlp_test_server *otlp_test_server_start(const otlp_test_server_options *opts);
/* Stops the server, answers whatever is still pending, joins its thread and frees everything. NULL is fine. */
void otlp_test_server_stop(otlp_test_server *s);

uint16_t otlp_test_server_port(const otlp_test_server *s);
/* "http://127.0.0.1:PORT" (or https:// with TLS): the base endpoint for both protocols. */
const char *otlp_test_server_url(const otlp_test_server *s);
/* The same with "/v1/metrics", for OTEL_EXPORTER_OTLP_METRICS_ENDPOINT with http/protobuf. */
const char *otlp_test_server_http_url(const otlp_test_server *s);

/* Queues `times` copies of r (strings copied) to answer the next requests with; once the queue is empty,
 * requests get the default reply (success, or what otlp_test_server_set_default set). */
void otlp_test_server_push_reply(otlp_test_server *s, const otlp_test_reply *r, int times);
void otlp_test_server_set_default(otlp_test_server *s, const otlp_test_reply *r);
void otlp_test_server_clear_replies(otlp_test_server *s);

/* Stops listening and closes every connection (clients see refused connections); returns once done.
 * otlp_test_server_up listens again on the same port. Both return 0, or -1 (message on stderr). */
int otlp_test_server_down(otlp_test_server *s);
int otlp_test_server_up(otlp_test_server *s);

/* Requests received since start (or the last clear), whether kept or not. */
size_t otlp_test_server_count(otlp_test_server *s);
/* Waits until at least n requests have been received, at most timeout_ms. True if they have. */
bool otlp_test_server_wait(otlp_test_server *s, size_t n, int timeout_ms);
/* Request i (0 = the first since start/clear), or NULL if not kept. Valid until clear or stop. */
const otlp_test_request *otlp_test_server_request(otlp_test_server *s, size_t i);
/* The newest kept request whose decoded body holds metric `name` (and, when pid > 0, whose resource has
 * process.pid = pid), or NULL. */
const otlp_test_request *otlp_test_server_latest_with(otlp_test_server *s, const char *name, int64_t pid);
/* Forgets every kept request and resets the count. */
void otlp_test_server_clear(otlp_test_server *s);

/* ---- reading decoded requests ---- */

/* The first metric called `name` in any resource/scope of req, or NULL. */
const otlp_metric *otlp_test_find_metric(const otlp_request *req, const char *name);
/* The number data point (sum or gauge) of m whose attributes hold key=value (a string attribute), or, with
 * key NULL, the first point without attributes. NULL if none. */
const otlp_number_point *otlp_test_find_number(const otlp_metric *m, const char *key, const char *value);
/* The same for histogram points. */
const otlp_histogram_point *otlp_test_find_histogram(const otlp_metric *m, const char *key, const char *value);
/* A number point's value as a double (int or double). */
double otlp_test_number_value(const otlp_number_point *p);
/* The resource attribute `key` of the first resource of req, printed into out (strings as they are, ints in
 * decimal, bools true/false). Returns true if found. */
bool otlp_test_resource_attr(const otlp_request *req, const char *key, char *out, size_t out_len);
/* Data points in req (all metrics). */
size_t otlp_test_point_count(const otlp_request *req);

#endif
