import Foundation
import InfraTestSupport
import Testing

/// `audit verify`'s exit status tells a finding from a check that could not be made (real binary, real SQLite file,
/// no root, no sshd: the inventory's host is a closed loopback port).
@Suite("audit verify: 0 verified, 1 tampered, 2 configuration, 3 could not check (real binary and SQLite)")
struct AuditVerifyExitCodeTests {
    @Test("Each exit status from real files: a verified log, a missing reader key, an unreachable host, an unreadable witness, a tampered row, and a finding winning over what could not be checked",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3"), "needs the sqlite3 program to tamper with a row"))
    func exitCodes() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("verify-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let env = try await LocalServeConfiguration.make(in: folder, hosts: ["web1"], port: try LocalServeConfiguration.closedPort())
        let heads = folder + "/heads.log"
        try "".write(toFile: heads, atomically: true, encoding: .utf8)
        let base = ["PATH": "/usr/bin:/bin", "HOME": folder]
        func cli(_ arguments: [String], _ extra: [String: String] = [:]) async throws -> ProcessRunner.Outcome {
            try await ProcessRunner.run(productBinary(), arguments + ["--env-file", env], environment: base.merging(extra) { $1 })
        }
        // serve on stdio with its input closed: it starts and stops, two audit rows.
        let served = try await ProcessRunner.run(productBinary(), ["serve", "--env-file", env], environment: base, input: Data())
        #expect(served.status == 0, "\(served)")

        let verified = try await cli(["audit", "verify", "--witness", heads])
        #expect(verified.status == 0 && verified.stdout.contains("audit verify: ok, 2 rows, chain intact"), "\(verified)")

        let noKey = try await cli(["audit", "verify", "--hosts", "--witness", heads], ["LINUX_MCP_READER_KEY": folder + "/keys/absent"])
        #expect(noKey.status == 3, "\(noKey)")
        #expect(noKey.stdout.contains("audit verify: COULD NOT CHECK 1 part(s) (what was checked holds)")
                && noKey.stdout.contains("every host's ledger: the reader account's key cannot be used here")
                && noKey.stdout.contains("\(folder)/keys/absent.pub: LINUX_MCP_READER_KEY: file not found")
                && noKey.stdout.contains("audit verify: incomplete, 2 rows, chain intact") && !noKey.stdout.contains("FAILED"), "\(noKey)")

        let unreachable = try await cli(["audit", "verify", "--hosts", "--witness", heads])
        #expect(unreachable.status == 3 && unreachable.stdout.contains("host web1: cannot read its ledger"), "\(unreachable)")

        let unreadableWitness = try await cli(["audit", "verify", "--witness", folder + "/no-such-heads.log"])
        #expect(unreadableWitness.status == 3 && unreadableWitness.stdout.contains("the witness: \(folder)/no-such-heads.log: cannot read it"),
                "\(unreadableWitness)")

        let wrong = try await cli(["audit", "verify", "--witness", heads], ["LINUX_MCP_LOG_LEVEL": "loud"])
        #expect(wrong.status == 2 && wrong.stderr.contains("LINUX_MCP_LOG_LEVEL"), "\(wrong)")

        let tamper = try await ProcessRunner.run("/usr/bin/sqlite3", [folder + "/state/state.sqlite3",
                                                                      "DROP TRIGGER audit_append_only_update; UPDATE audit SET detail = 'rewritten' WHERE seq = 1;"])
        #expect(tamper.status == 0, "\(tamper)")
        let tampered = try await cli(["audit", "verify", "--witness", heads])
        #expect(tampered.status == 1 && tampered.stdout.contains("audit verify: FAILED") && tampered.stdout.contains("row 1:"), "\(tampered)")

        let both = try await cli(["audit", "verify", "--hosts", "--witness", heads], ["LINUX_MCP_READER_KEY": folder + "/keys/absent"])
        #expect(both.status == 1 && both.stdout.contains("audit verify: FAILED") && both.stdout.contains("audit verify: COULD NOT CHECK 1 part(s)\n"),
                "\(both)")
    }
}
