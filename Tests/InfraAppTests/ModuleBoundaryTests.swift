import Foundation
import InfraTestSupport
import Testing

/// The adapters' one door into the use cases (docs/ARCHITECTURE.md, "Modules"). SwiftPM does not enforce it:
/// a target compiles against every module below its dependencies, so `import InfraStoreSQLite` in InfraMCP
/// builds. This test is what refuses it.
@Suite("Module boundaries")
struct ModuleBoundaryTests {
    /// The adapters, and the modules below InfraApp that they must not import.
    static let adapters = ["Sources/InfraMCP", "Sources/InfraHTTP", "Sources/InfraConsole", "Sources/MCPLinuxInfra"]
    static let below = ["InfraStoreSQLite", "InfraStorePostgres", "InfraSSH", "InfraConfig", "GRDB", "PostgresNIO", "NIOSSL", "CLibSSH2"]

    @Test("InfraMCP, InfraHTTP, InfraConsole and MCPLinuxInfra import neither the store, SSH, the configuration nor their libraries")
    func adaptersReachOnlyTheApplication() throws {
        let root = LoopbackTarget.repositoryRoot
        let pattern = try Regex("^\\s*(@[A-Za-z_]+(\\([^)]*\\))?\\s+)*((public|package|internal|fileprivate|private)\\s+)?import\\s+"
                                + "((struct|class|enum|protocol|typealias|func|let|var)\\s+)?(\(Self.below.joined(separator: "|")))(?![A-Za-z0-9_])")
        var files = 0
        var found: [String] = []
        for folder in Self.adapters {
            let walker = try #require(FileManager.default.enumerator(atPath: root + "/" + folder), "no \(folder)")
            for case let path as String in walker where path.hasSuffix(".swift") {
                files += 1
                let text = try String(contentsOfFile: root + "/" + folder + "/" + path, encoding: .utf8)
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                where line.firstMatch(of: pattern) != nil {
                    found.append("\(folder)/\(path):\(number + 1): \(line)")
                }
            }
        }
        #expect(files > 10)
        #expect(found.isEmpty, "an adapter reaches below InfraApp:\n\(found.joined(separator: "\n"))")
    }

    /// What the review console may import: the application, the domain, its HTTP and template libraries, logging.
    static let consoleImports: Set<String> = ["InfraApp", "InfraDomain", "Hummingbird", "Mustache", "Logging", "Foundation"]

    @Test("InfraConsole imports only InfraApp, InfraDomain, Hummingbird, Mustache, Logging and Foundation")
    func consoleImportsOnlyItsAllowlist() throws {
        let folder = LoopbackTarget.repositoryRoot + "/Sources/InfraConsole"
        let walker = try #require(FileManager.default.enumerator(atPath: folder), "no Sources/InfraConsole")
        var imported: [String] = []
        for case let path as String in walker where path.hasSuffix(".swift") {
            let text = try String(contentsOfFile: folder + "/" + path, encoding: .utf8)
            for line in text.split(separator: "\n") {
                guard let match = line.firstMatch(of: /^\s*(?:@[A-Za-z_]+\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+(?:(?:struct|class|enum|protocol|typealias|func|let|var)\s+)?([A-Za-z0-9_]+)/) else { continue }
                if !Self.consoleImports.contains(String(match.output.1)) { imported.append("\(path): \(line)") }
            }
        }
        #expect(imported.isEmpty, "InfraConsole imports beyond its allowlist:\n\(imported.joined(separator: "\n"))")
    }

    @Test("Metrics are recorded through swift-metrics only: Prometheus is imported by the HTTP front alone")
    func prometheusOnlyInTheHTTPFront() throws {
        let root = LoopbackTarget.repositoryRoot + "/Sources"
        let pattern = try Regex("^\\s*(@[A-Za-z_]+\\s+)*((public|package|internal|fileprivate|private)\\s+)?import\\s+"
                                + "((struct|class|enum|protocol|typealias|func|let|var)\\s+)?Prometheus(?![A-Za-z0-9_])")
        let walker = try #require(FileManager.default.enumerator(atPath: root), "no Sources")
        var found: [String] = []
        for case let path as String in walker where path.hasSuffix(".swift") && !path.hasPrefix("InfraHTTP/") {
            let text = try String(contentsOfFile: root + "/" + path, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where line.firstMatch(of: pattern) != nil {
                found.append("Sources/\(path):\(number + 1): \(line)")
            }
        }
        #expect(found.isEmpty, "Prometheus outside InfraHTTP (record through InfraApp's InfraMetrics instead):\n\(found.joined(separator: "\n"))")
    }
}
