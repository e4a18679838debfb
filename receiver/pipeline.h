/* pipeline.h — the data that moves through the receiver's pipelines, and what the runtime offers components.
 *
 * A batch (component_metrics) is one OTLP ExportMetricsServiceRequest in one or both of two forms:
 *  - decoded: protobuf-c structs (`req`) allocated in the batch's own arena, so that freeing a batch is one
 *    arena free whatever its size;
 *  - serialized ("raw"): the request's protobuf bytes as received, as a list of byte ranges (`raw`, `nraw`).
 * The OTLP receiver keeps what it received (the validated, possibly gunzipped bytes, owned by the batch: it takes
 * the server's body buffer, metrics_receive_body) and decodes nothing when the validating walk proves the
 * request clean (wire_otlp_scan_request: the semantic checks would change nothing; the walk also counts the
 * points). Decoding is lazy: a component that reads or changes the
 * structs gets them through metrics_request(), which decodes on first use (once, safe when several threads ask
 * at once). A component that only forwards (the OTLP exporters, the persistent queue, the batch processor)
 * uses the bytes: since the request is `repeated ResourceMetrics resource_metrics = 1` and nothing else, the
 * concatenation of serialized requests is the serialized merged request, so merging is concatenating ranges and
 * splitting is cutting between top-level fields — no decode, no encode. The bytes are immutable; they stay valid
 * as long as the batch (they may live in held batches, see below). A batch whose data is changed loses its raw
 * form (metrics_make_writable and metrics_update drop it), so `raw`, when present, always says exactly what
 * `req` says. JSON-received requests have no raw form.
 *
 * Batches are reference counted: a receiver or processor that fans out to several consumers hands each one a
 * reference, and the data is then read-only; a component that modifies data calls metrics_make_writable first
 * (copy on write, as the Collector's fan-out consumer clones for mutating consumers).
 *
 * A batch may also point into other batches' memory: the batch processor merges requests without copying by
 * concatenating their resource_metrics arrays or their raw ranges (and splits them by pointing at parts of
 * them), and the merged batch then *holds* a reference on each source batch (metrics_hold) until it is released
 * itself. A decoded-only batch is writable in place only when it and every batch it holds are referenced once
 * (metrics_exclusive); a batch with a raw form only needs its own single reference (its structs, if decoded,
 * are its own; the bytes it shares are never written); metrics_make_writable handles both.
 *
 * Ownership rule: consume_metrics(batch) takes one reference, on success AND on error; the caller keeps
 * none unless it took another with metrics_ref.
 *
 * Threads: receivers, processors and exporters' consume_metrics run on the receiver's loop thread. Exporters
 * that send over the network enqueue the batch (bounded) and send from their own consumer threads; batches
 * may therefore be released on any thread (the reference count is atomic), and metrics_request may run on any
 * thread. Modifying a batch (after metrics_make_writable) is for its one owner only.
 *
 * Memory: every live batch's bytes (struct, arena chunks, its own raw copy, range and held arrays) are counted
 * in pipeline_bytes_in_use(); memory_limiter and the receivers' backpressure read it.
 *
 * Changes from the lead's first sketch (all additions): metrics_decode_json, metrics_hold/metrics_exclusive
 * and the held batches; metadata is owned by the batch; the raw form (metrics_receive, metrics_request,
 * metrics_raw_*); the host gained log_enabled, count_transport, auth, hold/release (asynchronous shutdown) and
 * state. */
#ifndef OTELC_RECEIVER_PIPELINE_H
#define OTELC_RECEIVER_PIPELINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <uv.h>

#include "receiver/component.h"
#include "wire/http.h"
#include "wire/otlp.h"

struct component_metrics {
  /* The decoded data, allocated in `arena` (and in held batches); NULL while being built, or while the batch has
   * only its raw form. Read it through metrics_request() unless you made the batch (or made it writable). */
  otlp_request *req;
  otlp_arena arena;        /* owns req and what it allocated itself */
  size_t points;           /* data points in the batch (kept up to date by whoever changes req) */
  atomic_int refs;
  atomic_size_t accounted; /* bytes currently counted in pipeline_bytes_in_use */
  /* Request metadata when the receiver has include_metadata: the client's headers (lower-case names). Owned by
   * the batch (freed with it); may hold credentials: never log it. */
  wire_headers *metadata;
  const char *auth_subject; /* set by the server authenticator, if any (static or owned by the extension) */
  /* Batches whose memory req or raw points into (one reference each), released with this batch. */
  component_metrics **held;
  size_t nheld, held_cap;
  /* The raw form: nraw byte ranges whose concatenation (raw_len bytes) is the serialized request; nraw == 0 when
   * the batch has none. Each range is whole top-level fields. Read-only (see metrics_raw_*). */
  struct iovec *raw;
  size_t nraw, raw_cap;    /* raw_cap 0: raw is &raw_one */
  size_t raw_len;
  uint8_t *raw_own;        /* bytes owned by this batch (the receiver's copy), or NULL */
  size_t raw_own_len;
  struct iovec raw_one;
  pthread_mutex_t decode_mu; /* one lazy decode at a time */
};

/* A new empty batch (req NULL) whose arena may grow to `arena_limit` bytes (0: unlimited). NULL when out of
 * memory. */
component_metrics *metrics_new(size_t arena_limit);
/* Decodes an ExportMetricsServiceRequest (protobuf) into a new batch whose arena may grow to arena_limit
 * bytes (0: unlimited); len > max_size (when max_size != 0) fails with WIRE_E_LIMIT. points is set. NULL on
 * error (wire/otlp.h's classes: WIRE_E_INVALID malformed, WIRE_E_LIMIT too large). The batch has req and no
 * raw form. */
component_metrics *metrics_decode(const uint8_t *data, size_t len, size_t max_size, size_t arena_limit,
                                  wire_err *err);
/* The same for OTLP/JSON (wire/otlp_json.h). */
component_metrics *metrics_decode_json(const uint8_t *data, size_t len, size_t max_size, size_t arena_limit,
                                       wire_err *err);
/* What a receiver calls for a protobuf request from a peer: validates it exactly as metrics_decode does (same
 * limits, same errors) and returns a new batch. When the request is clean (wire_otlp_scan_request) the batch
 * holds a copy of the bytes and no decode (req NULL, points counted by the walk); otherwise it is decoded as by
 * metrics_decode (req set, no raw form) and the caller runs the semantic checks as before. The decoded structs,
 * when someone asks for them, may take up to arena_limit bytes. */
component_metrics *metrics_receive(const uint8_t *data, size_t len, size_t max_size, size_t arena_limit,
                                   wire_err *err);
/* The same without the copy: msg[0..len) lies inside `body` (a server exchange's request body, which the handler
 * may take: wire_exchange_request_mut), and when the request is kept raw the batch takes body's allocation
 * (wire_buf_detach; body is then empty). Otherwise body is left as it is. */
component_metrics *metrics_receive_body(wire_buf *body, const uint8_t *msg, size_t len, size_t max_size,
                                        size_t arena_limit, wire_err *err);
/* The decoded request: m->req, decoding the raw form into m's arena on first use (thread-safe). NULL when the
 * batch holds no data (err untouched), or when decoding fails (err set: WIRE_E_LIMIT at the arena limit,
 * WIRE_E_NOMEM). */
otlp_request *metrics_request(component_metrics *m, wire_err *err);
/* True when the batch has a raw form (its serialized bytes, unchanged since they were received). */
bool metrics_has_raw(const component_metrics *m);
/* The raw form as *nparts ranges (see struct component_metrics); returns the total length (0 when none). */
size_t metrics_raw(const component_metrics *m, const struct iovec **parts, size_t *nparts);
/* Appends the raw form's bytes to out (one copy). Returns 0, or -1 (WIRE_E_LIMIT past out's limit, NOMEM). */
int metrics_raw_copy(const component_metrics *m, wire_buf *out, wire_err *err);
/* Batch building (the batch processor): appends src's raw bytes [off, off + len) — whole top-level fields — to
 * m's raw form and holds src. m must have no decoded req. Returns 0, or -1 when out of memory. points are the
 * caller's to add to m->points. */
int metrics_raw_append(component_metrics *m, component_metrics *src, size_t off, size_t len, wire_err *err);
component_metrics *metrics_ref(component_metrics *m);
/* Releases one reference; the last one frees the batch, its metadata and its held batches. NULL is fine. */
void metrics_unref(component_metrics *m);
/* Makes m keep a reference on `src` because m->req or m->raw points into src's memory (takes a new reference;
 * the caller keeps its own). Returns 0, or -1 when out of memory. */
int metrics_hold(component_metrics *m, component_metrics *src, wire_err *err);
/* True when nobody else can see m's data: m has one reference and (for a batch without raw form) so has,
 * recursively, every batch it holds. */
bool metrics_exclusive(const component_metrics *m);
/* Returns a batch the caller may modify, decoded (req set if there is data) and without raw form: m itself when
 * metrics_exclusive(m) (decoding its raw form first if needed), else a copy in a fresh arena (and m's reference
 * is released). NULL on allocation failure (m released too). */
component_metrics *metrics_make_writable(component_metrics *m, wire_err *err);
/* Recounts m->points after a change of req, drops the raw form (it no longer says what req says) and updates
 * memory accounting. */
void metrics_update(component_metrics *m);
/* Bytes held by all live batches. */
size_t pipeline_bytes_in_use(void);
/* Number of live batches (tests, self-telemetry). */
size_t pipeline_batches_live(void);

/* ---- what the runtime offers a component ---------------------------------------------------------- */

typedef enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* Where the service is in its life (health_check answers from it). */
typedef enum service_state { SERVICE_STARTING, SERVICE_RUNNING, SERVICE_STOPPING } service_state;

/* What an authenticator extension (COMPONENT_CAP_SERVER_AUTH / COMPONENT_CAP_CLIENT_AUTH) offers. The
 * extension's state starts with this struct; host->auth() returns it. */
typedef struct component_auth {
  /* Server side: checks a request's headers (lower-case names). Returns 0 when authenticated (and may set
   * *subject to a static or extension-owned string), or -1 with err saying why — never quoting the credential.
   * Called on the loop thread. NULL when the extension cannot authenticate servers. */
  int (*authenticate)(struct component_auth *a, const wire_headers *headers, const char **subject, wire_err *err);
  /* Client side: adds the credential header(s) to an outgoing request's headers. Thread-safe (exporters call
   * it from their consumer threads). NULL when the extension cannot authenticate clients. */
  int (*client_headers)(struct component_auth *a, wire_headers *out, wire_err *err);
} component_auth;

struct component_host {
  uv_loop_t *loop;
  /* Structured log line: level, component id, message, then key/value string pairs ending with NULL:
   *   h->log(h, LOG_WARN, id, "export failed", "error", err.msg, "attempt", "3", NULL);
   * Values are printed as given: never pass secrets (keys named like token/password/secret/authorization are
   * redacted anyway). Thread-safe. */
  void (*log)(component_host *h, log_level level, const char *component, const char *msg, ...);
  /* True when a line of `level` would be printed (to skip formatting debug fields). */
  bool (*log_enabled)(component_host *h, log_level level);
  /* The state of an enabled extension by id (for storage), or NULL. Valid from create on (extensions are created
   * and started before every other component, and shut down after them). */
  void *(*extension)(component_host *h, const char *id);
  /* The authenticator of extension `id` (bearertokenauth...), or NULL when it is not one. */
  component_auth *(*auth)(component_host *h, const char *id);
  /* Self-telemetry: adds to an otelcol_* counter for a component ("otelcol_exporter_sent_metric_points"); the
   * label (exporter="id" / receiver="id" / processor="id") comes from the component's kind. On a metric the
   * runtime knows as a histogram (otelcol_processor_batch_batch_send_size) it records one observation of n
   * instead of adding. Thread-safe. */
  void (*count)(component_host *h, const char *metric, const char *component_id, uint64_t n);
  /* The same with a transport label (receivers: "grpc", "http"). */
  void (*count_transport)(component_host *h, const char *metric, const char *component_id, const char *transport,
                          uint64_t n);
  /* Self-telemetry gauges (queue size/capacity): set the current value. Thread-safe. */
  void (*gauge)(component_host *h, const char *metric, const char *component_id, int64_t value);
  /* Asynchronous shutdown: a component whose shutdown hook cannot finish at once (a server closing its
   * connections, an exporter draining its queue on other threads) calls hold() before returning from shutdown
   * and release() when it is done; the runtime waits for every hold of a stage (receivers, processors,
   * exporters, extensions) before shutting down the next one, and calls destroy only after the last stage.
   * release() is thread-safe. A shutdown hook may also block until done, but that stalls the loop (and, during
   * a reload, the new pipelines). */
  void (*hold)(component_host *h);
  void (*release)(component_host *h);
  /* The service's state (starting, running, stopping). */
  service_state (*state)(component_host *h);
  void *runtime; /* the runtime's own state */
};

#endif
