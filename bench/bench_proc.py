"""What the MCP benches read about the server they drive: its process (found among our children), its memory,
threads and CPU time from /proc, and the busy refusals its audit log recorded."""
import json
import os
import sqlite3

TICKS = os.sysconf("SC_CLK_TCK")


def server_pid(binary):
    """The server process: our child whose executable is the binary."""
    me = os.getpid()
    for task in os.listdir(f"/proc/{me}/task"):
        for child in open(f"/proc/{me}/task/{task}/children").read().split():
            try:
                if os.path.realpath(f"/proc/{child}/exe") == os.path.realpath(binary):
                    return int(child)
            except OSError:
                pass
    return None


def status(pid):
    """VmRSS and VmHWM in MB, and the thread count, from /proc/PID/status."""
    values = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Threads"):
            values[key] = int(rest.split()[0])
    return values["VmRSS"] / 1024, values["VmHWM"] / 1024, values["Threads"]


def io_threads(pid):
    """Threads whose name starts with ssh-io (the SSH I/O core's poll threads)."""
    count = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            if open(f"/proc/{pid}/task/{task}/comm").read().startswith("ssh-io"):
                count += 1
        except OSError:
            pass
    return count


def cpu_seconds(pid):
    """utime + stime of the whole process, in seconds."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def env_setting(env_file, name):
    """The value of NAME in a .env file, or None."""
    for line in open(env_file):
        key, _, value = line.strip().partition("=")
        if key == name:
            return value
    return None


def audit_head(database):
    """The audit log's last row number (0 when empty or missing): count busy refusals after it."""
    if not os.path.exists(database):
        return 0
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return connection.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()[0]
    finally:
        connection.close()


def busy_attempts(database, after=0):
    """Attempts a host refused as busy (exit 73) after audit row `after`, from the audit log's ssh rows: the
    server retries them, so a busy refusal that a retry got past shows here and not in the tool results."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT detail FROM audit WHERE kind = 'ssh' AND seq > ?", (after,)).fetchall()
    finally:
        connection.close()
    return sum(1 for (detail,) in rows if json.loads(detail).get("exit") == "73")
