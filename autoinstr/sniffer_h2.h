/* sniffer_h2.h — the preload shim's view of an HTTP/2 connection (h2c with prior knowledge, or h2 over TLS
 * through the SSL_read/SSL_write hooks), gRPC included: the HTTP/1 sniffer (sniffer.c) hands a connection over
 * here when it sees the client's connection preface, or when the server's first write is an HTTP/2 SETTINGS
 * frame (nghttp2-based servers such as node's speak first; the client's preface must then follow).
 *
 * Both directions are followed frame by frame without buffering payloads: DATA bytes are counted per stream,
 * header blocks (HEADERS, CONTINUATION, PUSH_PROMISE) go to nghttp2's HPACK inflater — one per direction, so
 * that the dynamic tables stay in step — fragment by fragment as they arrive. From the request headers come
 * :method and :path (matched against the route templates; the path itself is never kept), from the response
 * :status (1xx are interim) and, in trailers or a trailers-only response, grpc-status. A stream's exchange ends
 * with the END_STREAM of its response (an event with network.protocol.version 2), with RST_STREAM or with the
 * connection's end (an event with error.type, as for HTTP/1). SETTINGS_HEADER_TABLE_SIZE from either side
 * resizes the other side's inflater (capped at SNIFF_H2_TABLE_MAX).
 *
 * Memory is bounded: one mapping of sizeof(sniff_h2) per HTTP/2 connection (mmap when it is recognised, munmap
 * when it ends; nothing else on the host's path allocates), at most SNIFF_H2_STREAMS streams followed at once
 * (others are not measured), and the inflaters allocate from a buddy allocator inside the mapping. Anything
 * that does not fit or does not parse — a frame out of order, an HPACK error, a header field or dynamic table
 * beyond the arena — stops the watching of the connection (open streams leave the active count without an
 * event), never the connection itself. Like sniffer.c: no lock, no system call but the clock (and the
 * mmap/munmap above), one thread at a time per connection.
 *
 * gRPC calls (below) are reported with their status and a bounded method for the RPC metrics (metrics_rpc.h). */
#ifndef OTELC_AUTOINSTR_SNIFFER_H2_H
#define OTELC_AUTOINSTR_SNIFFER_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "autoinstr/sniffer.h"

#define SNIFF_H2_STREAMS 64           /* streams followed at once per connection (a power of two) */
#define SNIFF_H2_ARENA_ORDER 17       /* the inflaters' arena: 128 KiB per connection */
#define SNIFF_H2_TABLE_MAX 16384      /* largest HPACK dynamic table followed, per direction */

typedef struct sniff_h2 sniff_h2;

/* The client's preface has just been read in full (c is in SNIFF_MODE_HTTP1, nothing else read yet); rest/len
 * are the bytes of the same read that follow it. Maps the HTTP/2 state and puts c in SNIFF_MODE_H2. False when
 * the mapping fails (the caller then stops watching c). */
bool sniff_h2_begin(sniff_conn *c, const uint8_t *rest, size_t len, int64_t now_ns);

/* The server wrote first on a new connection (tls: through SSL_write). If data starts with an HTTP/2 SETTINGS
 * frame, maps the state, puts c in SNIFF_MODE_H2 expecting the client's preface, follows data and returns
 * true; otherwise returns false and changes nothing. */
bool sniff_h2_begin_server_first(sniff_conn *c, const uint8_t *data, size_t len, bool tls, int64_t now_ns);

/* Bytes of a connection in SNIFF_MODE_H2: read (from the client) or written, raw (tls false) or through the
 * TLS hooks (tls true); bytes of the other kind are ignored (ciphertext under SSL_read/SSL_write). A read of 0
 * bytes is the peer's close. */
void sniff_h2_read(sniff_conn *c, const uint8_t *data, size_t len, bool tls, int64_t now_ns);
void sniff_h2_write(sniff_conn *c, const uint8_t *data, size_t len, bool tls, int64_t now_ns);
/* Bytes written unseen (sendfile): counted inside a DATA payload, else the watching stops. */
void sniff_h2_write_opaque(sniff_conn *c, uint64_t len, int64_t now_ns);
/* The peer closed or reset the connection. */
void sniff_h2_peer_closed(sniff_conn *c, int64_t now_ns);
/* The server closed the connection: every stream still open ends with its error.type; the state is unmapped
 * and c is stopped. */
void sniff_h2_close(sniff_conn *c, int64_t now_ns);
/* Stops watching (open streams leave the active count without an event), unmaps the state. */
void sniff_h2_stop(sniff_conn *c, sniff_stop why);

/* For tests: the grpc-status of the most recent exchange reported on c (-1: none, or not HTTP/2). */
int sniff_h2_last_grpc_status(const sniff_conn *c);

/* ---- gRPC calls ----
 * A stream is a gRPC call when its request has content-type application/grpc (or application/grpc+..., or with
 * parameters; not application/grpc-web) or its response carries grpc-status. Its event then has rpc_status set
 * (sniffer.h): SNIFF_RPC_STATUS + the grpc-status code (0..99; a longer or non-numeric value counts as none), or
 * SNIFF_RPC_NO_STATUS when none was written (a reset, a close, a response without grpc-status).
 *
 * The method (rpc.method) comes from the peer's :path, so it is bounded before it goes anywhere:
 *   - shape: only "/Service/Method" paths of at most SNIFF_RPC_METHOD_MAX bytes, where Service is one or more
 *     dot-separated identifiers and Method one identifier (identifiers: [A-Za-z_][A-Za-z0-9_]*); anything else
 *     (a query string, other characters, more segments) is never reported: the call's method is _OTHER;
 *   - recognised: a method enters the process's method table only when the server answered a call to it with a
 *     grpc-status other than UNIMPLEMENTED (12), the status gRPC servers give a method they do not serve: as the
 *     RPC conventions ask, rpc.method is the method's name only when the server recognised it, and a peer
 *     trying names cannot fill the table;
 *   - count: at most SNIFF_RPC_METHODS distinct methods per process; later ones are _OTHER.
 * How it reaches the recording thread: the table is process-wide, filled lock-free from the host's threads
 * (a slot is claimed with one compare-exchange, its name written, then published with a release store; readers
 * that find a slot not yet published simply miss it, nobody waits), and events carry only the slot's index
 * (rpc_method, 0 for _OTHER): no string crosses the event ring. A call whose method is not in the table yet
 * keeps its name in one of SNIFF_H2_RPC_PENDING small buffers of its connection until its status is known. */
#define SNIFF_RPC_METHOD_MAX 128   /* longest :path kept as a method, leading '/' included */
#define SNIFF_RPC_METHODS 128      /* distinct methods per process */
#define SNIFF_H2_RPC_PENDING 8     /* per connection: calls at once to methods not in the table yet */
#define SNIFF_RPC_NO_STATUS 1      /* sniff_event.rpc_status: gRPC, but no grpc-status was written */
#define SNIFF_RPC_STATUS 2         /* sniff_event.rpc_status: SNIFF_RPC_STATUS + grpc-status code */

/* The rpc.method value of a method-table index from an event ("pkg.Service/Method", no leading '/'), "_OTHER"
 * for 0 or an index not published. Any thread. */
const char *sniff_rpc_method_name(unsigned index);

/* The index of method `name` ("pkg.Service/Method" without the leading '/', n bytes, already of the right
 * shape), inserting it when `insert` and there is room: 0 when absent or no room. Lock-free, no allocation, no
 * system call: safe on the host's threads and in signal handlers. */
unsigned sniff_rpc_method_index(const char *name, size_t n, bool insert);

/* For tests: empties the method table (nothing else may use it meanwhile). */
void sniff_rpc_methods_reset(void);

#endif
