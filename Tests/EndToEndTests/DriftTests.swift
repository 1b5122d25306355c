import Foundation
import InfraTestSupport
import Testing

/// Drift between the target side a host runs and this release (issue 12, part 6), on a loopback target that
/// gets the real system/ files: doctor, list_hosts and propose_pra_action see it.
@Suite("Drift: doctor, list_hosts and proposals compare a host's components with this release (real sshd)", endToEnd)
struct DriftTests {
    @Test("doctor passes on a fresh install, then reports DRIFT and exits 1 after one byte of the host's mcp-wrapper changes")
    func doctorReportsDrift() async throws {
        try await LoopbackTarget.with(extraArguments: ["--system"]) { target in
            let clean = try await ProcessRunner.run(productBinary(), ["doctor", "--env-file", target.envFile])
            #expect(clean.status == 0 && !clean.stdout.contains("DRIFT"), "\(clean.stdout)\(clean.stderr)")
            // One byte of a comment: the wrapper still runs, and still answers version.
            let wrapper = target.stateDirectory + "/prefix/lib/mcp-linux-infra/mcp-wrapper"
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: wrapper)))
            let comment = try #require(bytes.firstIndex(of: UInt8(ascii: "#")).flatMap { first in bytes[(first + 1)...].firstIndex(of: UInt8(ascii: "#")) })
            bytes[comment + 2] ^= 0x20
            try Data(bytes).write(to: URL(fileURLWithPath: wrapper))
            let drifted = try await ProcessRunner.run(productBinary(), ["doctor", "--env-file", target.envFile])
            #expect(drifted.status == 1, "\(drifted.stdout)\(drifted.stderr)")
            let line = drifted.stdout.split(separator: "\n").first { $0.hasPrefix("DRIFT") }.map(String.init) ?? ""
            #expect(line.contains("loopback") && line.contains("mcp-wrapper") && line.contains("redeploy"), "\(drifted.stdout)")
            #expect(!line.contains("pra-exec"), "only the changed component is named: \(line)")
        }
    }

    @Test("A host whose catalogue differs from the server's: list_hosts probe shows the drift, and a proposal for it is refused with the reason")
    func proposalRefusedOnCatalogueDrift() async throws {
        let extra = FileManager.default.temporaryDirectory.appendingPathComponent("extra-\(UUID().uuidString).tsv").path
        try FaultInjectionTests.sleepAction.write(toFile: extra, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: extra) }
        // The host's catalogue has one more action than the server's (the server reads system/pra-catalogue.tsv).
        try await LoopbackTarget.with(extraArguments: ["--system", "--extra-catalogue", extra]) { target in
            let cases: [[String: Any]] = [
                ["name": "probe", "expectId": 21,
                 "line": #"{"jsonrpc":"2.0","id":21,"method":"tools/call","params":{"name":"list_hosts","arguments":{"probe":true}}}"#],
                ["name": "propose", "expectId": 22,
                 "line": #"{"jsonrpc":"2.0","id":22,"method":"tools/call","params":{"name":"propose_pra_action","arguments":{"host":"loopback","action":"restart_unbound","rationale":"unbound is down on the host, restart it"}}}"#],
            ]
            let run = try await ProcessRunner.run("/usr/bin/python3", [FaultInjectionTests.rawClient, "error-codes", productBinary(), target.envFile,
                                                                       target.stateDirectory + "/serve.stderr",
                                                                       String(decoding: try JSONSerialization.data(withJSONObject: ["cases": cases]), as: UTF8.self)])
            try #require(run.status == 0, "client failed: \(run.stderr.suffix(2000))")
            let answers = try FaultInjectionTests.json(run.stdout)["answers"] as? [[String: Any]] ?? []
            func result(_ index: Int) -> [String: Any] { (answers[safe: index]?["answer"] as? [String: Any])?["result"] as? [String: Any] ?? [:] }
            let hosts = (result(0)["structuredContent"] as? [String: Any])?["hosts"] as? [[String: Any]] ?? []
            let drift = hosts.first { $0["name"] as? String == "loopback" }?["drift"] as? [String] ?? []
            #expect(drift.count == 1 && drift.first?.hasPrefix("pra-catalogue.tsv") == true, "\(hosts)")
            let text = ((result(1)["content"] as? [[String: Any]])?.first?["text"] as? String) ?? ""
            #expect(result(1)["isError"] as? Bool == true && text.contains("action catalogue") && text.contains("differs"), "\(text)")
            let list = try await ProcessRunner.run(productBinary(), ["actions", "list", "--all", "--env-file", target.envFile])
            #expect(list.stdout.contains("no actions"), "a refused proposal left a row: \(list.stdout)")
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
