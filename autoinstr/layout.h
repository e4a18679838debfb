/* layout.h — where the preload shim's request path lives in memory: the section attributes that put its code
 * and its hot globals on as few pages as possible. Shared by every file of autoinstr/ that has code or data on
 * that path. */
#ifndef OTELC_AUTOINSTR_LAYOUT_H
#define OTELC_AUTOINSTR_LAYOUT_H

/* Code layout. On a VM with page-table isolation the number of distinct pages a request touches between system
 * calls costs more than the instructions (docs/performance.md, "Wall clock"), so the request path's code is
 * laid out on as few pages as possible. Functions go into named sections .text.sorted.otelc_<group>, which
 * GNU ld's default script collects with SORT() right after .text.hot, in this order:
 *   PRELOAD_HOT     group 1: what every watched call runs (the observers, the sniffer's fast path, the sink,
 *                   the event push), ~6.3 KiB starting on a page boundary (interpose.c aligns the group);
 *   PRELOAD_HOT_IO  group 2: the interposers, one per call: the ones most servers use first (read, recv,
 *                   write, writev, send, sendfile, close), so that with group 1 they fill two pages, then
 *                   PRELOAD_HOT_IO_RARE (readv, recvfrom, recvmsg, sendto, sendmsg, syscall);
 *   PRELOAD_WARM    group 3: the request path under some settings only (the route matcher).
 * Setup, fork, export and error paths may be marked PRELOAD_COLD (.text.unlikely). autoinstr_layout.sh
 * checks the result on the built module. */
#define PRELOAD_HOT __attribute__((hot, section(".text.sorted.otelc_1")))
#define PRELOAD_HOT_IO __attribute__((hot, section(".text.sorted.otelc_2a")))
#define PRELOAD_HOT_IO_RARE __attribute__((hot, section(".text.sorted.otelc_2b")))
#define PRELOAD_WARM __attribute__((section(".text.sorted.otelc_3")))
#define PRELOAD_COLD __attribute__((cold))
/* The same for the small globals every request reads or writes (switches, the real functions, the ring's
 * indices, the active counters, the sink, the scanner's table): one named input section, which the linker's
 * .data.* rule places together inside .data, on one page (interpose.c aligns it), instead of scattered
 * between the shim's large tables in .bss and its read-only data. */
#define PRELOAD_HOT_DATA __attribute__((section(".data.otelc_preload_hot")))

#endif
