"""Turns a callgrind profile of prepull-edge into a linker symbol-ordering file.

usage: hot_symbols.py CALLGRIND_OUT BINARY > hot-symbols.txt

Keeps every function the profile saw run that the binary defines exactly once. A name defined more
than once (local helpers such as `objectdestroyTm` exist in many objects) would make the linker
move every section that defines it, dragging whole cold sections of the toolchain's libraries
(compiled without one section per function) into the hot region.
"""
import collections
import re
import subprocess
import sys


def executed_functions(profile_path):
    names = set()
    with open(profile_path, encoding="utf-8", errors="replace") as profile:
        for line in profile:
            match = re.match(r"c?fn=(?:\(\d+\) )?(.+)", line)
            if match:
                # callgrind marks recursion levels with 'N; the symbol is the part before it.
                names.add(re.sub(r"'\d+$", "", match.group(1).strip()))
    return names


def definition_counts(binary_path):
    listing = subprocess.run(["nm", "--defined-only", binary_path],
                             check=True, capture_output=True, text=True).stdout
    counts = collections.Counter()
    for line in listing.splitlines():
        fields = line.split(None, 2)
        if len(fields) == 3 and fields[1] in "tTwW":
            counts[fields[2]] += 1
    return counts


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2])
    executed = executed_functions(sys.argv[1])
    counts = definition_counts(sys.argv[2])
    hot = sorted(name for name in executed if counts[name] == 1)
    if len(hot) < 1000:
        sys.exit(f"only {len(hot)} hot functions found: did the worker start? (profile {sys.argv[1]})")
    sys.stdout.write("\n".join(hot) + "\n")
    print(f"{len(executed)} functions ran, {len(hot)} ordered "
          f"({sum(1 for n in executed if counts[n] > 1)} defined more than once, "
          f"{sum(1 for n in executed if counts[n] == 0)} unnamed or in shared libraries)", file=sys.stderr)


if __name__ == "__main__":
    main()
