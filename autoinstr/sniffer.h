/* sniffer.h — the preload shim's view of one accepted connection: it watches the bytes the server reads (the
 * requests) and writes (the responses) one call at a time, with two incremental HTTP/1 parsers from the wire
 * layer (wire/http1.h), and reports each finished request/response exchange as one sniff_event.
 *
 * What it understands: request line, headers, Content-Length and chunked bodies in both directions, keep-alive
 * and pipelined requests (up to SNIFF_MAX_PENDING answered in order), Expect: 100-continue and other 1xx interim
 * responses, HEAD and 1xx/204/304 responses without body, close-delimited response bodies (finished by close or
 * shutdown), HTTP/1.0. An Upgrade request answered 101 and a CONNECT request end the watching (the bytes that
 * follow are another protocol). A connection that starts with the HTTP/2 preface, or with anything the parsers
 * reject, is left alone from then on: the sniffer stops and never affects the connection itself.
 *
 * TLS: a connection whose first byte read is a TLS handshake record waits for plaintext through
 * sniff_read_tls()/sniff_write_tls() (the shim's SSL_read/SSL_write hooks); raw bytes are ignored from then on.
 *
 * Fast path: at a message boundary, a head that arrives whole in one read or write and has the common simple
 * shape (CRLF lines, HTTP/1.0 or 1.1, origin-form target, at most one plain Content-Length, no
 * Transfer-Encoding or Upgrade, a final status) is read by the light scanner of h1scan.h, which extracts only
 * the metric fields; its Content-Length body is then counted without a parser. Everything else goes to the
 * wire parsers, which stay the authority (see h1scan.h for why this is not a second HTTP parser).
 *
 * Timing: a request starts when its first byte is read and ends when the last byte of its final response is
 * written. Every function takes `now_ns` (a monotonic timestamp) from the caller, so the machine is testable
 * without clocks; timestamps are only subtracted, so their unit is the caller's (nanoseconds in the tests, the
 * shim's clock unit in the shim: clock.h), and so is a duration's. A caller that passes SNIFF_CLOCK instead has the time read from the sink's clock only when an
 * exchange starts or ends (two clock reads per exchange, none for the calls in between). Memory is the struct
 * itself (two small line windows); nothing allocates, locks or makes a system call, so the sniffer is safe
 * wherever the host does I/O. One thread at a time per connection (the shim guarantees it). */
#ifndef OTELC_AUTOINSTR_SNIFFER_H
#define OTELC_AUTOINSTR_SNIFFER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "autoinstr/layout.h"
#include "autoinstr/routes.h"
#include "wire/http1.h"


#define SNIFF_MAX_PENDING 8        /* requests read but not yet answered (pipelining depth) */
#define SNIFF_REQ_WINDOW 2048      /* longest request line/header line that may arrive split across reads */
#define SNIFF_RESP_WINDOW 1024     /* the same for response lines */

/* http.request.method values: the methods of RFC 9110 and PATCH; anything else is _OTHER. */
typedef enum sniff_method {
  SNIFF_GET = 0,
  SNIFF_HEAD,
  SNIFF_POST,
  SNIFF_PUT,
  SNIFF_DELETE,
  SNIFF_CONNECT,
  SNIFF_OPTIONS,
  SNIFF_TRACE,
  SNIFF_PATCH,
  SNIFF_OTHER,
  SNIFF_METHOD_COUNT
} sniff_method;

/* error.type for exchanges that did not end with a complete response (status >= 500 is reported as the
 * status code by the metrics layer, not here). */
typedef enum sniff_error {
  SNIFF_ERR_NONE = 0,
  SNIFF_ERR_REQUEST_ABORTED,    /* "request_aborted": the peer closed before sending the whole request */
  SNIFF_ERR_REQUEST_INCOMPLETE, /* "request_incomplete": the server closed before the whole request arrived */
  SNIFF_ERR_RESPONSE_INCOMPLETE,/* "response_incomplete": closed before the whole response was written */
  SNIFF_ERR_COUNT
} sniff_error;

typedef enum sniff_scheme { SNIFF_HTTP = 0, SNIFF_HTTPS = 1 } sniff_scheme;

/* One finished exchange. */
typedef struct sniff_event {
  int64_t duration;      /* first request byte read -> last response byte written (or the close), in the
                          * timestamps' unit (see Timing above) */
  uint64_t req_body;     /* request body bytes (de-chunked) */
  uint64_t resp_body;    /* response body bytes (de-chunked; 0 for HEAD, 1xx, 204, 304) */
  uint16_t status;       /* final status, 0 when no response was written */
  uint16_t port;         /* server.port, 0 for Unix sockets */
  uint8_t method;        /* sniff_method */
  uint8_t version;       /* 10, 11, or 20 (HTTP/2, sniffer_h2.h) */
  uint8_t scheme;        /* sniff_scheme */
  uint8_t error;         /* sniff_error */
  int16_t route;         /* index in the route table, -1 for none */
  uint8_t port_slot;     /* the caller's port index (passed to sniff_init), for active-request counters */
  uint8_t rpc_status;    /* gRPC (sniffer_h2.h): 0 not a gRPC call, SNIFF_RPC_NO_STATUS, or SNIFF_RPC_STATUS + code */
  uint16_t rpc_method;   /* gRPC: index in the process's method table (sniff_rpc_method_name), 0 for _OTHER */
} sniff_event;
/* Copied into the event ring per request: the gRPC fields live in what was padding. */
_Static_assert(sizeof(sniff_event) == 40, "sniff_event must stay 40 bytes");

/* Where the sniffer reports. All may be called from any thread that does I/O on a watched connection. */
typedef struct sniff_sink {
  void (*exchange_done)(void *user, const sniff_event *ev);
  /* An HTTP/2 stream's request started (+1, its method is known) or ended (-1, with or without an event).
   * HTTP/1 requests are counted in their connection instead (sniff_conn.open). */
  void (*active)(void *user, uint8_t method, uint8_t scheme, uint8_t port_slot, int delta);
  void *user;
  /* A monotonic timestamp, read when a function was given SNIFF_CLOCK and a time is needed. NULL: 0. */
  int64_t (*clock)(void *user);
  /* An HTTP/1 request of `method` began on a connection that had none of that method before: once per method
   * per connection, so that the sink knows the series exists (its count lives in the connection). May be NULL. */
  void (*method_seen)(void *user, uint8_t method, uint8_t scheme, uint8_t port_slot);
} sniff_sink;

/* Pass as now_ns: "read the sink's clock if this call starts or ends an exchange". */
#define SNIFF_CLOCK INT64_MIN

typedef enum sniff_mode {
  SNIFF_MODE_NEW = 0,   /* nothing read yet */
  SNIFF_MODE_HTTP1,     /* watching HTTP/1 */
  SNIFF_MODE_TLS,       /* TLS seen: raw bytes ignored, plaintext comes through the TLS hooks */
  SNIFF_MODE_OFF,       /* stopped: HTTP/2, an upgrade, CONNECT, something not understood */
  SNIFF_MODE_H2,        /* HTTP/2: every call goes to sniffer_h2.h (c->h2) */
} sniff_mode;

/* Why a connection stopped being watched (for tests and the shim's own counters). */
typedef enum sniff_stop {
  SNIFF_STOP_NONE = 0,
  SNIFF_STOP_HTTP2,       /* the HTTP/2 connection preface */
  SNIFF_STOP_UPGRADE,     /* 101 Switching Protocols */
  SNIFF_STOP_CONNECT,     /* a CONNECT request */
  SNIFF_STOP_PARSE,       /* a parser refused the bytes (not HTTP/1, or malformed) */
  SNIFF_STOP_UNEXPECTED,  /* a response without request, too many pipelined requests */
  SNIFF_STOP_LOST,        /* the shim lost bytes (two threads at once on one connection) */
} sniff_stop;

/* sniff_conn.open, the connection's open HTTP/1 requests for http.server.active_requests: a 4-bit count per
 * method (at most SNIFF_MAX_PENDING are open), a bit per method the sink was told of (method_seen), the scheme
 * and the port slot they count under. The thread inside the connection's sniffer is its only writer and updates
 * it with a plain load and store, on a line that every call touches anyway: no locked instruction and no shared
 * line per request, where one global counter per series cost both (docs/performance.md). Another thread reads
 * it with sniff_open_word and the accessors below. */
#define SNIFF_OPEN_COUNT_BITS 4
#define SNIFF_OPEN_SEEN_SHIFT 40
#define SNIFF_OPEN_SCHEME_SHIFT 50
#define SNIFF_OPEN_SLOT_SHIFT 56
_Static_assert(SNIFF_METHOD_COUNT * SNIFF_OPEN_COUNT_BITS <= SNIFF_OPEN_SEEN_SHIFT, "a count per method");
_Static_assert(SNIFF_OPEN_SEEN_SHIFT + SNIFF_METHOD_COUNT <= SNIFF_OPEN_SCHEME_SHIFT, "a seen bit per method");
_Static_assert(SNIFF_MAX_PENDING < (1 << SNIFF_OPEN_COUNT_BITS), "a method's count fits its bits");

static inline unsigned sniff_open_count(uint64_t word, int method) {
  return (unsigned)(word >> (method * SNIFF_OPEN_COUNT_BITS)) & ((1u << SNIFF_OPEN_COUNT_BITS) - 1);
}
static inline uint8_t sniff_open_scheme(uint64_t word) { return (uint8_t)((word >> SNIFF_OPEN_SCHEME_SHIFT) & 1); }
static inline uint8_t sniff_open_port_slot(uint64_t word) { return (uint8_t)(word >> SNIFF_OPEN_SLOT_SHIFT); }

typedef struct sniff_req {
  int64_t t0;
  uint64_t body;
  int16_t route;
  uint8_t method, version;
  bool complete; /* the request message was read to its end */
  bool counted;  /* counted in active requests */
} sniff_req;

/* Field order: what a whole-head exchange on the fast path reads and writes comes first, in the shim two cache
 * lines (preload_conn puts 8 bytes before it, fdtable.h): the flags, the sink, the time and the fast path's body
 * counters, then the sequence numbers, the open-request word and the first request slot — the request ring
 * restarts at slot 0 each time it empties, so a connection without pipelining only ever uses q[0]. The other slots, the wire parsers and
 * their line windows, touched only for pipelined requests and heads the fast path leaves to the parsers, last. */
typedef struct sniff_conn {
  uint8_t mode;       /* sniff_mode */
  uint8_t scheme;     /* sniff_scheme */
  uint8_t preface;    /* bytes of the HTTP/2 preface matched so far at the start of the stream */
  uint8_t stop;       /* sniff_stop */
  uint8_t port_slot;
  bool req_open;      /* a request message has begun and is not complete */
  bool peer_eof;      /* the peer closed its side (read returned 0 or a reset) */
  bool upgrade_asked; /* the request parser stopped after an Upgrade request; waiting for the answer */
  bool resp_stop;     /* set inside a response callback: stop after this feed */
  bool req_lost;      /* request bytes were discarded unseen: no new request is followed */
  bool fast_off;      /* never use the fast path (sniff_set_fast_path; tests and the fuzzer compare both) */
  /* wire_h1_in_message() of req and resp as of the last wire call on each, so the fast path can tell the
   * parser is idle without calling into the wire layer. */
  bool req_in_msg, resp_in_msg;
  bool has_routes;    /* routes has templates: only then does a request read the table (a line further on) */
  uint16_t port;
  uint16_t status;
  const sniff_sink *sink;
  int64_t now;
  /* Body bytes still to come in a Content-Length body the fast path is counting (its wire parser then sits
   * idle between messages). */
  uint64_t req_left, resp_left;
  /* second line. Sequence numbers are 32 bits and compared modulo 2^32 (at most SNIFF_MAX_PENDING apart); they
   * start again at 0 whenever nothing is open. */
  uint32_t req_seq;   /* sequence number of the next request to begin */
  uint32_t resp_seq;  /* sequence number of the request the next final response answers */
  uint32_t cur_req;   /* sequence number of the request being read (valid when req_open) */
  uint64_t resp_body;
  _Atomic uint64_t open; /* open HTTP/1 requests, read by other threads (SNIFF_OPEN_*, above) */
  sniff_req q[SNIFF_MAX_PENDING];
  const preload_routes *routes;
  struct sniff_h2 *h2; /* SNIFF_MODE_H2: the HTTP/2 state (sniffer_h2.h), mapped while the mode lasts */
  wire_h1_parser req, resp;
  char req_win[SNIFF_REQ_WINDOW];
  char resp_win[SNIFF_RESP_WINDOW];
} sniff_conn;

/* Prepares c for a newly accepted connection on server port `port` (0: Unix socket). port_slot is echoed in
 * events and active-request notifications. routes may be NULL (no http.route). */
void sniff_init(sniff_conn *c, const sniff_sink *sink, const preload_routes *routes, uint16_t port,
                uint8_t port_slot);

/* Bytes the server read from the socket (read/recv/readv/recvmsg...). len 0 means the peer closed. */
void sniff_read(sniff_conn *c, const uint8_t *data, size_t len, int64_t now_ns);
/* Bytes the server wrote to the socket. */
void sniff_write(sniff_conn *c, const uint8_t *data, size_t len, int64_t now_ns);
/* `len` bytes written whose content the shim cannot see (sendfile): accepted only inside a response body. */
void sniff_write_opaque(sniff_conn *c, uint64_t len, int64_t now_ns);
/* The server read and threw away bytes it did not look at (recv with MSG_TRUNC, typically while draining a
 * connection it is closing): requests are no longer followed, but the exchanges already open still end
 * normally (their responses, the close). */
void sniff_read_discarded(sniff_conn *c);
/* The peer reset the connection or read returned 0 (same as sniff_read with len 0). */
void sniff_peer_closed(sniff_conn *c, int64_t now_ns);
/* Plaintext read/written through TLS (SSL_read/SSL_write on this connection): url.scheme becomes https. */
void sniff_read_tls(sniff_conn *c, const uint8_t *data, size_t len, int64_t now_ns);
void sniff_write_tls(sniff_conn *c, const uint8_t *data, size_t len, int64_t now_ns);
/* The server shut down its sending side: a close-delimited response body is complete. */
void sniff_shutdown_write(sniff_conn *c, int64_t now_ns);
/* The server closed the connection: finishes a close-delimited body, reports every exchange still open with
 * its error.type, and leaves the connection stopped. */
void sniff_close(sniff_conn *c, int64_t now_ns);
/* Stops watching: open requests leave the active count without an event. */
void sniff_stop_now(sniff_conn *c, sniff_stop why);

/* c's open HTTP/1 requests (SNIFF_OPEN_*), as another thread may read them while c is in use. */
static inline uint64_t sniff_open_word(const sniff_conn *c) {
  return atomic_load_explicit(&((sniff_conn *)c)->open, memory_order_relaxed);
}

/* Turns the fast path (h1scan.h) off or on for c (on after sniff_init; change it before the first byte).
 * Results are the same either way for heads the wire parser accepts; for tests and the fuzzer, which check
 * exactly that. */
static inline void sniff_set_fast_path(sniff_conn *c, bool on) { c->fast_off = !on; }

/* True while the connection is still watched (not stopped). */
static inline bool sniff_watching(const sniff_conn *c) { return c->mode != SNIFF_MODE_OFF; }

/* Attribute values. */
const char *sniff_method_name(int method);  /* "GET" ... "_OTHER" */
const char *sniff_error_name(int error);    /* "request_aborted" ..., NULL for none */
/* The sniff_method of a method token. */
int sniff_method_of(const char *m, size_t n);

#endif
