/// The public-key algorithms the project accepts, for user keys and host keys alike.
///
/// RSA is deliberately absent: libssh2 1.10 signs with SHA-1 `ssh-rsa`, which OpenSSH 8.8 and later
/// refuse, so an RSA key would fail at the worst moment. It is refused when the configuration is read.
public enum SSHKeyType: String, Sendable, CaseIterable, Equatable {
    case ed25519 = "ssh-ed25519"
    case ecdsaP256 = "ecdsa-sha2-nistp256"
    case ecdsaP384 = "ecdsa-sha2-nistp384"
    case ecdsaP521 = "ecdsa-sha2-nistp521"

    /// The result of looking at an algorithm name found in a file.
    public enum Classification: Equatable {
        case supported(SSHKeyType)
        case rsa
        case unsupported
    }

    /// Classifies an algorithm name such as `ssh-ed25519` or `ssh-rsa`.
    public static func classify(_ name: String) -> Classification {
        if let type = SSHKeyType(rawValue: name) { return .supported(type) }
        if name == "ssh-rsa" || name.hasPrefix("rsa-sha2-") || name.hasPrefix("ssh-rsa-cert") {
            return .rsa
        }
        return .unsupported
    }

    /// The explanation given whenever an RSA key is met.
    public static let rsaExplanation =
        "RSA keys are refused: libssh2 1.10 signs with SHA-1 ssh-rsa, which OpenSSH 8.8+ rejects"
}
