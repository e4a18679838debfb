/* duration_checks.h — the check test_metrics.c and test_metrics_rpc.c share: a duration histogram point that
 * holds exactly two exchanges, of 3 ms and 60 ms, recorded with the HTTP semantic conventions' 14 bucket
 * boundaries (the shim uses them for http.server.request.duration and rpc.server.call.duration alike). */
#ifndef OTELC_TEST_AUTOINSTR_DURATION_CHECKS_H
#define OTELC_TEST_AUTOINSTR_DURATION_CHECKS_H

#include "otelc/exporter.h"
#include "testlib.h"

static inline void check_durations_3ms_60ms(const otelc_point *p) {
  CHECK_EQ(p->count, 2);
  CHECK_DBL(p->sum, 0.063);
  CHECK_EQ(p->n_bounds, 14);
  if (p->n_bounds == 14) {
    CHECK_DBL(p->bounds[0], 0.005);
    CHECK_DBL(p->bounds[13], 10);
    CHECK_EQ(p->bucket_counts[0], 1); /* 3 ms <= 5 ms */
    CHECK_EQ(p->bucket_counts[4], 1); /* 50 ms < 60 ms <= 75 ms */
  }
}

#endif
