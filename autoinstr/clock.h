/* clock.h — the shim's request clock: what the sniffer's timestamps are, and how the recording thread turns
 * their differences into seconds.
 *
 * Two clocks, chosen once per process, at the first timestamp (the first HTTP exchange, so that programs that
 * serve no HTTP never pay for the choice):
 *   - the CPU's time-stamp counter (rdtsc), on x86-64 when the CPU says it is invariant (constant rate in every
 *     power state, CPUID 0x80000007 EDX bit 8), the thread may read it (prctl PR_GET_TSC), and the kernel
 *     keeps time with it (its clocksource is tsc, kvm-clock or Hyper-V's TSC page; not when it chose hpet or
 *     acpi_pm because it found the CPUs' counters out of step); OTELC_AUTOINSTR_CLOCK=monotonic rules it out
 *     (config.h). No memory is touched and nothing waits: right after a system call, which is where the shim
 *     reads its clock, the vDSO's clock finds its code, its data and a hypervisor's clock page cold and orders
 *     itself against what came before; 35-100 ns there against 2-16 for rdtsc on this project's VM
 *     (bench/bench_after_syscall.c, docs/performance.md "The clock"). Its rate is measured against
 *     CLOCK_MONOTONIC by the recording thread over windows of up to 10 s from the moment of the choice on; a
 *     window that disagrees by more than 1 % (a counter that jumped) is not used unless the next one
 *     confirms it.
 *   - CLOCK_MONOTONIC in nanoseconds, through the vDSO when it can be found (libc's clock_gettime otherwise),
 *     everywhere else.
 * Timestamps are only ever subtracted from one another (sniffer.h: durations), so the sniffer does not care
 * which. A host thread that forbids rdtsc later (prctl PR_SET_TSC, which the shim interposes) switches the
 * process to CLOCK_MONOTONIC before the call takes effect; exchanges open at that moment get a wrong duration
 * (clamped at 0), nothing else. */
#ifndef OTELC_AUTOINSTR_CLOCK_H
#define OTELC_AUTOINSTR_CLOCK_H

#include <stdint.h>

/* Finds the vDSO's clock_gettime (constructor). Chooses nothing yet. */
void preload_clock_init(void);

/* The sink's clock (sniffer.h, sniff_sink.clock): a timestamp in this process's clock unit. */
int64_t preload_clock_now(void *user);

/* Recording thread, before it records a batch: measures the counter's rate again (no-op on CLOCK_MONOTONIC).
 * may_sleep: the caller may wait up to 2 ms for a first measurement long enough to be exact (the recording
 * thread; not the host's thread at exit). */
void preload_clock_calibrate(int may_sleep);

/* The calibration's step, given a counter value and CLOCK_MONOTONIC read together (recording thread; tests
 * give made-up pairs), and the rate it settled on: seconds per tick, 0 before the first. */
void preload_clock_calibrate_at(int64_t tsc, int64_t ns);
double preload_clock_rate(void);
/* Tests: forget the measured rate and its window (the next window starts at the first pair given). */
void preload_clock_forget_rate_for_test(void);

/* A difference of two preload_clock_now() values, in seconds (recording thread, after a calibration). */
double preload_clock_seconds(int64_t duration);

/* Before a host thread forbids rdtsc (prctl PR_SET_TSC): the process uses CLOCK_MONOTONIC from now on. */
void preload_clock_forbid_tsc(void);

#endif
