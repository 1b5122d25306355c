import Foundation

/// One approval as an approver hands it over: the statement text they signed and the armored SSHSIG
/// (`-----BEGIN SSH SIGNATURE-----`) over exactly that text. It travels to the target as one stdin line,
/// `approval BASE64(STATEMENT) BASE64(SIGNATURE)`, where pra-run verifies it again as root.
public struct SignedApproval: Sendable, Equatable, Codable {
    public var statement: String
    public var signature: String

    /// Creates a signed approval.
    public init(statement: String, signature: String) {
        self.statement = statement
        self.signature = signature
    }

    /// The line pra-exec and pra-run read on stdin.
    public var stdinLine: String {
        "approval \(Data(statement.utf8).base64EncodedString()) \(Data(signature.utf8).base64EncodedString())\n"
    }

    /// Reads a stdin line (or a ledger pair) back; nil when it is not two base64 fields of UTF-8 text.
    public static func parse(statementBase64: String, signatureBase64: String) -> SignedApproval? {
        guard let statement = Data(base64Encoded: statementBase64).flatMap({ String(data: $0, encoding: .utf8) }),
              let signature = Data(base64Encoded: signatureBase64).flatMap({ String(data: $0, encoding: .utf8) }) else { return nil }
        return SignedApproval(statement: statement, signature: signature)
    }
}
