/* runtime.h — the process runtime collector: one call adds observable instruments (meter "otelc.runtime") that
 * report this process's resource use with the OpenTelemetry process semantic conventions, read at each
 * collection from getrusage(2), /proc/self/stat, /proc/self/io, /proc/self/fd and the C allocator:
 *
 *   process.cpu.time                    counter        s                  cpu.mode = user | system
 *   process.cpu.utilization             gauge          1                  cpu.mode = user | system
 *   process.memory.usage                up-down        By                 resident set size
 *   process.memory.virtual              up-down        By                 virtual memory size
 *   process.unix.file_descriptor.count  up-down        {file_descriptor}
 *   process.thread.count                up-down        {thread}
 *   process.context_switches            counter        {context_switch}   process.context_switch.type =
 *                                                                         voluntary | involuntary
 *   process.paging.faults               counter        {fault}            process.paging.fault_type = major | minor
 *   process.disk.io                     counter        By                 disk.io.direction = read | write
 *   process.uptime                      gauge          s
 *   process.runtime.c.heap.allocated    up-down        By                 bytes the C allocator has handed out
 *   process.runtime.c.heap.free         up-down        By                 bytes it holds free (not returned)
 *   process.runtime.c.heap.mapped       up-down        By                 of allocated: in large mmap'd blocks
 *
 * process.cpu.utilization is the CPU time used since the previous collection (the first time: since
 * otelc_runtime_start) divided by the wall time elapsed and by the number of CPUs this process may run on
 * (its affinity mask), per mode. The heap figures come from glibc's mallinfo2(); they are absent where it
 * is not available. docs/sdk-exporters.md has the details. */
#ifndef OTELC_RUNTIME_H
#define OTELC_RUNTIME_H

#include "otelc/otelc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Starts the runtime collector on mp: creates the instruments above; their callbacks run on the collecting
 * thread at each collection and cost a few system calls (no allocation). Calling it again for the same
 * provider does nothing. The collector lives as long as the process (a few hundred bytes; observable
 * instruments cannot be removed from a provider). Returns OTELC_OK, OTELC_E_INVALID (mp NULL) or
 * OTELC_E_NOMEM. A disabled provider accepts the call and records nothing. */
OTELC_API int otelc_runtime_start(otelc_meter_provider *mp);

#ifdef __cplusplus
}
#endif

#endif
