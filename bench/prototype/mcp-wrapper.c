/*
 * PROTOTYPE ONLY, not installed by the role: a compiled mcp-wrapper, to measure what the bash wrapper's
 * processes cost (bench/wrapper-bench.sh with WRAPPER_BENCH_EXTRA). It serves the verbs the bench times
 * (version, memory, disks, unit-status, journal) with system/mcp-wrapper's grammar, refusal texts, exit codes,
 * audit lines and hardening; every other verb is refused as unknown. See docs/SECURITY.md, "A compiled wrapper?".
 *
 * One process per request besides the tool: no shell, no logger (one datagram to the syslog socket, the
 * format logger(1) sends), no flock(1) (flock(2) on the slot), no env/nice/ionice/timeout (execve with a fixed
 * environment after nice(2) and ioprio_set(2); the time budget and the 4 MiB cap per stream are enforced
 * here, reading the tool's pipes). Build: cc -O2 -Wall -Wextra -DPREFIX='"/usr/local"' -o mcp-wrapper
 * mcp-wrapper.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <regex.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PREFIX
#define PREFIX "/usr/local"
#endif
#define LIB PREFIX "/lib/mcp-linux-infra"
#define CONF PREFIX "/etc/mcp-linux-infra"
#define STATE "/var/lib/mcp-linux-infra" /* PREFIX is /usr or /usr/local */
enum { EXIT_REFUSED = 64, EXIT_UNAVAILABLE = 70, EXIT_BUSY = 73, EXIT_AUDIT = 75, EXIT_TIMED_OUT = 124 };
enum { MAX_BUDGET = 20, MAX_OUTPUT = 4194304, MAX_ARGS = 512 };

static const char *user = "", *client = "", *request = "", *verb = "";
static char *names[MAX_ARGS], *values[MAX_ARGS];
static int nargs;
static int budget = MAX_BUDGET;

/* bash's printf %q, LC_ALL=C, of the first 400 bytes: $'...' when a byte is not printable ASCII, else a
 * backslash before each shell-special character (and before ~ or # at the start). */
static void quote(const char *in, char *out, size_t size) {
    size_t n = strnlen(in, 400), o = 0;
    int ansi = 0;
    if (n == 0) { snprintf(out, size, "''"); return; }
    for (size_t i = 0; i < n; i++) if ((unsigned char)in[i] < 32 || (unsigned char)in[i] > 126) ansi = 1;
    if (ansi) {
        o += snprintf(out + o, size - o, "$'");
        for (size_t i = 0; i < n && o + 6 < size; i++) {
            unsigned char c = (unsigned char)in[i];
            const char *e = c == 7 ? "\\a" : c == 8 ? "\\b" : c == 27 ? "\\E" : c == 12 ? "\\f" : c == 10 ? "\\n"
                          : c == 13 ? "\\r" : c == 9 ? "\\t" : c == 11 ? "\\v" : c == '\\' ? "\\\\" : c == '\'' ? "\\'" : NULL;
            if (e) o += snprintf(out + o, size - o, "%s", e);
            else if (c < 32 || c > 126) o += snprintf(out + o, size - o, "\\%03o", c);
            else out[o++] = (char)c;
        }
        snprintf(out + o, size - o, "'");
        return;
    }
    for (size_t i = 0; i < n && o + 3 < size; i++) {
        char c = in[i];
        if (strchr(" !\"$&'()*,;<>?[\\]^`{|}", c) || (i == 0 && (c == '~' || c == '#'))) out[o++] = '\\';
        out[o++] = c;
    }
    out[o] = 0;
}

/* First line of the host setting NAME into buf; 0 when there is none. */
static int setting(const char *name, char *buf, size_t size) {
    char path[512];
    snprintf(path, sizeof path, CONF "/%s", name);
    FILE *f = fopen(path, "re");
    if (!f) return 0;
    buf[0] = 0;
    int ok = fgets(buf, (int)size, f) != NULL;
    fclose(f);
    buf[strcspn(buf, "\n")] = 0;
    return ok;
}

/* One audit line as logger(1) sends it to a local socket ("<PRI>Mmm dd HH:MM:SS TAG: MESSAGE"), auth.notice,
 * to the log-socket setting or /dev/log. Fails closed. */
static void audit(const char *fmt, ...) {
    char message[4096], line[4300], stamp[32], socket_path[256] = "/dev/log";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    char configured[256];
    if (setting("log-socket", configured, sizeof configured) && configured[0]) snprintf(socket_path, sizeof socket_path, "%s", configured);
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", localtime(&now));
    int n = snprintf(line, sizeof line, "<%d>%s %s: %s", 4 * 8 + 5, stamp, "mcp-wrapper", message);
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) < 0 || send(fd, line, (size_t)n, 0) != n) {
        fprintf(stderr, "mcp-wrapper: refused: the audit log is unavailable\n");
        exit(EXIT_AUDIT);
    }
    close(fd);
}

static void refuse(int code, const char *fmt, ...) {
    char reason[1024], q_reason[2048], q_request[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    quote(reason, q_reason, sizeof q_reason);
    quote(request, q_request, sizeof q_request);
    audit("refused user=%s client=%s reason=%s request=%s", user, *client ? client : "local", q_reason, q_request);
    fprintf(stderr, "mcp-wrapper: refused: %s\n", reason);
    exit(code);
}

/* 1 when TEXT matches the extended regular expression ^(PATTERN)$ (the engine bash's =~ uses). */
static int matches(const char *text, const char *pattern) {
    char anchored[1024];
    regex_t re;
    snprintf(anchored, sizeof anchored, "^(%s)$", pattern);
    if (regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB) != 0) return 0;
    int ok = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static const char *arg(const char *name) {
    for (int i = 0; i < nargs; i++) if (strcmp(names[i], name) == 0) return values[i];
    return NULL;
}
/* accept: no argument other than the NULL-terminated list. */
static void accept_only(const char *const *allowed) {
    for (int i = 0; i < nargs; i++) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++) if (strcmp(*a, names[i]) == 0) ok = 1;
        if (!ok) refuse(EXIT_REFUSED, "verb %s takes no argument %s", verb, names[i]);
    }
}
static const char *value(const char *name, const char *pattern, const char *fallback) {
    const char *v = arg(name);
    if (!v) v = fallback;
    if (!matches(v, pattern)) refuse(EXIT_REFUSED, "%s does not have the allowed form", name);
    return v;
}
static long number(const char *name, long max, const char *fallback) {
    const char *v = arg(name);
    if (!v) v = fallback;
    long n = matches(v, "[0-9]{1,7}") ? strtol(v, NULL, 10) : 0;
    if (n < 1 || n > max) refuse(EXIT_REFUSED, "%s must be 1 to %ld", name, max);
    return n;
}

/* The request slot: one of max-requests (or 4 per CPU) files of this account, held with flock(2) for the
 * process's life (the descriptor is inherited by the tool, as in the bash wrapper). */
static void take_slot(void) {
    char dir[512], path[600], buf[64];
    long max;
    if (setting("max-requests", buf, sizeof buf) && matches(buf, "[0-9]{1,4}") && strtol(buf, NULL, 10) > 0) {
        max = strtol(buf, NULL, 10);
    } else {
        cpu_set_t set;
        max = 4 * (sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN));
    }
    snprintf(dir, sizeof dir, STATE "/slots/%s", user);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        refuse(EXIT_UNAVAILABLE, "no request slots at %s for %s (redeploy the role)", dir, user);
    int opened = 0;
    for (long slot = 1; slot <= max; slot++) {
        snprintf(path, sizeof path, "%s/%ld", dir, slot);
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0666);
        if (fd < 0) continue;
        opened++;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) return;
        close(fd);
    }
    if (opened == 0) refuse(EXIT_UNAVAILABLE, "no request slot at %s opens for %s (redeploy the role)", dir, user);
    refuse(EXIT_BUSY, "busy: %ld requests of %s already run on this host (max-requests); try again shortly", max, user);
}

/* run: the tool with a fixed environment, nice 10, idle I/O class, in a process group of its own, killed after
 * the budget (TERM, then KILL 2 s later); each stream copied through a pipe up to MAX_OUTPUT bytes, then
 * closed (the tool gets SIGPIPE, as it did from head). Exit codes as the bash wrapper's finish. */
static void run(char *const argv[]) {
    char q[2048];
    quote(request, q, sizeof q);
    audit("accepted user=%s client=%s verb=%s request=%s", user, *client ? client : "local", verb, q);
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) { perror("mcp-wrapper: pipe"); exit(EXIT_UNAVAILABLE); }
    signal(SIGPIPE, SIG_IGN); /* a closed stdout ends the copy; the tool then gets SIGPIPE, as from head */
    pid_t pid = fork();
    if (pid < 0) { perror("mcp-wrapper: fork"); exit(EXIT_UNAVAILABLE); }
    if (pid == 0) {
        static char *const environment[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "SYSTEMD_PAGER=cat", "SYSTEMD_COLORS=0", NULL };
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        errno = 0;
        if (nice(10) == -1 && errno) _exit(125);
        if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, 3 << 13 /* IOPRIO_CLASS_IDLE */) != 0) _exit(125);
        dup2(out[1], 1);
        dup2(err[1], 2);
        const char *dirs[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin" };
        char path[512];
        for (size_t i = 0; i < 4; i++) {
            snprintf(path, sizeof path, "%s/%s", dirs[i], argv[0]);
            execve(path, argv, environment);
        }
        _exit(127);
    }
    setpgid(pid, pid);
    close(out[1]);
    close(err[1]);
    struct pollfd fds[2] = { { .fd = out[0], .events = POLLIN }, { .fd = err[0], .events = POLLIN } };
    long copied[2] = { 0, 0 };
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int killed = 0, open_streams = 2;
    char buf[65536];
    while (open_streams > 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        long limit = (long)budget * 1000 + (killed ? 2000 : 0);
        if (elapsed >= limit) {
            kill(-pid, killed ? SIGKILL : SIGTERM);
            if (killed) break;
            killed = 1;
            continue;
        }
        if (poll(fds, 2, (int)(limit - elapsed)) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n <= 0) { close(fds[i].fd); fds[i].fd = -1; open_streams--; continue; }
            long room = MAX_OUTPUT - copied[i];
            size_t keep = n < room ? (size_t)n : (size_t)room;
            for (size_t done = 0; done < keep;) {
                ssize_t w = write(i + 1, buf + done, keep - done);
                if (w <= 0) { keep = done; room = 0; break; }
                done += (size_t)w;
            }
            copied[i] += (long)keep;
            if (copied[i] >= MAX_OUTPUT || room == 0) { close(fds[i].fd); fds[i].fd = -1; open_streams--; }
        }
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (killed) { fprintf(stderr, "mcp-wrapper: timed out after %ds\n", budget); exit(EXIT_TIMED_OUT); }
    if (rc == 141) { fprintf(stderr, "mcp-wrapper: output truncated at %d bytes\n", MAX_OUTPUT); exit(0); }
    exit(rc);
}

/* SHA-256 (FIPS 180-4), small and self-contained: linking libcrypto would cost every request its loading. */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
    0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
    0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
    0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2 };
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
static void sha256_block(uint32_t h[8], const unsigned char *p) {
    uint32_t w[64], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++)
        w[i] = w[i - 16] + (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3)) + w[i - 7] + (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10));
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}
/* sha256_line PATH: "sha256 HEX PATH", or "sha256 unreadable PATH" (as the common script's). */
static void sha256_line(const char *path) {
    uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    unsigned char block[128];
    size_t fill = 0;
    uint64_t total = 0;
    ssize_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && (n = read(fd, block + fill, 64 - fill)) > 0) {
        fill += (size_t)n;
        total += (uint64_t)n;
        if (fill == 64) { sha256_block(h, block); fill = 0; }
    }
    if (fd >= 0) close(fd);
    if (fd < 0 || n < 0) { printf("sha256 unreadable %s\n", path); return; }
    block[fill++] = 0x80;
    size_t end = fill <= 56 ? 64 : 128;
    memset(block + fill, 0, end - fill);
    for (int i = 0; i < 8; i++) block[end - 1 - i] = (unsigned char)((total * 8) >> (8 * i));
    sha256_block(h, block);
    if (end == 128) sha256_block(h, block + 64);
    printf("sha256 ");
    for (int i = 0; i < 8; i++) printf("%08x", h[i]);
    printf(" %s\n", path);
}

int main(int argc, char **argv) {
    struct passwd *pw = getpwuid(geteuid());
    if (!pw) return 1;
    user = strdup(pw->pw_name);
    static char client_buf[256], request_buf[1100];
    const char *c = getenv("SSH_CLIENT"), *r = getenv("SSH_ORIGINAL_COMMAND");
    snprintf(client_buf, sizeof client_buf, "%s", c ? c : "");
    client_buf[strcspn(client_buf, " ")] = 0;
    client = client_buf;
    request = r ? r : "";
    if (argc != 2 || strcmp(argv[1], "--role=reader") != 0)
        refuse(EXIT_REFUSED, "mcp-wrapper must be the forced command of the reader key (--role=reader)");
    if (!*request) refuse(EXIT_REFUSED, "empty request");
    if (strlen(request) > 1024) refuse(EXIT_REFUSED, "request longer than 1024 bytes");
    if (request[strspn(request, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ._:@/+=,-")])
        refuse(EXIT_REFUSED, "character outside the grammar");
    size_t length = strlen(request);
    if (request[0] == ' ' || request[length - 1] == ' ' || strstr(request, "  "))
        refuse(EXIT_REFUSED, "words are separated by single spaces");
    snprintf(request_buf, sizeof request_buf, "%s", request);
    char *save = NULL, *word = strtok_r(request_buf, " ", &save);
    verb = word;
    if (!matches(verb, "[a-z][a-z0-9-]{0,31}")) refuse(EXIT_REFUSED, "malformed verb");
    while ((word = strtok_r(NULL, " ", &save))) {
        char *eq = strchr(word, '=');
        if (!eq || nargs == MAX_ARGS) refuse(EXIT_REFUSED, "argument is not NAME=VALUE");
        *eq = 0;
        if (!matches(word, "[a-z][a-z-]{0,15}") || !eq[1]) refuse(EXIT_REFUSED, "argument is not NAME=VALUE");
        if (arg(word)) refuse(EXIT_REFUSED, "argument %s given twice", word);
        names[nargs] = word;
        values[nargs++] = eq + 1;
    }
    const char *t = arg("timeout");
    if (t) {
        long n = matches(t, "[0-9]{1,3}") ? strtol(t, NULL, 10) : 0;
        if (n < 1 || n > MAX_BUDGET) refuse(EXIT_REFUSED, "timeout must be 1 to %d seconds", MAX_BUDGET);
        budget = (int)n;
        for (int i = 0; i < nargs; i++) if (strcmp(names[i], "timeout") == 0) { names[i] = names[--nargs]; values[i] = values[nargs]; break; }
    }
    const char *unit = "[A-Za-z0-9][A-Za-z0-9_.@:-]{0,126}";
    if (strcmp(verb, "version") != 0) take_slot();
    if (strcmp(verb, "version") == 0) {
        accept_only((const char *const[]){ NULL });
        audit("accepted user=%s client=%s verb=version", user, *client ? client : "local");
        printf("mcp-wrapper 1.0.0 role=reader user=%s\n", user);
        const char *files[] = { LIB "/mcp-wrapper", LIB "/pra-exec", LIB "/pra-run", LIB "/target-common.sh", LIB "/pra-catalogue.tsv" };
        for (size_t i = 0; i < 5; i++) sha256_line(files[i]);
        char sudoers[256] = "/etc/sudoers.d/mcp-linux-infra";
        setting("sudoers-file", sudoers, sizeof sudoers);
        sha256_line(sudoers);
        FILE *f = fopen(CONF "/sshd-open-paths", "re");
        char line[512];
        while (f && fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            if (matches(line, "[a-z]+ [[:print:]]{1,200}")) printf("warning sshd-open-path %s\n", line);
        }
        if (f) fclose(f);
        return 0;
    }
    if (strcmp(verb, "memory") == 0) {
        accept_only((const char *const[]){ NULL });
        run((char *const[]){ "cat", "--", "/proc/meminfo", NULL });
    }
    if (strcmp(verb, "disks") == 0) {
        accept_only((const char *const[]){ NULL });
        run((char *const[]){ "df", "-P", "-B1", "-T", "-x", "tmpfs", "-x", "devtmpfs", "-x", "squashfs", "-x", "overlay", NULL });
    }
    if (strcmp(verb, "unit-status") == 0) {
        accept_only((const char *const[]){ "unit", NULL });
        char *u = (char *)value("unit", unit, "");
        run((char *const[]){ "systemctl", "status", "--no-pager", "--lines=0", "--", u, NULL });
    }
    if (strcmp(verb, "journal") == 0) {
        static char lines[32], unit_opt[160], priority[48], since[64], grep[300];
        char *cmd[12] = { "journalctl", "--no-pager", "--quiet", "--output=short-iso", lines };
        int n = 5;
        accept_only((const char *const[]){ "unit", "priority", "since", "lines", "grep", NULL });
        snprintf(lines, sizeof lines, "--lines=%ld", number("lines", 1000, "100"));
        if (arg("unit")) { snprintf(unit_opt, sizeof unit_opt, "--unit=%s", value("unit", unit, "")); cmd[n++] = unit_opt; }
        if (arg("priority")) { snprintf(priority, sizeof priority, "--priority=%s", value("priority", "emerg|alert|crit|err|warning|notice|info|debug|[0-7]", "")); cmd[n++] = priority; }
        if (arg("since")) {
            snprintf(since, sizeof since, "--since=%s", value("since", "-[0-9]{1,4}(s|min|m|h|d|w)|today|yesterday|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?)?", ""));
            char *tee = strchr(since + 8, 'T');
            if (tee) *tee = ' ';
            cmd[n++] = since;
        }
        if (arg("grep")) {
            const char *g = value("grep", "[A-Za-z0-9._:@/+,-]{1,128}", "");
            size_t o = (size_t)snprintf(grep, sizeof grep, "--grep=");
            for (; *g && o + 3 < sizeof grep; g++) { if (*g == '.' || *g == '+') grep[o++] = '\\'; grep[o++] = *g; }
            grep[o] = 0;
            cmd[n++] = grep;
            cmd[n++] = "--case-sensitive=false";
        }
        cmd[n] = NULL;
        run(cmd);
    }
    refuse(EXIT_REFUSED, "unknown verb %s", verb);
}
