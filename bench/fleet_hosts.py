"""Lays out the fleet benchmark's hosts in one process (a fork per file is slow on a loaded 2-core VM).

Usage: fleet_hosts.py FLEET_DIR BENCH_DIR COUNT PER_SSHD BASE_PORT READER_PUB PINNED_KEY   (run by bench/fleet-bench.sh)

Host i (1..COUNT) is hNNNN at 127.1.G.J, port BASE_PORT+G (G = (i-1)//PER_SSHD, J = (i-1)%PER_SSHD + 1). It gets
FLEET_DIR/hNNNN/prefix, a copy of FLEET_DIR/template (the wrapper install, host settings, and a request-slot
folder owned by the reader), and FLEET_DIR/hNNNN/authorized_keys (root, 0644) forcing the key READER_PUB into that
copy's mcp-wrapper. Appends a `Match LocalAddress` block per host to FLEET_DIR/sshd-G.conf, and writes
BENCH_DIR/known_hosts (PINNED_KEY for every address) and BENCH_DIR/hosts.tsv (name, address, port).
"""
import os
import shutil
import sys


def copy_tree(source, target):
    """A copy of source with each entry's mode and owner (shutil.copytree keeps modes, not owners)."""
    shutil.copytree(source, target, symlinks=True)
    for root, folders, files in os.walk(source):
        for name in folders + files:
            path = os.path.join(root, name)
            info = os.lstat(path)
            os.lchown(os.path.join(target, os.path.relpath(path, source)), info.st_uid, info.st_gid)


def main():
    fleet, bench, count, per_sshd, base_port, reader_pub, pinned = sys.argv[1:8]
    count, per_sshd, base_port = int(count), int(per_sshd), int(base_port)
    key = open(reader_pub).read().strip()
    template = os.path.join(fleet, "template")
    blocks = {}
    with open(os.path.join(bench, "known_hosts"), "w") as known, open(os.path.join(bench, "hosts.tsv"), "w") as table:
        for i in range(1, count + 1):
            group, index = divmod(i - 1, per_sshd)
            name, address, port = f"h{i:04d}", f"127.1.{group}.{index + 1}", base_port + group
            home = os.path.join(fleet, name)
            os.mkdir(home, 0o755)
            copy_tree(template, os.path.join(home, "prefix"))
            wrapper = os.path.join(home, "prefix", "lib", "mcp-linux-infra", "mcp-wrapper")
            keys = os.path.join(home, "authorized_keys")
            with open(keys, "w") as out:
                out.write(f'restrict,from="127.0.0.0/8",command="exec {wrapper} --role=reader" {key}\n')
            os.chmod(keys, 0o644)
            blocks.setdefault(group, []).append(f"Match LocalAddress {address}\n  AuthorizedKeysFile {keys}\n")
            known.write(f"[{address}]:{port} {pinned}\n")
            table.write(f"{name}\t{address}\t{port}\n")
    for group, lines in blocks.items():
        with open(os.path.join(fleet, f"sshd-{group}.conf"), "a") as conf:
            conf.writelines(lines)


main()
