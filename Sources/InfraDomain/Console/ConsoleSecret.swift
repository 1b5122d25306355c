import Crypto
import Foundation

/// A secret the review console hands a browser (a session id, a CSRF token): hex text of random bytes the
/// caller draws, its SHA-256 (a server keeps only that for a session id), and comparison in constant time.
/// Pure.
public struct ConsoleSecret: Sendable, Equatable {
    /// The secret as handed out: lowercase hex.
    public let text: String

    /// A secret made of `random` (32 bytes for 256 bits).
    public init(random: [UInt8]) {
        text = Hex.lowercase(random)
    }

    /// Whether `text` has the form of a secret this type makes from 32 bytes: 64 lowercase hex digits.
    public static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// SHA-256 of `text`, hex: what a server keeps instead of the secret.
    public static func hash(_ text: String) -> String {
        Hex.lowercase(SHA256.hash(data: Array(text.utf8)))
    }

    /// Whether `given` is `expected`, comparing every byte whatever differs first.
    public static func matches(_ given: String, _ expected: String) -> Bool {
        let a = Array(given.utf8), b = Array(expected.utf8)
        var difference: UInt8 = a.count == b.count ? 0 : 1
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
