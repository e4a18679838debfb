/* metrics_rpc.h — the preload shim's gRPC calls as OpenTelemetry RPC server metrics (semantic conventions
 * v1.45.0, where the RPC conventions are stable), recorded on the shim's thread next to the HTTP ones
 * (metrics.c), from the events the HTTP/2 sniffer marks as gRPC calls (sniffer_h2.h):
 *
 *   rpc.server.call.duration  histogram  s  boundaries 0.005 ... 10 (the conventions', the same as HTTP's)
 *
 * with rpc.system.name "grpc", rpc.method ("pkg.Service/Method" from the method table, or _OTHER),
 * rpc.response.status_code (the grpc-status code's name: "OK", "UNAVAILABLE"...; the decimal code for codes
 * beyond 16; absent when the server wrote none), server.port, and error.type when the call failed: the status
 * name for the codes that are errors on a server (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
 * UNAVAILABLE, DATA_LOSS, and codes beyond 16), else the sniffer's error (request_aborted, request_incomplete,
 * response_incomplete) when the call did not end, else "no_grpc_status" when a gRPC request was answered
 * without grpc-status. The duration is the exchange's, the same as http.server.request.duration's. */
#ifndef OTELC_AUTOINSTR_METRICS_RPC_H
#define OTELC_AUTOINSTR_METRICS_RPC_H

#include "autoinstr/sniffer.h"
#include "otelc/otelc.h"

/* Creates the RPC instruments in meter m (the provider's setup, on the shim's thread) and forgets whatever was
 * bound to a previous provider (a forked child's new one). */
void metrics_rpc_create(otelc_meter *m);

/* Records one event whose rpc_status is not 0 (on the shim's thread). */
void metrics_rpc_record(const sniff_event *ev);

/* The rpc.response.status_code value of a grpc-status code 0..16 ("OK" ... "UNAUTHENTICATED"), NULL beyond. */
const char *metrics_rpc_status_name(int code);

/* Is a grpc-status code an error for a server (error.type set)? */
bool metrics_rpc_status_is_error(int code);

#endif
