"""slices_report.py — the summary of an interleaved run (bench_nginx.bash, bench_interleave): per configuration the
median requests/s, wrk's p99 and the serving process's CPU per request; against the reference configuration the
median over rounds of the throughput ratio in the same round, its 95 % interval and the CPU added per request;
and the median ratio of each block of rounds (the instances are restarted between blocks).

    python3 slices_report.py ROWS REFERENCE

ROWS has lines "block round name requests/s p99-us cpu-us user-us sys-us". The interval is a cluster bootstrap:
whole blocks are resampled, because rounds within a block share their instances' memory placement, which
biases a whole block alike (bench_nginx.bash). Printed only; nothing is asserted.
"""
import collections
import random
import statistics as st
import sys

rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
ref = sys.argv[2]
by, block_of, order = collections.defaultdict(dict), {}, []
for b, r, name, *v in rows:
    by[int(r)][name] = tuple(map(float, v))
    block_of[int(r)] = int(b)
    if name not in order:
        order.append(name)
rng = random.Random(1)  # the same rows give the same interval


def ratios_by_block(name):
    out = collections.defaultdict(list)
    for r in by:
        if name in by[r] and ref in by[r] and by[r][ref][0] > 0:
            out[block_of[r]].append(by[r][name][0] / by[r][ref][0] - 1)
    return out


def interval(blocks):
    keys = list(blocks)
    if len(keys) < 2:
        return float("nan"), float("nan")
    meds = sorted(st.median([x for k in rng.choices(keys, k=len(keys)) for x in blocks[k]]) for _ in range(2000))
    return meds[50], meds[1949]


print("%-9s %9s %8s %8s %8s %8s | %9s %19s %9s %10s  %s" % ("config", "req/s", "p99 us", "CPU us", "user", "sys",
      "vs " + ref, "95% interval", "slower", "CPU added", "by block"))
for name in order:
    mine = [by[r][name] for r in by if name in by[r]]
    pairs = [(by[r][name], by[r][ref]) for r in by if name in by[r] and ref in by[r]]
    blocks = ratios_by_block(name)
    ratios = [x for v in blocks.values() for x in v]
    lo, hi = interval(blocks) if name != ref and ratios else (0.0, 0.0)
    med = lambda i: st.median(x[i] for x in mine)
    per_block = " ".join("%+.1f" % (st.median(blocks[k]) * 100) for k in sorted(blocks)) if name != ref else ""
    print("%-9s %9.0f %8.0f %8.2f %8.2f %8.2f | %+8.2f%% %8s%+.2f, %+.2f] %4d/%-4d %+7.2f us  %s" % (
        name, med(0), med(1), med(2), med(3), med(4), (st.median(ratios) if ratios else 0) * 100, "[",
        lo * 100, hi * 100, sum(1 for a, b in pairs if a[0] < b[0]), len(pairs),
        st.median(a[2] - b[2] for a, b in pairs) if pairs else 0, per_block))
