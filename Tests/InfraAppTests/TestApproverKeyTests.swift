import Foundation
import InfraApp
import InfraDomain
import InfraTestSupport
import Testing

@Suite("The in-process test signer makes real SSHSIG signatures")
struct TestApproverKeyTests {
    @Test("Our verifier accepts its signatures for the key it names, and refuses them over other text or for another namespace")
    func verifies() throws {
        let alice = TestApproverKey("alice")
        #expect(TestApproverKey("alice").publicKey == alice.publicKey && TestApproverKey("bob").publicKey != alice.publicKey)
        let text = "mcp-linux-infra approval statement v1\nid: 0000\n"
        let signature = try SSHSignature.parse(armored: alice.signature(over: text))
        #expect(signature.publicKey.blob == alice.publicKey.blob && signature.namespace == ApprovalStatement.namespace)
        try signature.verify(message: Array(text.utf8), namespace: ApprovalStatement.namespace)
        #expect(throws: SSHSignature.Problem.badSignature) { try signature.verify(message: Array((text + "x").utf8), namespace: ApprovalStatement.namespace) }
        let other = try SSHSignature.parse(armored: alice.signature(over: text, namespace: "git"))
        #expect(throws: SSHSignature.Problem.wrongNamespace(expected: ApprovalStatement.namespace, found: "git")) {
            try other.verify(message: Array(text.utf8), namespace: ApprovalStatement.namespace)
        }
    }

    @Test("OpenSSH's ssh-keygen -Y check-novalidate accepts them, as the targets' pra-run does",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh-keygen"), "needs ssh-keygen (openssh-client)"))
    func opensshAccepts() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("signer-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let alice = TestApproverKey("alice")
        let text = "mcp-linux-infra approval statement v1\nid: 0001\n"
        try alice.signature(over: text).write(toFile: folder + "/statement.sig", atomically: true, encoding: .utf8)
        func check(_ message: String) async throws -> Int32 {
            try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-Y", "check-novalidate", "-n", ApprovalStatement.namespace, "-s", folder + "/statement.sig"],
                                        input: Data(message.utf8)).status
        }
        #expect(try await check(text) == 0)
        #expect(try await check(text + "changed") != 0)
        // And the allowed_signers line the role renders verifies it under the principal.
        try Approver.allowedSigners([alice.approver()]).write(toFile: folder + "/allowed_signers", atomically: true, encoding: .utf8)
        let verified = try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-Y", "verify", "-f", folder + "/allowed_signers", "-I", alice.principal,
                                                                          "-n", ApprovalStatement.namespace, "-s", folder + "/statement.sig"],
                                                   input: Data(text.utf8))
        #expect(verified.status == 0, "\(verified.stderr)")
    }
}
