"""A syslog datagram sink for the loopback target: receives what `logger -u SOCKET` sends and appends
each message, one per line, to a file. Test-only; started and stopped (by PID) by loopback-target.sh."""
import os
import socket
import sys

# Drop every descriptor inherited from whoever started us (like a daemon should): a test runner waiting
# for the start script's descriptors to close would otherwise wait for as long as this sink lives.
os.closerange(3, os.sysconf("SC_OPEN_MAX"))
path, output = sys.argv[1], sys.argv[2]
sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sink.bind(path)
os.chmod(path, 0o666)  # the forced-command accounts log through it
with open(output, "ab", buffering=0) as log:
    while True:
        data = sink.recv(65536)
        log.write(data.replace(b"\n", b"\\n") + b"\n")
