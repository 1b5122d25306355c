/*
 * Thin C shim over libssh2 1.10 for Swift.
 *
 * Swift does not import function-like C macros, so the handful of libssh2
 * entry points that are macros are re-exposed here as static inline functions.
 * Nothing here holds state or policy; the Swift side owns every decision.
 */
#ifndef MCP_LINUX_INFRA_CLIBSSH2_SHIM_H
#define MCP_LINUX_INFRA_CLIBSSH2_SHIM_H

#include <libssh2.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>

static inline LIBSSH2_SESSION *cssh_session_init(void) {
    return libssh2_session_init_ex(NULL, NULL, NULL, NULL);
}

static inline int cssh_session_disconnect(LIBSSH2_SESSION *session, const char *description) {
    return libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, description, "");
}

static inline LIBSSH2_CHANNEL *cssh_channel_open_session(LIBSSH2_SESSION *session) {
    return libssh2_channel_open_ex(session, "session", sizeof("session") - 1,
                                   LIBSSH2_CHANNEL_WINDOW_DEFAULT,
                                   LIBSSH2_CHANNEL_PACKET_DEFAULT, NULL, 0);
}

static inline int cssh_channel_exec(LIBSSH2_CHANNEL *channel, const char *command, unsigned int length) {
    return libssh2_channel_process_startup(channel, "exec", sizeof("exec") - 1, command, length);
}

static inline ssize_t cssh_channel_read_stdout(LIBSSH2_CHANNEL *channel, char *buffer, size_t length) {
    return libssh2_channel_read_ex(channel, 0, buffer, length);
}

static inline ssize_t cssh_channel_read_stderr(LIBSSH2_CHANNEL *channel, char *buffer, size_t length) {
    return libssh2_channel_read_ex(channel, SSH_EXTENDED_DATA_STDERR, buffer, length);
}

static inline ssize_t cssh_channel_write_stdin(LIBSSH2_CHANNEL *channel, const char *buffer, size_t length) {
    return libssh2_channel_write_ex(channel, 0, buffer, length);
}

static inline int cssh_userauth_publickey_fromfile(LIBSSH2_SESSION *session, const char *user,
                                                   const char *publicKeyPath, const char *privateKeyPath) {
    return libssh2_userauth_publickey_fromfile_ex(session, user, (unsigned int)strlen(user),
                                                  publicKeyPath, privateKeyPath, NULL);
}

/* Disable Nagle; the first channel of a session otherwise stalls ~40 ms. */
static inline int cssh_set_tcp_nodelay(int fd) {
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Linux resets TCP_QUICKACK after use; set it before every poll(). */
static inline int cssh_set_tcp_quickack(int fd) {
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* A non-blocking, close-on-exec eventfd used to wake a session's poll loop. */
static inline int cssh_wake_fd(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

#endif
