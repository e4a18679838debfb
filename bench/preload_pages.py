#!/usr/bin/python3
"""preload_pages.py — how many distinct memory pages a process touches between two system calls, and whose
pages they are, from a `valgrind --tool=lackey --trace-mem=yes` trace.

Why: on a VM with page-table isolation (and PVM's shadow paging) every kernel entry costs the user TLB, so
what the preload shim adds to a request is driven by the number of distinct pages it touches between system
calls more than by its instructions (docs/performance.md, "Wall clock"). Wall-clock runs on a shared VM cannot
resolve that; this count is exact and repeatable.

    preload_pages.py MAPS [SO ...] < trace

MAPS is /proc/PID/maps of the traced process (read while it ran). A system call is an executed `syscall`
instruction (0f 05, read from the mapped file); the accesses between two of them form one interval. Printed:
the number of intervals, the sum over intervals of distinct 4 KiB pages touched (instruction fetches and data
together), and that sum broken down by mapping; for each shared object named as SO, by ELF section too. The
same sums for distinct 64-byte lines, code and data apart: the kernel's own path between two calls evicts most
of L1 (32 KiB each way), so the lines a call touches after a system call are mostly misses, and a line of code
fetched is a front-end stall however few of its instructions run.
bench_preload_pages.sh runs two durations and subtracts, so start-up cancels out."""
import collections
import re
import subprocess
import sys


def read_maps(path):
    maps = []
    for line in open(path):
        parts = line.split(None, 5)
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        name = parts[5].strip() if len(parts) > 5 else ""
        maps.append((lo, hi, int(parts[2], 16), name, parts[1]))
    maps.sort()
    return maps


def sections_of(so):
    """(start, end, name) of the allocated sections of an ELF file, as offsets from its load base."""
    out = subprocess.run(["readelf", "-SW", so], capture_output=True, text=True, check=True).stdout
    secs = []
    for m in re.finditer(r"\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s+(\S*A\S*)", out):
        name, addr, size = m.group(1), int(m.group(2), 16), int(m.group(3), 16)
        if size:
            secs.append((addr, addr + size, name))
    return sorted(secs)


def main():
    maps = read_maps(sys.argv[1])
    so_secs = {}
    for so in sys.argv[2:]:
        secs = sections_of(so)
        base = min((lo - off for lo, hi, off, name, _ in maps if name == so), default=None)
        if base is not None:
            so_secs[so] = (base, secs)

    los = [m[0] for m in maps]
    import bisect

    label_cache = {}

    def label(page):
        lab = label_cache.get(page)
        if lab is not None:
            return lab
        addr = page << 12
        i = bisect.bisect_right(los, addr) - 1
        lab = "unmapped"
        if i >= 0 and addr < maps[i][1]:
            lo, hi, off, name, perms = maps[i]
            if not name:
                # anonymous (heap, stacks, TLS, the shim's connection pool and event ring, .bss tails): the
                # kernel merges neighbours, so telling them apart by mapping would mislead
                lab = "anonymous memory"
            else:
                lab = name.rsplit("/", 1)[-1]
            if name in so_secs or (not name and i > 0 and maps[i - 1][3] in so_secs and maps[i - 1][1] == lo):
                so = name or maps[i - 1][3]
                base, secs = so_secs[so]
                rel = addr - base
                hit = [s[2] for s in secs if s[0] < rel + 4096 and s[1] > rel]
                lab = so.rsplit("/", 1)[-1] + " " + ("+".join(hit) if hit else "?")
        label_cache[page] = lab
        return lab

    file_cache = {}
    syscall_cache = {}
    # Under valgrind the vDSO is not used: clock_gettime and gettimeofday make real system calls from libc's
    # fallback path, which they do not do natively. Those are not interval boundaries.
    vdso_funcs = ("clock_gettime", "__clock_gettime", "gettimeofday", "__gettimeofday", "time", "clock_getres",
                  "getcpu", "sched_getcpu")
    dyn_cache = {}

    def vdso_backed(path, off):
        tab = dyn_cache.get(path)
        if tab is None:
            out = subprocess.run(["nm", "-D", "-n", "--defined-only", path], capture_output=True, text=True).stdout
            tab = []
            for line in out.splitlines():
                f = line.split()
                if len(f) == 3 and f[1] in "tTwWiI":
                    tab.append((int(f[0], 16), f[2].split("@")[0]))
            dyn_cache[path] = tab
        i = bisect.bisect_right([t[0] for t in tab], off) - 1
        return i >= 0 and tab[i][1] in vdso_funcs

    def is_syscall(addr):
        r = syscall_cache.get(addr)
        if r is not None:
            return r
        r = False
        i = bisect.bisect_right(los, addr) - 1
        if i >= 0 and addr < maps[i][1] and maps[i][3].startswith("/"):
            lo, hi, off, name, perms = maps[i]
            f = file_cache.get(name)
            if f is None:
                f = file_cache[name] = open(name, "rb")
            f.seek(addr - lo + off)
            r = f.read(2) == b"\x0f\x05"
            if r and "libc.so" in name:
                # file offset -> virtual address of libc: the text mapping's offset equals its vaddr offset here
                r = not vdso_backed(name, addr - min(m[0] - m[2] for m in maps if m[3] == name))
        syscall_cache[addr] = r
        return r

    # Functions of the named objects executed, counted once per interval: which code the pages belong to.
    syms = []
    for so, (base, _) in so_secs.items():
        out = subprocess.run(["nm", "-n", "--defined-only", so], capture_output=True, text=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "tTwW":
                syms.append((base + int(f[0], 16), f[2]))
    syms.sort()
    sym_los = [s[0] for s in syms]
    # The same for the data objects of the named objects: whose data lines are touched.
    dsyms = []
    for so, (base, _) in so_secs.items():
        out = subprocess.run(["nm", "-n", "-S", "--defined-only", so], capture_output=True, text=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) == 4 and f[2] in "dDbB":
                dsyms.append((base + int(f[0], 16), base + int(f[0], 16) + int(f[1], 16), f[3]))
    dsyms.sort()
    dsym_los = [s[0] for s in dsyms]

    def dsym_of(addr):
        i = bisect.bisect_right(dsym_los, addr) - 1
        return dsyms[i][2] if i >= 0 and addr < dsyms[i][1] else ""

    sym_cache = {}

    def sym_of(addr):
        r = sym_cache.get(addr)
        if r is None:
            i = bisect.bisect_right(sym_los, addr) - 1
            r = sym_cache[addr] = syms[i][1] if i >= 0 and addr - syms[i][0] < 65536 else ""
        return r

    so_ranges = [(lo, hi) for lo, hi, off, name, _ in maps if name in so_secs]
    funcs = set()
    by_func = collections.Counter()
    intervals = 0
    total = 0
    by_label = collections.Counter()
    pages = set()
    code_lines, data_lines = set(), set()
    total_code_lines = total_data_lines = 0
    lines_by_label = collections.Counter()
    code_lines_by_func = collections.Counter()
    data_lines_by_sym = collections.Counter()
    # a shared object's data: its file mappings and the anonymous .bss mapping right after them
    so_ranges_all = [(lo, hi) for i, (lo, hi, off, name, _) in enumerate(maps)
                     if name in so_secs or (not name and i > 0 and maps[i - 1][3] in so_secs and maps[i - 1][1] == lo)]
    for line in sys.stdin:
        if line.startswith("I  "):
            a, _, size = line[3:].partition(",")
            addr = int(a, 16)
            pages.add(addr >> 12)
            code_lines.add(addr >> 6)
            if syms and any(lo <= addr < hi for lo, hi in so_ranges):
                funcs.add(sym_of(addr))
            if size.startswith("2") and is_syscall(addr):
                intervals += 1
                total += len(pages)
                for p in pages:
                    by_label[label(p)] += 1
                pages = set()
                total_code_lines += len(code_lines)
                total_data_lines += len(data_lines)
                for ln in code_lines:
                    lines_by_label["code " + label(ln >> 6)] += 1
                    if syms and any(lo <= (ln << 6) < hi for lo, hi in so_ranges):
                        code_lines_by_func[sym_of(ln << 6)] += 1
                for ln in data_lines:
                    lines_by_label["data " + label(ln >> 6)] += 1
                    if dsyms and any(lo <= (ln << 6) < hi for lo, hi in so_ranges_all):
                        data_lines_by_sym[dsym_of(ln << 6) or "?"] += 1
                code_lines, data_lines = set(), set()
                by_func.update(funcs)
                funcs = set()
        elif line.startswith(" ") and len(line) > 3 and line[1] in "LSM":
            a, _, _ = line[3:].partition(",")
            try:
                addr = int(a, 16)
                pages.add(addr >> 12)
                data_lines.add(addr >> 6)
            except ValueError:
                pass
    print("intervals %d" % intervals)
    print("page-touches %d" % total)
    for lab, n in sorted(by_label.items(), key=lambda kv: -kv[1]):
        print("touches %d %s" % (n, lab))
    print("code-line-touches %d" % total_code_lines)
    print("data-line-touches %d" % total_data_lines)
    for lab, n in sorted(lines_by_label.items(), key=lambda kv: -kv[1]):
        print("lines %d %s" % (n, lab))
    for fn, n in sorted(by_func.items(), key=lambda kv: -kv[1]):
        print("runs %d %s" % (n, fn))
    for fn, n in sorted(code_lines_by_func.items(), key=lambda kv: -kv[1]):
        print("code-lines %d %s" % (n, fn))
    for sym, n in sorted(data_lines_by_sym.items(), key=lambda kv: -kv[1]):
        print("data-lines %d %s" % (n, sym))


if __name__ == "__main__":
    main()
