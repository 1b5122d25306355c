import Crypto

/// The SHA-256 an approval is bound to: over a canonical form of the action, the host, the parameters and
/// the catalogue version. Execution recomputes it and refuses on any difference.
///
/// Canonical form (UTF-8), one field a line, parameters sorted by name, every value length-prefixed so no
/// value can imitate a field boundary:
/// ```
/// mcp-linux-infra approval v1
/// action <len>:<name>
/// host <len>:<inventory name>
/// catalogue <len>:<sha256:...>
/// param <len>:<name> <len>:<value>     (one line per parameter)
/// ```
public enum ApprovalDigest {
    /// The canonical text.
    public static func canonical(action: String, host: String, parameters: [String: String], catalogueVersion: String) -> String {
        func field(_ value: String) -> String { "\(value.utf8.count):\(value)" }
        var lines = ["mcp-linux-infra approval v1", "action " + field(action), "host " + field(host), "catalogue " + field(catalogueVersion)]
        for name in parameters.keys.sorted() { lines.append("param \(field(name)) \(field(parameters[name]!))") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `sha256:` and 64 lowercase hex digits.
    public static func compute(action: String, host: String, parameters: [String: String], catalogueVersion: String) -> String {
        let text = canonical(action: action, host: host, parameters: parameters, catalogueVersion: catalogueVersion)
        return "sha256:" + Hex.lowercase(SHA256.hash(data: Array(text.utf8)))
    }
}

extension ApprovalDigest {
    /// Why a stored digest does not hold.
    public struct Mismatch: Error, Equatable, CustomStringConvertible {
        public var stored: String
        public var recomputed: String
        public var description: String {
            "the stored digest \(stored) is not the one the stored action, host, parameters and catalogue recompute to (\(recomputed)): "
                + "the row was changed after it was proposed; it is never signed or run"
        }
    }

    /// The digest recomputed from the request, when `stored` (a database's copy) is that digest; every place
    /// that makes or checks a statement (server, reviewer's CLI, `audit verify`) goes through here.
    public static func recompute(stored: String, action: String, host: String, parameters: [String: String],
                                 catalogueVersion: String) throws(Mismatch) -> String {
        let digest = compute(action: action, host: host, parameters: parameters, catalogueVersion: catalogueVersion)
        guard stored == digest else { throw Mismatch(stored: stored, recomputed: digest) }
        return digest
    }
}
