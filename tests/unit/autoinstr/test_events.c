/* test_events.c — the preload shim's event ring (order, full ring drops, reset, several producers) and the
 * active-request counters. */
#include <pthread.h>

#include "autoinstr/events.h"
#include "testlib.h"

static void test_order_and_full(void) {
  CHECK_EQ(events_init(), 0);
  events_reset();
  sniff_event e = {0}, out[64];
  for (int i = 0; i < 10; i++) {
    e.status = (uint16_t)(200 + i);
    CHECK(events_push(&e));
  }
  CHECK_EQ(events_pop(out, 4), 4);
  CHECK_EQ(out[0].status, 200);
  CHECK_EQ(out[3].status, 203);
  CHECK_EQ(events_pop(out, 64), 6);
  CHECK_EQ(out[5].status, 209);
  CHECK_EQ(events_pop(out, 64), 0);
  for (int i = 0; i < PRELOAD_RING_SIZE; i++) CHECK(events_push(&e));
  CHECK(!events_push(&e));
  CHECK_EQ(events_dropped(), 1);
  size_t total = 0, n;
  while ((n = events_pop(out, 64)) > 0) total += n;
  CHECK_EQ(total, PRELOAD_RING_SIZE);
  CHECK(events_push(&e)); /* room again */
  events_reset();
  CHECK_EQ(events_pop(out, 64), 0);
  CHECK_EQ(events_dropped(), 0);
}

static void *producer(void *arg) {
  sniff_event e = {0};
  e.port = (uint16_t)(uintptr_t)arg;
  for (int i = 0; i < 5000; i++) {
    e.req_body = (uint64_t)i;
    while (!events_push(&e)) {
    }
  }
  return NULL;
}

static void test_producers(void) {
  events_reset();
  pthread_t t[3];
  for (uintptr_t i = 0; i < 3; i++) pthread_create(&t[i], NULL, producer, (void *)(i + 1));
  uint64_t next[4] = {0};
  size_t got = 0;
  sniff_event out[128];
  bool ordered = true;
  while (got < 15000) {
    size_t n = events_pop(out, 128);
    for (size_t k = 0; k < n; k++) {
      if (out[k].req_body != next[out[k].port]) ordered = false;
      next[out[k].port] = out[k].req_body + 1;
    }
    got += n;
  }
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  CHECK(ordered); /* each producer's events arrive in its order, none lost or repeated */
  CHECK_EQ(events_pop(out, 128), 0);
}

static void test_active(void) {
  CHECK(!events_active_touched(SNIFF_PUT, 1, 2));
  events_active_add(SNIFF_PUT, 1, 2, +1);
  events_active_add(SNIFF_PUT, 1, 2, +1);
  CHECK_EQ(events_active_get(SNIFF_PUT, 1, 2), 2);
  events_active_add(SNIFF_PUT, 1, 2, -2);
  CHECK_EQ(events_active_get(SNIFF_PUT, 1, 2), 0);
  CHECK(events_active_touched(SNIFF_PUT, 1, 2));
  events_active_add(SNIFF_METHOD_COUNT, 0, 0, 1); /* out of range: ignored */
  CHECK_EQ(events_active_get(SNIFF_METHOD_COUNT, 0, 0), 0);
}

int main(void) {
  RUN(test_order_and_full);
  RUN(test_producers);
  RUN(test_active);
  return test_finish();
}
