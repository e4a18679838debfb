// fuzz-links: autoinstr
/* fuzz_http_sniffer.c — libFuzzer target for the preload shim's HTTP sniffer (autoinstr/sniffer.h).
 *
 * Input: a script of records, each an op byte, a length byte n and (for data ops) n bytes:
 *   op % 8: 0 read, 1 write, 2 read through TLS, 3 write through TLS, 4 opaque write of n*37 bytes (sendfile,
 *   no data), 5 peer closed, 6 shutdown of the sending side, 7 bytes discarded (recv MSG_TRUNC).
 * The connection is closed at the end. Invariants (trap otherwise): every request counted active is uncounted
 * exactly once, so the active sum ends at 0; no more exchanges are reported than requests began; statuses are
 * three digits; durations are never negative; nothing reads outside the input (ASan).
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
  long active;
  long began;
  long events;
  uint64_t hash; /* of every reported exchange, in order */
} fuzz_acc;

static void mix(uint64_t *h, uint64_t v) { *h = (*h ^ v) * 0x100000001b3ull; }

static void on_done(void *user, const sniff_event *ev) {
  fuzz_acc *a = user;
  a->events++;
  mix(&a->hash, (uint64_t)ev->duration_ns);
  mix(&a->hash, ev->req_body);
  mix(&a->hash, ev->resp_body);
  mix(&a->hash, (uint64_t)ev->status << 32 | (uint64_t)ev->method << 24 | (uint64_t)ev->version << 16 |
                    (uint64_t)ev->error << 8 | ev->scheme);
  mix(&a->hash, (uint64_t)(uint16_t)ev->route);
  if (ev->status != 0 && (ev->status < 100 || ev->status > 999)) __builtin_trap();
  if (ev->duration_ns < 0) __builtin_trap();
  if (ev->method >= SNIFF_METHOD_COUNT || ev->error >= SNIFF_ERR_COUNT) __builtin_trap();
}

static void on_active(void *user, uint8_t method, uint8_t scheme, uint8_t port_slot, int delta) {
  fuzz_acc *a = user;
  a->active += delta;
  if (delta > 0) a->began++;
  if (a->active < 0) __builtin_trap();
}

/* Runs the script on conn; returns the reason the connection stopped being watched first. */
static int run(sniff_conn *conn, const preload_routes *routes, bool fast, const uint8_t *data, size_t size,
               fuzz_acc *acc) {
  sniff_sink sink = {on_done, on_active, acc, NULL};
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
  }
  sniff_close(conn, now + 1);
  if (acc->active != 0) __builtin_trap();
  if (acc->events > acc->began + 1) __builtin_trap(); /* + a request stopped before its line was counted */
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
    if (fast.events != slow.events || fast.hash != slow.hash || fast.began != slow.began) __builtin_trap();
  }
  return 0;
}
