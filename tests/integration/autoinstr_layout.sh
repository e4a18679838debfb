#!/usr/bin/env bash
# autoinstr_layout.sh — the request path of libotelc-preload.so sits on as few pages as layout.h promises. On a VM
# with page-table isolation each distinct page a request touches between system calls costs more than the
# instructions (docs/performance.md, "Wall clock"), and the layout is easy to lose without noticing: a new hot
# global in the wrong section, a compiler that emits things in another order, a switch that becomes a table.
# Checked on the built module and the objects it was linked from:
#   1. every PRELOAD_HOT_DATA object lies on one page, and the words every call reads (hot.h) on one line;
#   2. group 1 of the code (PRELOAD_HOT) starts on a page boundary;
#   3. no instruction of groups 1 and 2 loads from .rodata or .data.rel.ro.
# A sanitizer build is skipped: its instrumentation pads globals and adds loads of its own, and its figures
# are not the ones that matter.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shim="${OTELC_PRELOAD:-${OTELC_BUILD_DIR:-$here/../../build}/autoinstr/libotelc-preload.so}"
[ -f "$shim" ] || { echo "libotelc-preload.so not found at $shim"; exit 1; }
exec python3 - "$shim" <<'PY'
import glob, os, re, subprocess, sys

shim = sys.argv[1]
objdir = os.path.join(os.path.dirname(shim), "CMakeFiles")
objs = glob.glob(objdir + "/otelc-preload.dir/*.o") + glob.glob(objdir + "/otelc_preload_objs.dir/*.o")
if not objs:
    sys.exit("FAIL: the module's objects are not under " + objdir)
run = lambda *a: subprocess.run(a, capture_output=True, text=True, check=True).stdout

if re.search(r"lib(asan|ubsan|tsan)", run("readelf", "-d", shim)):
    print("ok - # SKIP a sanitizer build: the layout is checked on builds without sanitizers")
    sys.exit(0)

def in_section(sec):
    names = set()
    for o in objs:
        for line in run("objdump", "-t", o).splitlines():
            f = line.split()
            if sec in f and len(f) >= 5:
                names.add(f[-1])
    return names

count, where = {}, {}
for line in run("nm", "-S", "--defined-only", shim).splitlines():
    f = line.split()
    if len(f) == 4:
        count[f[3]] = count.get(f[3], 0) + 1
        where[f[3]] = (int(f[0], 16), int(f[1], 16))

def span(sec):
    hits = [where[n] for n in in_section(sec) if count.get(n) == 1]
    if not hits:
        return 0, 0, 0
    return min(a for a, _ in hits), max(a + s for a, s in hits), len(hits)

def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)

lo, hi, n = span(".data.otelc_preload_hot")
if n < 4:
    fail("only %d hot data objects found in the module (the check cannot see them)" % n)
if lo // 4096 != (hi - 1) // 4096:
    fail("hot data spans %#x..%#x: more than one page" % (lo, hi))
print("ok - %d hot data objects on one page (%#x..%#x, %d bytes)" % (n, lo, hi, hi - lo))
for name in ("preload_hot_line", "real"):  # hot.h: the words every call reads, each group on one line
    if count.get(name) != 1:
        fail("%s not found in the module" % name)
    addr, size = where[name]
    if addr % 64:
        fail("%s at %#x is not on a cache-line boundary" % (name, addr))
if where["preload_hot_line"][1] > 64:
    fail("preload_hot_line is %d bytes, more than one cache line" % where["preload_hot_line"][1])
print("ok - preload_hot_line and the first line of the real functions are cache-line aligned")

clo, chi, cn = span(".text.sorted.otelc_1")
if cn < 8:
    fail("only %d group-1 functions found in the module" % cn)
if clo % 4096:
    fail("group 1 of the request path's code starts at %#x, not on a page" % clo)
_, ahi, an = span(".text.sorted.otelc_2a")
print("ok - group 1 (%d functions) and the common interposers (%d) from a page boundary: %d page(s), %d bytes"
      % (cn, an, (ahi - clo + 4095) // 4096, ahi - clo))

_, ghi, _ = span(".text.sorted.otelc_2b")
ro = []
for line in run("readelf", "-SW", shim).splitlines():
    m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", line)
    if m and m.group(1) in (".rodata", ".data.rel.ro"):
        ro.append((int(m.group(2), 16), int(m.group(2), 16) + int(m.group(3), 16)))
loads, fn = [], ""
for line in run("objdump", "-d", "--no-show-raw-insn", "--start-address=%d" % clo, "--stop-address=%d" % ghi,
                shim).splitlines():
    m = re.match(r"[0-9a-f]+ <(.+)>:", line)
    if m:
        fn = m.group(1)
        continue
    m = re.search(r"\t(\S+)\s.*\(%rip\).*# ([0-9a-f]+) ", line)
    if m and not re.match(r"(lea|call|jmp|nop)", m.group(1)):
        t = int(m.group(2), 16)
        if any(a <= t < b for a, b in ro):
            loads.append(fn + ": " + line.strip())
if loads:
    fail("the request path loads from read-only data (one more page per call):\n  " + "\n  ".join(loads))
print("ok - the request path (groups 1 and 2) loads nothing from .rodata or .data.rel.ro")
PY
