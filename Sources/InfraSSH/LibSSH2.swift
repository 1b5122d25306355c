import CLibSSH2
import Glibc

/// Process-wide libssh2 facts: one-time initialisation and error text.
enum LibSSH2 {
    /// `libssh2_init` is not thread-safe; a global `let` runs it exactly once.
    private static let initialised: Int32 = libssh2_init(0)

    /// Ensures the library is initialised before the first session.
    static func ensureInitialised() { _ = initialised }

    /// The session's last error as "message (rc N)".
    static func lastError(_ session: OpaquePointer?) -> String {
        guard let session else { return "no session" }
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let code = libssh2_session_last_error(session, &message, &length, 0)
        let text = message.map { String(cString: $0) } ?? "unknown error"
        return "\(text) (rc \(code))"
    }

    static let again = Int32(LIBSSH2_ERROR_EAGAIN)
}

/// Errno as text.
func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
