/* metrics_rpc.c — gRPC calls to rpc.server.call.duration (see metrics_rpc.h). Runs on the shim's recording
 * thread only, like metrics.c: attribute sets are bound once per distinct combination (method index, status,
 * error, port: all small, bounded integers in the event), so steady-state recording hashes nothing. */
#include "autoinstr/metrics_rpc.h"

#include <stdio.h>
#include <string.h>

#include "autoinstr/bind_cache.h"
#include "autoinstr/clock.h"
#include "autoinstr/metrics.h"
#include "autoinstr/sniffer_h2.h"

static otelc_instrument *g_call_duration;

/* ---- attribute values ----------------------------------------------------------------------------------- */

static const char *const k_status_names[17] = {
    "OK",          "CANCELLED",         "UNKNOWN",   "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED",   "INTERNAL",  "UNAVAILABLE",      "DATA_LOSS",         "UNAUTHENTICATED",
};

const char *metrics_rpc_status_name(int code) { return code >= 0 && code <= 16 ? k_status_names[code] : NULL; }

bool metrics_rpc_status_is_error(int code) {
  /* The gRPC conventions' server column: UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE and
   * DATA_LOSS; the others are the client's fault (or OK). A code beyond the known ones: an error too. */
  switch (code) {
  case 2: case 4: case 12: case 13: case 14: case 15: return true;
  default: return code > 16;
  }
}

/* Fills attrs for a gRPC event; returns how many. code_text must outlive the call. */
static size_t rpc_attrs(const sniff_event *ev, otelc_attr *a, char *code_text, size_t code_len) {
  size_t n = 0;
  a[n++] = OTELC_ATTR_STR("rpc.system.name", "grpc");
  a[n++] = OTELC_ATTR_STR("rpc.method", sniff_rpc_method_name(ev->rpc_method));
  const char *status = NULL, *err = NULL;
  if (ev->rpc_status >= SNIFF_RPC_STATUS) {
    int code = ev->rpc_status - SNIFF_RPC_STATUS;
    status = metrics_rpc_status_name(code);
    if (!status) {
      snprintf(code_text, code_len, "%d", code);
      status = code_text;
    }
    if (metrics_rpc_status_is_error(code)) err = status;
  }
  if (status) a[n++] = OTELC_ATTR_STR("rpc.response.status_code", status);
  if (ev->port) a[n++] = OTELC_ATTR_INT("server.port", ev->port);
  if (!err) err = sniff_error_name(ev->error);
  if (!err && !status) err = "no_grpc_status";
  if (err) a[n++] = OTELC_ATTR_STR("error.type", err);
  return n;
}

/* ---- bound series ----------------------------------------------------------------------------------------- */

#define RPC_BIND_SLOTS 512 /* a power of two; combinations beyond it are recorded per call */

typedef struct rpc_bind {
  uint64_t key; /* 0: empty */
  otelc_series *duration;
} rpc_bind;

static rpc_bind g_rpc_bind[RPC_BIND_SLOTS];

static uint64_t rpc_key(const sniff_event *ev) {
  /* method: 16 bits, status: 8, error: 4, port: 16, and a marker bit */
  return 1ull << 60 | (uint64_t)ev->rpc_method | (uint64_t)ev->rpc_status << 16 |
         (uint64_t)(ev->error & 0xf) << 24 | (uint64_t)ev->port << 28;
}

void metrics_rpc_create(otelc_meter *m) {
  memset(g_rpc_bind, 0, sizeof g_rpc_bind);
  otelc_instrument_options dur = {
      .description = "Measures the duration of an incoming Remote Procedure Call (RPC).",
      .unit = "s",
      .aggregation = OTELC_AGGREGATION_EXPLICIT_BUCKET_HISTOGRAM,
      .boundaries = preload_duration_bounds,
      .n_boundaries = 14,
  };
  g_call_duration = otelc_histogram(m, "rpc.server.call.duration", &dur);
}

void metrics_rpc_record(const sniff_event *ev) {
  if (!g_call_duration || !ev->rpc_status) return;
  double seconds = preload_clock_seconds(ev->duration);
  uint64_t key = rpc_key(ev);
  bool fresh;
  rpc_bind *e = bind_cache_slot(g_rpc_bind, sizeof g_rpc_bind[0], RPC_BIND_SLOTS, key, &fresh);
  if (e && fresh) {
    otelc_attr a[6];
    char code[8];
    size_t n = rpc_attrs(ev, a, code, sizeof code);
    e->duration = otelc_bind_exclusive(g_call_duration, a, n); /* recorded by the recording thread only */
    e->key = key;
  }
  if (e) {
    otelc_series_record_f64(e->duration, seconds);
    return;
  }
  otelc_attr a[6];
  char code[8];
  size_t n = rpc_attrs(ev, a, code, sizeof code);
  otelc_record_f64(g_call_duration, seconds, a, n);
}
