// fuzz-links: autoinstr
/* fuzz_http_sniffer.c — libFuzzer target for the preload shim's HTTP sniffer (autoinstr/sniffer.h).
 *
 * Input: a script of records, each an op byte, a length byte n and (for data ops) n bytes:
 *   op % 8: 0 read, 1 write, 2 read through TLS, 3 write through TLS, 4 opaque write of n*37 bytes (sendfile,
 *   no data), 5 peer closed, 6 shutdown of the sending side, 7 bytes discarded (recv MSG_TRUNC).
 * The connection is closed at the end. Invariants (trap otherwise): after every operation, the connection's
 * open-request word (sniffer.h) holds at most SNIFF_MAX_PENDING requests in all, no method's count has wrapped,
 * and every method counted was told to the sink (method_seen); after the close it counts none, and the HTTP/2
 * streams' active() sum is back at 0; statuses are three digits; durations are never negative; nothing reads
 * outside the input (ASan).
 *
 * Every script runs twice, with the sniffer's fast path (autoinstr/h1scan.h) and without it. Unless the wire
 * parser refused something (the fast path does not validate, so it may go on where the parser stops), both
 * runs must report the same exchanges, field for field, in the same order. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autoinstr/sniffer.h"

typedef struct fuzz_acc {
  unsigned seen;  /* methods told through method_seen, a bit each */
  long h2_active; /* the HTTP/2 streams' active() sum */
  long events;
  uint64_t hash; /* of every reported exchange, in order */
} fuzz_acc;

static void mix(uint64_t *h, uint64_t v) { *h = (*h ^ v) * 0x100000001b3ull; }

static void on_done(void *user, const sniff_event *ev) {
  fuzz_acc *a = user;
  a->events++;
  mix(&a->hash, (uint64_t)ev->duration);
  mix(&a->hash, ev->req_body);
  mix(&a->hash, ev->resp_body);
  mix(&a->hash, (uint64_t)ev->status << 32 | (uint64_t)ev->method << 24 | (uint64_t)ev->version << 16 |
                    (uint64_t)ev->error << 8 | ev->scheme);
  mix(&a->hash, (uint64_t)(uint16_t)ev->route);
  if (ev->status != 0 && (ev->status < 100 || ev->status > 999)) __builtin_trap();
  if (ev->duration < 0) __builtin_trap();
  if (ev->method >= SNIFF_METHOD_COUNT || ev->error >= SNIFF_ERR_COUNT) __builtin_trap();
}

static void on_active(void *user, uint8_t method, uint8_t scheme, uint8_t port_slot, int delta) {
  fuzz_acc *a = user; /* HTTP/2 streams (a script that starts with the preface) */
  a->h2_active += delta;
  if (a->h2_active < 0) __builtin_trap();
}

static void on_seen(void *user, uint8_t method, uint8_t scheme, uint8_t port_slot) {
  fuzz_acc *a = user;
  if (method >= SNIFF_METHOD_COUNT || (a->seen & (1u << method))) __builtin_trap(); /* once per method */
  a->seen |= 1u << method;
}

/* The open-request word's invariants (top comment); returns the requests open. */
static unsigned check_open(const sniff_conn *conn, const fuzz_acc *acc) {
  uint64_t w = sniff_open_word(conn);
  unsigned total = 0;
  for (int m = 0; m < SNIFF_METHOD_COUNT; m++) {
    unsigned n = sniff_open_count(w, m);
    if (n > SNIFF_MAX_PENDING) __builtin_trap(); /* a count wrapped below zero */
    if (n && !(acc->seen & (1u << m))) __builtin_trap();
    total += n;
  }
  if (total > SNIFF_MAX_PENDING || sniff_open_port_slot(w) != 1) __builtin_trap();
  return total;
}

/* Runs the script on conn; returns the reason the connection stopped being watched first. */
static int run(sniff_conn *conn, const preload_routes *routes, bool fast, const uint8_t *data, size_t size,
               fuzz_acc *acc) {
  sniff_sink sink = {on_done, on_active, acc, NULL, on_seen};
  sniff_init(conn, &sink, routes, 80, 1);
  sniff_set_fast_path(conn, fast);
  int64_t now = 0;
  size_t i = 0;
  while (i + 2 <= size) {
    uint8_t op = data[i] & 7, n = data[i + 1];
    i += 2;
    now += 1000;
    size_t take = n <= size - i ? n : size - i;
    switch (op) {
    case 0: sniff_read(conn, data + i, take, now); i += take; break;
    case 1: sniff_write(conn, data + i, take, now); i += take; break;
    case 2: sniff_read_tls(conn, data + i, take, now); i += take; break;
    case 3: sniff_write_tls(conn, data + i, take, now); i += take; break;
    case 4: sniff_write_opaque(conn, (uint64_t)n * 37, now); break;
    case 5: sniff_peer_closed(conn, now); break;
    case 6: sniff_shutdown_write(conn, now); break;
    default: sniff_read_discarded(conn); break;
    }
    check_open(conn, acc);
  }
  sniff_close(conn, now + 1);
  if (check_open(conn, acc) != 0 || acc->h2_active != 0) __builtin_trap();
  if (sniff_watching(conn)) __builtin_trap();
  return conn->stop;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static sniff_conn conn;
  static preload_routes routes;
  static int routes_ready;
  if (!routes_ready) {
    preload_routes_compile(&routes, "/users/{id},/static/*,/");
    routes_ready = 1;
  }
  fuzz_acc fast = {0}, slow = {0};
  int stop_fast = run(&conn, &routes, true, data, size, &fast);
  int stop_slow = run(&conn, &routes, false, data, size, &slow);
  if (stop_slow != SNIFF_STOP_PARSE && stop_fast != SNIFF_STOP_PARSE) {
    if (fast.events != slow.events || fast.hash != slow.hash || fast.seen != slow.seen) __builtin_trap();
  }
  return 0;
}
