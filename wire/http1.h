/* http1.h — HTTP/1.x on the wire: an incremental parser for request and response streams, and the writers of
 * message heads and chunked bodies.
 *
 * The parser serves three users: the HTTP/1.1 server driver (server/h1_driver.c), the HTTP/1.1 client
 * (http1_client.c) and the LD_PRELOAD shim, which watches the traffic of unmodified servers one read()/write()
 * at a time. So it is built like llhttp: the caller feeds bytes in any split (one byte at a time works), the
 * parser calls back with what it found, and it keeps only a small bounded state:
 *   - no allocation at all: the one buffer it uses is a caller-provided window (default 8 KiB) that holds the
 *     current line (start line, header line, chunk-size line, trailer line) only when that line is split across
 *     two feeds; a line that arrives whole is handed to the callbacks straight from the caller's bytes;
 *   - bodies are never buffered: on_body gets slices of the caller's bytes (chunked bodies de-chunked);
 *   - several messages in one feed (pipelining) are parsed one after the other.
 * Pointers given to callbacks are valid only during the callback.
 *
 * Choices, with the RFC 9112 / 9110 rule they follow:
 *   - Line ends: CRLF; a bare LF is accepted as a line end (RFC 9112 §2.2 MAY), unless strict_crlf is set. A bare
 *     CR anywhere in the head is an error. Empty lines (CR, LF) before a start line are skipped (§2.2 SHOULD
 *     ignore), counted against max_head_bytes so that an endless stream of them still ends in an error.
 *   - Request line: method SP request-target SP HTTP-version, exactly one SP between parts. The method is a
 *     token; the target is origin-form ("/..."), "*", absolute-form ("scheme://...") or, for CONNECT only,
 *     authority-form; bytes 0x21-0x7E and 0x80-0xFF are accepted in it (nginx accepts raw UTF-8 paths).
 *   - Status line: HTTP-version SP 3DIGIT [SP reason]; the SP before an empty reason may be missing.
 *   - Versions: HTTP/1.0 and HTTP/1.1; HTTP/1.2..1.9 are treated as 1.1 (§2.3); any other major version is
 *     WIRE_E_UNSUPPORTED (505 for requests).
 *   - Header lines: token ":" OWS value OWS. Whitespace before the colon is an error (§5.1 MUST reject), so is
 *     a line starting with SP/HTAB (obsolete line folding, §5.2: rejected, not unfolded) and any control
 *     character other than HTAB in a value (NUL, CR, DEL, ...). Bytes 0x80-0xFF (obs-text) are accepted.
 *   - Content-Length: 1*DIGIT, at most 2^63-1. A list of identical values ("5, 5") and repeated identical
 *     headers are accepted (RFC 9110 §8.6); differing values, empty values, signs or other bytes are errors.
 *   - Transfer-Encoding: the codings of every Transfer-Encoding line in order. chunked is de-chunked; other
 *     codings are passed through. Requests: the codings must be exactly "chunked" (anything else: 501
 *     WIRE_E_UNSUPPORTED), TE together with Content-Length is rejected as request smuggling (§6.3 rule 3, 400),
 *     and TE in an HTTP/1.0 request is rejected (§6.1). Responses: chunked must be the final coding, else the
 *     body runs to the connection close; TE overrides Content-Length and the connection is then not reused;
 *     chunked applied twice is an error in both.
 *   - Chunks: 1*HEXDIG [BWS] *(";" extension) CRLF; extensions are checked for control bytes and skipped; a
 *     size above 2^63-1 or without hex digits is an error. Trailer fields follow the header rules and limits
 *     and go to on_trailer.
 *   - Messages without body: 1xx, 204 and 304 responses, responses for which on_headers_complete returns
 *     WIRE_H1_SKIP_BODY (HEAD), CONNECT requests, requests without Content-Length or Transfer-Encoding.
 *   - 1xx interim responses (100 Continue, 103 Early Hints) are complete messages of their own; the next
 *     message in the stream is the real response. 101 Switching Protocols ends HTTP on the connection.
 *   - Response bodies with neither length nor chunked run to the connection close: wire_h1_finish() completes
 *     them (and the connection is not reusable).
 *   - Keep-alive (wire_h1_keep_alive): HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
 *     "Connection: keep-alive" (and no close); never for close-delimited bodies or TE+CL responses.
 *   - Upgrade: a request with "Connection: upgrade" and an Upgrade header, a CONNECT request, a 101 response,
 *     or a response for which on_headers_complete returned WIRE_H1_TUNNEL (2xx to CONNECT) is reported by
 *     wire_h1_upgraded() after its message completes, and parsing stops there: the following bytes belong to
 *     another protocol and wire_h1_parse() consumes none of them. A server that refuses the upgrade calls
 *     wire_h1_resume() and feeds the rest as HTTP.
 *   - Limits: each line must fit in the window (WIRE_E_LIMIT, 414 for the request line), the head (start line
 *     and header lines, CRLFs included) in max_head_bytes (default 64 KiB) and at most max_headers (default 100)
 *     fields; the same limits apply to the trailer section (counted on their own). A message's errors do not
 *     depend on how the bytes were split: the same input gives the same error at the same offset.
 *   - Errors are sticky: after one, every call returns it again. Messages name the problem and the stream offset
 *     of the offending byte ("http1: space before colon in header name at offset 42"), never header values.
 *     wire_h1_error_status() suggests the status a server should answer (400, 414, 431, 501, 505). */
#ifndef OTELC_WIRE_HTTP1_H
#define OTELC_WIRE_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire/buf.h"
#include "wire/err.h"
#include "wire/http.h"

typedef enum wire_h1_kind { WIRE_H1_REQUEST = 0, WIRE_H1_RESPONSE = 1 } wire_h1_kind;

/* Return values of callbacks besides 0 (go on) and negative (stop with an error). */
enum {
  WIRE_H1_SKIP_BODY = 1, /* on_headers_complete: this message has no body (the response to a HEAD request) */
  WIRE_H1_TUNNEL = 2,    /* on_headers_complete: no body, and what follows is not HTTP (2xx answer to CONNECT) */
  WIRE_H1_PAUSE = 1,     /* on_message_complete: return from wire_h1_parse() right after this message */
};

#define WIRE_H1_DEFAULT_WINDOW 8192

typedef struct wire_h1_parser wire_h1_parser;

/* Every callback may be NULL. `version` is 10 or 11. A negative return stops parsing with an error
 * ("http1: stopped by the on_header callback at offset N"); the caller keeps its own reason. */
typedef struct wire_h1_callbacks {
  int (*on_message_begin)(wire_h1_parser *p); /* first byte of a start line */
  int (*on_request_line)(wire_h1_parser *p, const char *method, size_t method_len, const char *target,
                         size_t target_len, int version);
  int (*on_status_line)(wire_h1_parser *p, int version, int status, const char *reason, size_t reason_len);
  /* name as received (not lower-cased), value without surrounding whitespace */
  int (*on_header)(wire_h1_parser *p, const char *name, size_t name_len, const char *value, size_t value_len);
  /* Framing is known here: wire_h1_content_length, wire_h1_chunked, wire_h1_keep_alive, ... */
  int (*on_headers_complete)(wire_h1_parser *p);
  int (*on_body)(wire_h1_parser *p, const uint8_t *data, size_t len);
  int (*on_trailer)(wire_h1_parser *p, const char *name, size_t name_len, const char *value, size_t value_len);
  int (*on_message_complete)(wire_h1_parser *p);
} wire_h1_callbacks;

typedef struct wire_h1_config {
  wire_h1_kind kind;
  size_t max_head_bytes; /* start line + header lines; also the trailer section. 0: 64 KiB */
  size_t max_headers;    /* header fields per message; also trailer fields. 0: 100 */
  bool strict_crlf;      /* reject a bare LF as line end (default: accept it) */
} wire_h1_config;

/* The parser's state. Embed it or allocate it; read it only through the functions below. */
struct wire_h1_parser {
  const wire_h1_callbacks *cb;
  void *user; /* for the callbacks */
  wire_h1_config cfg;
  char *win;  /* the line window (caller's memory) */
  size_t win_cap, win_len;
  uint64_t offset;     /* stream offset of the next byte to be fed */
  uint64_t line_start; /* stream offset of the first byte of the current line */
  uint64_t remaining;  /* body bytes left in the current Content-Length body or chunk */
  int64_t content_length;
  size_t head_bytes, nfields;
  uint32_t flags;
  uint16_t status;
  uint8_t state;
  uint8_t version;
  uint8_t te_chunked_count;
  uint16_t error_status;
  uint64_t error_offset;
  wire_err err;
};

/* Prepares p for a new stream. window/window_cap: memory for one line (at least 64 bytes; typically
 * WIRE_H1_DEFAULT_WINDOW). The parser never allocates. */
void wire_h1_parser_init(wire_h1_parser *p, const wire_h1_config *cfg, const wire_h1_callbacks *cb, void *user,
                         char *window, size_t window_cap);
/* Convenience: one allocation holding the parser and a window of window_cap bytes (0: 8 KiB); free() it. */
wire_h1_parser *wire_h1_parser_new(const wire_h1_config *cfg, const wire_h1_callbacks *cb, void *user,
                                   size_t window_cap);
/* Back to the start of a stream (same config, callbacks, window). */
void wire_h1_parser_reset(wire_h1_parser *p);

/* Feeds the next bytes of the stream. Returns how many were consumed: len, or fewer when on_message_complete
 * returned WIRE_H1_PAUSE or the connection switched protocols (wire_h1_upgraded); feed the rest later. Returns
 * -1 on malformed input, a broken limit or a callback's refusal (err filled; errors are sticky). */
ssize_t wire_h1_parse(wire_h1_parser *p, const uint8_t *data, size_t len, wire_err *err);
/* The stream ended (peer closed). Completes a body delimited by the close; returns 0 when the stream ended
 * between messages (or after an upgrade), -1 (WIRE_E_IO) when it ended inside a message. */
int wire_h1_finish(wire_h1_parser *p, wire_err *err);
/* After an upgrade stop: treat what follows as HTTP again (the server refused the upgrade). */
void wire_h1_resume(wire_h1_parser *p);

/* --- state of the current message (valid from the start-line callback / on_headers_complete on) --- */
int wire_h1_version(const wire_h1_parser *p);   /* 10 or 11 */
int wire_h1_status(const wire_h1_parser *p);    /* responses */
int64_t wire_h1_content_length(const wire_h1_parser *p); /* -1: none (or overridden by Transfer-Encoding) */
bool wire_h1_chunked(const wire_h1_parser *p);
bool wire_h1_keep_alive(const wire_h1_parser *p);
bool wire_h1_expect_continue(const wire_h1_parser *p); /* request with "Expect: 100-continue" (HTTP/1.1) */
bool wire_h1_body_until_close(const wire_h1_parser *p); /* response body delimited by the connection close */
bool wire_h1_upgraded(const wire_h1_parser *p);  /* parsing stopped: the connection switched protocols */
bool wire_h1_in_message(const wire_h1_parser *p); /* some bytes of a message were seen, it is not complete */
/* Status a server should answer to the last error: 400, 414, 431, 501 or 505 (0: no error). */
int wire_h1_error_status(const wire_h1_parser *p);
uint64_t wire_h1_error_offset(const wire_h1_parser *p);

/* --- writers --- */

#define WIRE_H1_NO_BODY_LENGTH (-1) /* write no framing header (no body, or a close-delimited one) */
#define WIRE_H1_CHUNKED_BODY (-2)   /* write "transfer-encoding: chunked" */

/* Appends "METHOD target HTTP/1.1", "host: <host>" (when host != NULL; a Host in headers is then dropped), the
 * headers (Content-Length and Transfer-Encoding in them are dropped: body_length decides) and the framing:
 * "content-length: N" for body_length >= 0, chunked for WIRE_H1_CHUNKED_BODY, then the empty line. Fails with
 * WIRE_E_INVALID on a method that is not a token, a target or value with control bytes, a bad header name. */
int wire_h1_write_request_head(wire_buf *out, const char *method, const char *target, const char *host,
                               const wire_headers *headers, int64_t body_length, wire_err *err);
/* Appends the status line (version 10 or 11, reason from wire_http_reason), the headers (minus Content-Length,
 * Transfer-Encoding and Connection), the framing as above (none for 1xx, 204 and 304), "connection: close"
 * when close, or "connection: keep-alive" for a kept HTTP/1.0 connection, and the empty line. */
int wire_h1_write_response_head(wire_buf *out, int version, int status, const wire_headers *headers,
                                int64_t body_length, bool close, wire_err *err);
/* Appends one header line after checking name and value ("x-a: b\r\n"). */
int wire_h1_write_header(wire_buf *out, const char *name, size_t name_len, const char *value, size_t value_len,
                         wire_err *err);
/* Appends one chunk of a chunked body (nothing for len == 0: an empty chunk would end the body). */
int wire_h1_write_chunk(wire_buf *out, const void *data, size_t len, wire_err *err);
/* Appends the last chunk, the trailer fields (may be NULL) and the final empty line. */
int wire_h1_write_last_chunk(wire_buf *out, const wire_headers *trailers, wire_err *err);

#endif
