/* test_fdtable.c — the preload shim's fd table and connection pool: slots come and go without leaking, fds
 * alias one connection with reference counts, the listening-socket cache and the port index, and the
 * lock-free pool under several threads. */
#include <pthread.h>
#include <string.h>

#include "autoinstr/fdtable.h"
#include "testlib.h"

static void test_alloc_free_reuse(void) {
  uint32_t base = fdt_conns_in_use();
  preload_conn *a = fdt_conn_alloc(), *b = fdt_conn_alloc();
  CHECK(a && b && a != b);
  CHECK_EQ(fdt_conns_in_use(), base + 2);
  CHECK_EQ(atomic_load(&a->refs), 1);
  fdt_conn_free(a);
  preload_conn *c = fdt_conn_alloc();
  CHECK(c == a); /* the free list hands the slot back */
  fdt_conn_free(b);
  fdt_conn_free(c);
  CHECK_EQ(fdt_conns_in_use(), base);
}

static void test_more_than_one_chunk(void) {
  enum { N = PRELOAD_POOL_CHUNK * 2 + 7 };
  static preload_conn *v[N];
  for (int i = 0; i < N; i++) {
    v[i] = fdt_conn_alloc();
    CHECK(v[i] != NULL);
    if (v[i]) memset(&v[i]->s, 0xab, sizeof v[i]->s); /* the whole slot is usable memory */
  }
  for (int i = 0; i < N; i++) fdt_conn_free(v[i]);
}

static void test_fd_aliases(void) {
  preload_conn *c = fdt_conn_alloc();
  CHECK(fdt_get(10) == NULL);
  CHECK(fdt_set(10, c) == NULL);
  CHECK(fdt_get(10) == c);
  fdt_conn_ref(c); /* dup2(10, 0) */
  CHECK(fdt_set(0, c) == NULL);
  CHECK(fdt_take(10) == c);
  CHECK(!fdt_conn_unref(c)); /* fd 0 still names it */
  CHECK(fdt_get(0) == c);
  CHECK(fdt_take(0) == c);
  CHECK(fdt_conn_unref(c));
  CHECK(fdt_take(0) == NULL);
  fdt_conn_free(c);
  /* out of range fds are never watched */
  CHECK(fdt_get(-1) == NULL);
  CHECK(fdt_get(PRELOAD_MAX_FD) == NULL);
  CHECK(fdt_take(PRELOAD_MAX_FD + 5) == NULL);
}

static void test_enter_leave(void) {
  preload_conn *c = fdt_conn_alloc();
  CHECK(fdt_conn_enter(c));
  CHECK(!fdt_conn_enter(c)); /* a second thread: refused, and the connection is marked lost */
  CHECK_EQ(atomic_load(&c->lost), 1);
  fdt_conn_leave(c);
  CHECK(fdt_conn_enter(c));
  fdt_conn_leave(c);
  fdt_conn_free(c);
}

static void test_listen_cache_and_ports(void) {
  CHECK_EQ(fdt_listen_get(7), 0);
  fdt_listen_set(7, PRELOAD_LISTEN_KNOWN | PRELOAD_LISTEN_HTTP | 8080);
  CHECK_EQ(fdt_listen_get(7) & 0xffff, 8080);
  fdt_listen_forget(7);
  CHECK_EQ(fdt_listen_get(7), 0);
  CHECK_EQ(fdt_listen_get(PRELOAD_MAX_FD + 1), 0);
  /* listening info and connections share the table: one never reads as the other */
  fdt_listen_set(9, PRELOAD_LISTEN_KNOWN | 443);
  CHECK(fdt_known(9));
  CHECK(fdt_get(9) == NULL);
  CHECK(fdt_take(9) == NULL);
  CHECK(!fdt_known(9));
  CHECK_EQ(fdt_listen_get(9), 0);
  preload_conn *lc = fdt_conn_alloc();
  CHECK(lc != NULL);
  fdt_listen_set(11, PRELOAD_LISTEN_KNOWN | 80);
  CHECK(fdt_set(11, lc) == NULL); /* the stale listening info is dropped, not returned */
  CHECK(fdt_get(11) == lc);
  fdt_listen_set(11, PRELOAD_LISTEN_KNOWN | 81); /* refused: a connection lives there */
  CHECK(fdt_get(11) == lc);
  CHECK_EQ(fdt_listen_get(11), 0);
  fdt_listen_forget(11);
  CHECK(fdt_get(11) == lc);
  CHECK(fdt_take(11) == lc);
  CHECK(!fdt_known(11));
  atomic_store(&lc->refs, 0);
  fdt_conn_free(lc);
  CHECK_EQ(fdt_port_slot(0), 0);
  uint8_t a = fdt_port_slot(8080), b = fdt_port_slot(8443);
  CHECK(a != 0 && b != 0 && a != b);
  CHECK_EQ(fdt_port_slot(8080), a);
  CHECK_EQ(fdt_slot_port(a), 8080);
  for (int p = 1; p < 40; p++) fdt_port_slot((uint16_t)(9000 + p));
  CHECK_EQ(fdt_port_slot(9039), PRELOAD_PORT_SLOTS - 1); /* beyond the table: the shared last slot */
  CHECK_EQ(fdt_slot_port(PRELOAD_PORT_SLOTS - 1), 0);
}

static void *churn(void *arg) {
  for (int i = 0; i < 20000; i++) {
    preload_conn *c = fdt_conn_alloc();
    if (!c) return (void *)1;
    c->s.port = (uint16_t)i;
    if (c->s.port != (uint16_t)i) return (void *)1;
    fdt_conn_free(c);
  }
  return NULL;
}

static void test_pool_threads(void) {
  uint32_t base = fdt_conns_in_use();
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, churn, NULL);
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    CHECK(r == NULL);
  }
  CHECK_EQ(fdt_conns_in_use(), base);
}

static void count_live(preload_conn *c, void *user) { (*(int *)user)++; }

static void test_for_each_live(void) {
  preload_conn *a = fdt_conn_alloc(), *b = fdt_conn_alloc();
  int live = 0;
  fdt_for_each_live(count_live, &live);
  CHECK(live >= 2);
  int before = live;
  atomic_store(&a->refs, 0);
  fdt_conn_free(a);
  live = 0;
  fdt_for_each_live(count_live, &live);
  CHECK_EQ(live, before - 1);
  atomic_store(&b->refs, 0);
  fdt_conn_free(b);
}

int main(void) {
  RUN(test_alloc_free_reuse);
  RUN(test_more_than_one_chunk);
  RUN(test_fd_aliases);
  RUN(test_enter_leave);
  RUN(test_listen_cache_and_ports);
  RUN(test_pool_threads);
  RUN(test_for_each_live);
  return test_finish();
}
