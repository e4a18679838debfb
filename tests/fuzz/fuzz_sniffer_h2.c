// fuzz-links: autoinstr
/* fuzz_sniffer_h2.c — libFuzzer target for the preload shim's HTTP/2 sniffer (autoinstr/sniffer_h2.h), reached
 * the way the shim reaches it: through sniffer.h, after the client's preface or the server's first SETTINGS.
 *
 * Input: a first byte of options (bit 0: the server writes SETTINGS first; bit 1: TLS — a raw handshake byte is
 * read, and every op goes through the TLS hooks), then records of an op byte and a length byte n:
 *   op % 8: 0 read n bytes, 1 write n bytes, 2 a client frame, 3 a server frame (type, flags, stream id byte,
 *   then n payload bytes: the 9-byte header is built here with the right length), 4 opaque write of n*13 bytes
 *   (sendfile), 5 peer closed, 6 read n bytes of ciphertext (ignored under TLS), 7 bytes discarded.
 * The client's preface is read first. Every script runs twice, each call whole and then one byte at a time: the
 * reported exchanges must be the same. Invariants (trap otherwise): active requests back to 0 after the close,
 * no more exchanges than requests began, statuses 0 or three digits, durations never negative, version 2,
 * nothing read outside the input (ASan); gRPC calls: a status code of at most two digits, a method only on a
 * call, and a method's name always of the gRPC shape (the method table is emptied before each run, so that
 * both runs start from the same table). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "autoinstr/sniffer.h"
#include "autoinstr/sniffer_h2.h"

/* A method name the table may hold: "Service/Method", identifiers joined by dots, shorter than the bound. */
static bool rpc_name_ok(const char *p) {
  size_t n = strlen(p), slashes = 0;
  if (n == 0 || n >= SNIFF_RPC_METHOD_MAX) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = p[i];
    bool ident = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
    if (ch == '/') slashes++;
    else if (!ident && ch != '.') return false;
  }
  return slashes == 1;
}

typedef struct fuzz_acc {
  long active, began, events;
  uint64_t hash;
} fuzz_acc;

static void mix(uint64_t *h, uint64_t v) { *h = (*h ^ v) * 0x100000001b3ull; }

static void on_done(void *user, const sniff_event *ev) {
  fuzz_acc *a = user;
  a->events++;
  mix(&a->hash, (uint64_t)ev->duration);
  mix(&a->hash, ev->req_body);
  mix(&a->hash, ev->resp_body);
  mix(&a->hash, (uint64_t)ev->status << 32 | (uint64_t)ev->method << 24 | (uint64_t)ev->error << 8 | ev->scheme);
  mix(&a->hash, (uint64_t)(uint16_t)ev->route);
  mix(&a->hash, (uint64_t)ev->rpc_status << 16 | ev->rpc_method);
  if (ev->rpc_status > SNIFF_RPC_STATUS + 99) __builtin_trap();
  if (ev->rpc_method && (!ev->rpc_status || !rpc_name_ok(sniff_rpc_method_name(ev->rpc_method)))) __builtin_trap();
  if (ev->status != 0 && (ev->status < 100 || ev->status > 999)) __builtin_trap();
  if (ev->duration < 0 || ev->version != 20) __builtin_trap();
  if (ev->method >= SNIFF_METHOD_COUNT || ev->error >= SNIFF_ERR_COUNT) __builtin_trap();
}

static void on_active(void *user, uint8_t method, uint8_t scheme, uint8_t port_slot, int delta) {
  (void)method, (void)scheme, (void)port_slot;
  fuzz_acc *a = user;
  a->active += delta;
  if (delta > 0) a->began++;
  if (a->active < 0) __builtin_trap();
}

static const uint8_t k_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
static const uint8_t k_settings[] = {0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100};

typedef struct feeder {
  sniff_conn *c;
  bool tls, bytewise;
} feeder;

static void feed(feeder *f, bool write, const uint8_t *p, size_t n, int64_t now) {
  size_t step = f->bytewise ? 1 : n;
  for (size_t off = 0; off < n; off += step) {
    size_t k = n - off < step ? n - off : step;
    if (write) (f->tls ? sniff_write_tls : sniff_write)(f->c, p + off, k, now);
    else (f->tls ? sniff_read_tls : sniff_read)(f->c, p + off, k, now);
  }
}

static void run(sniff_conn *c, const preload_routes *routes, bool bytewise, const uint8_t *data, size_t size,
                fuzz_acc *acc) {
  sniff_sink sink = {on_done, on_active, acc, NULL, NULL};
  sniff_rpc_methods_reset();
  sniff_init(c, &sink, routes, 443, 1);
  if (size == 0) return;
  uint8_t opt = data[0];
  feeder f = {c, (opt & 2) != 0, bytewise};
  int64_t now = 1000;
  if (f.tls) sniff_read(c, (const uint8_t *)"\x16\x03\x01", 3, now);
  if (opt & 1) feed(&f, true, k_settings, sizeof k_settings, now);
  feed(&f, false, k_preface, 24, now);
  size_t i = 1;
  while (i + 2 <= size) {
    uint8_t op = data[i] & 7, n = data[i + 1];
    i += 2;
    now += 1000;
    size_t take = n <= size - i ? n : size - i;
    switch (op) {
    case 0:
    case 1:
      feed(&f, op == 1, data + i, take, now);
      i += take;
      break;
    case 2:
    case 3: {
      if (size - i < 3) {
        i = size;
        break;
      }
      const uint8_t *h = data + i;
      i += 3;
      take = n <= size - i ? n : size - i;
      uint8_t head[9] = {0, 0, (uint8_t)take, h[0] % 10, h[1], 0, 0, 0, h[2]};
      feed(&f, op == 3, head, 9, now);
      feed(&f, op == 3, data + i, take, now);
      i += take;
      break;
    }
    case 4: sniff_write_opaque(c, (uint64_t)n * 13, now); break;
    case 5: sniff_peer_closed(c, now); break;
    case 6:
      sniff_read(c, data + i, take, now); /* raw bytes: ciphertext under TLS, the stream itself without */
      i += take;
      break;
    default: sniff_read_discarded(c); break;
    }
  }
  sniff_close(c, now + 1);
  if (acc->active != 0) __builtin_trap();
  if (acc->events > acc->began) __builtin_trap();
  if (sniff_watching(c)) __builtin_trap();
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
  fuzz_acc whole = {0}, bytes = {0};
  run(&conn, &routes, false, data, size, &whole);
  run(&conn, &routes, true, data, size, &bytes);
  /* op 6 feeds the raw stream in one call in both runs; ops 0-3 may be cut anywhere: same exchanges */
  if (whole.events != bytes.events || whole.hash != bytes.hash || whole.began != bytes.began) __builtin_trap();
  return 0;
}
