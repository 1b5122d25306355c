import CLibSSH2
import Glibc

/// libssh2 facts: error text and return codes. Its process-wide lifetime is ``SSHRuntime``'s.
enum LibSSH2 {
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
