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
 * mmap/munmap above), one thread at a time per connection. */
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

#endif
