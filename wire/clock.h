/* clock.h — the two clocks of otelc: monotonic nanoseconds for deadlines, wall-clock nanoseconds for OTLP
 * timestamps. Deadlines everywhere in the wire layer are absolute monotonic times (wire_now_ns() + timeout). */
#ifndef OTELC_WIRE_CLOCK_H
#define OTELC_WIRE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t wire_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline uint64_t wire_wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Milliseconds left until `deadline_ns` for poll(2): 0 when past, capped at INT32_MAX; -1 when deadline is 0
 * (no deadline). */
static inline int wire_ms_until(int64_t deadline_ns) {
  if (deadline_ns == 0) return -1;
  int64_t left = deadline_ns - wire_now_ns();
  if (left <= 0) return 0;
  int64_t ms = (left + 999999) / 1000000;
  return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

#endif
