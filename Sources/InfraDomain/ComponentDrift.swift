import Crypto
import Foundation

/// Drift between what a host runs and this release: the SHA-256 of each target-side component as the
/// host reports it (`mcp-wrapper version`: lines `sha256 HEX PATH`) against the files of the release the
/// server runs (the folder of `LINUX_MCP_CATALOGUE`, i.e. `system/`). Pure.
///
/// A host reports its own hashes, so drift detection finds an incomplete or stale deployment and honest
/// mistakes; it is no proof against a compromised host (the root side's own checks are).
public enum ComponentDrift {
    /// The components compared, by file name. The sudoers drop-in is rendered per host and not compared.
    public static let components = ["mcp-wrapper", "pra-exec", "pra-run", "target-common.sh", "pra-catalogue.tsv"]

    /// One component that differs.
    public struct Difference: Sendable, Equatable, CustomStringConvertible {
        public var component: String
        /// The host's hash, `unreadable`, or `missing` when the host did not report it.
        public var host: String
        public var expected: String

        public var description: String {
            "\(component) \(host == "missing" || host == "unreadable" ? host : "sha256 \(host.prefix(12))…")"
                + " (this release: \(expected.prefix(12))…)"
        }
    }

    /// SHA-256 as 64 lowercase hex digits, as `sha256sum` prints it.
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        Hex.lowercase(SHA256.hash(data: bytes))
    }

    /// The hashes a `version` answer reports, by file name; empty when it reports none (an older wrapper).
    public static func reported(in output: String) -> [String: String] {
        var hashes: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 2).map(String.init)
            guard fields.count == 3, fields[0] == "sha256" else { continue }
            let name = String(fields[2].split(separator: "/").last ?? "")
            if components.contains(name) { hashes[name] = fields[1] }
        }
        return hashes
    }

    /// The components whose reported hash is not the expected one. With no hashes reported at all, there
    /// is nothing to compare and the answer is empty.
    public static func differences(reported: [String: String], expected: [String: String]) -> [Difference] {
        guard !reported.isEmpty else { return [] }
        return components.compactMap { name in
            guard let want = expected[name] else { return nil }
            let have = reported[name] ?? "missing"
            return have == want ? nil : Difference(component: name, host: have, expected: want)
        }
    }
}
