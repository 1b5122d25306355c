import Foundation
@testable import InfraDomain
import InfraTestSupport
import Testing

@Suite("Approval statements and SSH signatures (pure; ssh-keygen for interoperability)")
struct ApprovalStatementTests {
    static func statement(parameters: [String: String] = ["unit": "nginx.service"]) -> ApprovalStatement {
        ApprovalStatement(proposalID: "3f2a9c1e-0000-4000-8000-000000000001", host: "web1",
                          hostKeyFingerprint: "SHA256:" + String(repeating: "A", count: 43), action: "restart_service",
                          parameters: parameters, catalogueVersion: "sha256:" + String(repeating: "c", count: 64),
                          digest: "sha256:" + String(repeating: "d", count: 64), principal: "alice@example.org",
                          notBefore: Date(timeIntervalSince1970: 1_795_000_000.7), notAfter: Date(timeIntervalSince1970: 1_795_000_900),
                          auditHead: .init(sequence: 42, hash: String(repeating: "e", count: 64)))
    }

    @Test("The canonical text: fixed field order, sorted params, whole seconds in UTC, and it parses back to itself")
    func canonicalText() throws {
        let text = try Self.statement(parameters: ["b": "2", "a": "1"]).text()
        #expect(text == """
        mcp-linux-infra approval statement v1
        id: 3f2a9c1e-0000-4000-8000-000000000001
        host: web1
        host-key: SHA256:\(String(repeating: "A", count: 43))
        action: restart_service
        param: a=1
        param: b=2
        catalogue: sha256:\(String(repeating: "c", count: 64))
        digest: sha256:\(String(repeating: "d", count: 64))
        principal: alice@example.org
        not-before: 2026-11-18T11:06:40Z
        not-after: 2026-11-18T11:21:40Z
        audit-head: 42 \(String(repeating: "e", count: 64))

        """)
        #expect(try ApprovalStatement.parse(text) == Self.statement(parameters: ["b": "2", "a": "1"]))
    }

    @Test("A value that could imitate a field, and text that is not canonical, are refused")
    func refusesForgeries() throws {
        #expect(throws: ApprovalStatement.Problem.self) { try Self.statement(parameters: ["unit": "x\nhost: db1"]).text() }
        #expect(throws: ApprovalStatement.Problem.self) { try Self.statement(parameters: ["unit": "a b"]).text() }
        var other = Self.statement()
        other.principal = "alice example"
        #expect(throws: ApprovalStatement.Problem.self) { try other.text() }
        let text = try Self.statement().text()
        for forged in [text.replacingOccurrences(of: "host: web1\n", with: "host: web1\nhost: db1\n"),
                       text.replacingOccurrences(of: "\n", with: "\r\n"), String(text.dropLast()),
                       text.replacingOccurrences(of: "param: unit", with: "param:  unit"), text + "extra: 1\n"] {
            #expect(throws: ApprovalStatement.Problem.self) { try ApprovalStatement.parse(forged) }
        }
    }

    /// Runs a program with an argument vector and returns its exit status.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> Int32 {
        try ChildProcess.runBlocking(executable, arguments, input: input.map { Data($0.utf8) }).status
    }

    static let keygen = "/usr/bin/ssh-keygen"

    @Test("A signature made by ssh-keygen -Y sign verifies here, for ed25519 and ECDSA P-256/384/521; a changed message or another namespace does not",
          .enabled(if: FileManager.default.isExecutableFile(atPath: keygen), "needs ssh-keygen (openssh-client)"),
          arguments: [["-t", "ed25519"], ["-t", "ecdsa", "-b", "256"], ["-t", "ecdsa", "-b", "384"], ["-t", "ecdsa", "-b", "521"]])
    func interoperatesWithSSHKeygen(_ keyArguments: [String]) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sshsig-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = directory + "/key", message = directory + "/statement.txt"
        let text = try Self.statement().text()
        try text.write(toFile: message, atomically: true, encoding: .utf8)
        #expect(try Self.run(Self.keygen, ["-q"] + keyArguments + ["-N", "", "-C", "alice", "-f", key]) == 0)
        #expect(try Self.run(Self.keygen, ["-Y", "sign", "-f", key, "-n", ApprovalStatement.namespace, message]) == 0)
        let signature = try SSHSignature.parse(armored: String(contentsOfFile: message + ".sig", encoding: .utf8))
        let publicKey = try SSHPublicKey.parseLine(String(contentsOfFile: key + ".pub", encoding: .utf8))
        #expect(signature.publicKey.blob == publicKey.blob)
        try signature.verify(message: Array(text.utf8), namespace: ApprovalStatement.namespace)
        #expect(throws: SSHSignature.Problem.badSignature) {
            try signature.verify(message: Array(text.replacingOccurrences(of: "web1", with: "web2").utf8), namespace: ApprovalStatement.namespace)
        }
        #expect(throws: SSHSignature.Problem.self) { try signature.verify(message: Array(text.utf8), namespace: "file") }
        // Another namespace at signing time.
        try FileManager.default.removeItem(atPath: message + ".sig")
        #expect(try Self.run(Self.keygen, ["-Y", "sign", "-f", key, "-n", "git", message]) == 0)
        let other = try SSHSignature.parse(armored: String(contentsOfFile: message + ".sig", encoding: .utf8))
        #expect(throws: SSHSignature.Problem.wrongNamespace(expected: ApprovalStatement.namespace, found: "git")) {
            try other.verify(message: Array(text.utf8), namespace: ApprovalStatement.namespace)
        }
    }

    @Test("An RSA signature and malformed text are refused with a reason",
          .enabled(if: FileManager.default.isExecutableFile(atPath: keygen), "needs ssh-keygen (openssh-client)"))
    func refusesRSAAndGarbage() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sshsig-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = directory + "/rsa", message = directory + "/m"
        try "hello\n".write(toFile: message, atomically: true, encoding: .utf8)
        #expect(try Self.run(Self.keygen, ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", key]) == 0)
        #expect(try Self.run(Self.keygen, ["-Y", "sign", "-f", key, "-n", ApprovalStatement.namespace, message]) == 0)
        #expect(throws: SSHSignature.Problem.unsupportedKey("ssh-rsa")) {
            try SSHSignature.parse(armored: String(contentsOfFile: message + ".sig", encoding: .utf8))
        }
        #expect(throws: SSHSignature.Problem.self) { try SSHSignature.parse(armored: "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n") }
        #expect(throws: SSHSignature.Problem.self) { try SSHSignature.parse(armored: "hello") }
    }
}

@Suite("Component drift (pure)")
struct ComponentDriftTests {
    static let output = """
    mcp-wrapper 1.0.0 role=reader user=mcp-reader
    sha256 \(String(repeating: "a", count: 64)) /usr/local/lib/mcp-linux-infra/mcp-wrapper
    sha256 unreadable /usr/local/lib/mcp-linux-infra/pra-run
    sha256 \(String(repeating: "c", count: 64)) /usr/local/lib/mcp-linux-infra/pra-catalogue.tsv
    sha256 \(String(repeating: "d", count: 64)) /etc/sudoers.d/mcp-linux-infra
    """

    @Test("Reported hashes are read by file name; differences name the component; nothing reported means nothing to compare")
    func differences() {
        let reported = ComponentDrift.reported(in: Self.output)
        #expect(reported == ["mcp-wrapper": String(repeating: "a", count: 64), "pra-run": "unreadable",
                             "pra-catalogue.tsv": String(repeating: "c", count: 64)])
        let expected = ["mcp-wrapper": String(repeating: "a", count: 64), "pra-run": String(repeating: "b", count: 64),
                        "pra-exec": String(repeating: "e", count: 64), "pra-catalogue.tsv": String(repeating: "f", count: 64)]
        let found = ComponentDrift.differences(reported: reported, expected: expected)
        #expect(found.map(\.component) == ["pra-exec", "pra-run", "pra-catalogue.tsv"])
        #expect(found.first?.host == "missing" && found[1].host == "unreadable")
        #expect(ComponentDrift.differences(reported: [:], expected: expected).isEmpty)
        #expect(ComponentDrift.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

@Suite("Signed approvals: the rules by which one counts (ssh-keygen signs, our verifier decides)",
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh-keygen"), "needs ssh-keygen (openssh-client)"))
struct ApprovalVerificationTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("approval-\(UUID().uuidString)").path

    func key(_ name: String) throws -> SSHPublicKey {
        let path = directory + "/" + name
        if !FileManager.default.fileExists(atPath: path) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            #expect(try ApprovalStatementTests.run(ApprovalStatementTests.keygen, ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path]) == 0)
        }
        return try SSHPublicKey.parseLine(String(contentsOfFile: path + ".pub", encoding: .utf8))
    }

    /// ssh-keygen -Y sign over `text` with `name`'s key, for `namespace`.
    func sign(_ text: String, by name: String, namespace: String = ApprovalStatement.namespace) throws -> String {
        _ = try key(name)
        let file = directory + "/statement-\(UUID().uuidString)"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try ApprovalStatementTests.run(ApprovalStatementTests.keygen, ["-Y", "sign", "-f", directory + "/" + name, "-n", namespace, file]) == 0)
        return try String(contentsOfFile: file + ".sig", encoding: .utf8)
    }

    func expected() throws -> ApprovalVerification.Expected {
        let host = InventoryHost(name: "web1", address: "192.0.2.1", approvers: [Approver(principal: "alice@example.org", key: try key("alice")),
                                                                               Approver(principal: "bob@example.org", key: try key("bob"))])
        let statement = ApprovalStatementTests.statement()
        return .init(proposalID: statement.proposalID, host: host, hostKeyFingerprints: [statement.hostKeyFingerprint], action: statement.action,
                     parameters: statement.parameters, catalogueVersion: statement.catalogueVersion)
    }

    let now = Date(timeIntervalSince1970: 1_795_000_300)
    func chain(_ sequence: Int64) -> String? { sequence == 42 ? String(repeating: "e", count: 64) : nil }

    /// Signs `statement` (its digest recomputed from what it names, unless `keepDigest`) and verifies it.
    func check(_ statement: ApprovalStatement, by signer: String = "alice", namespace: String = ApprovalStatement.namespace,
               expected: ApprovalVerification.Expected? = nil, at time: Date? = nil, keepDigest: Bool = false) throws -> Result<String, ApprovalVerification.Refusal> {
        var statement = statement
        if !keepDigest {
            statement.digest = ApprovalDigest.compute(action: statement.action, host: statement.host, parameters: statement.parameters,
                                                      catalogueVersion: statement.catalogueVersion)
        }
        let text = try statement.text()
        let signature = try sign(text, by: signer, namespace: namespace)
        let expectation = try expected ?? self.expected()
        do throws(ApprovalVerification.Refusal) {
            return .success(try ApprovalVerification.verify(statement: text, signature: signature, expected: expectation,
                                                             now: time ?? now, auditHashAt: chain).principal)
        } catch {
            return .failure(error)
        }
    }

    func refused(_ result: Result<String, ApprovalVerification.Refusal>, _ words: String, sourceLocation: SourceLocation = #_sourceLocation) {
        switch result {
        case .success(let principal): Issue.record("counted as \(principal), expected a refusal with '\(words)'", sourceLocation: sourceLocation)
        case .failure(let refusal): #expect(refusal.description.contains(words), "\(refusal)", sourceLocation: sourceLocation)
        }
    }

    @Test("A statement anchored at row 0 (genesis) anchors nothing: refused when it is to count now, accepted only as history")
    func genesisAnchor() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var statement = ApprovalStatementTests.statement()
        statement.auditHead = .init(sequence: 0, hash: AuditChain.genesis)
        // To count now (approve, claim): a proposal always has rows in the log, so row 0 is in no chain.
        refused(try check(statement), "audit head (row 0)")
        // As history (`audit verify`), as before: row 0 names the genesis hash and nothing else.
        statement.digest = ApprovalDigest.compute(action: statement.action, host: statement.host, parameters: statement.parameters,
                                                  catalogueVersion: statement.catalogueVersion)
        let text = try statement.text()
        let signature = try sign(text, by: "alice")
        let history = try ApprovalVerification.verify(statement: text, signature: signature, expected: try expected(), now: nil, auditHashAt: chain)
        #expect(history.principal == "alice@example.org")
    }

    @Test("A statement signed by a listed approver counts as that principal; every other case is refused with its reason")
    func rules() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try check(ApprovalStatementTests.statement()) == .success("alice@example.org"))
        var other = ApprovalStatementTests.statement()
        other.host = "db1"
        refused(try check(other), "for host db1")
        other = ApprovalStatementTests.statement()
        other.hostKeyFingerprint = "SHA256:" + String(repeating: "B", count: 43)
        refused(try check(other), "pinned key")
        other = ApprovalStatementTests.statement(parameters: ["unit": "ssh.service"])
        refused(try check(other), "other parameters")
        other = ApprovalStatementTests.statement()
        other.action = "reboot_system"
        refused(try check(other), "another action")
        other = ApprovalStatementTests.statement()
        other.catalogueVersion = "sha256:" + String(repeating: "0", count: 64)
        refused(try check(other), "catalogue")
        other = ApprovalStatementTests.statement()
        other.proposalID = "3f2a9c1e-0000-4000-8000-000000000002"
        refused(try check(other), "for proposal")
        refused(try check(ApprovalStatementTests.statement(), at: Date(timeIntervalSince1970: 1_795_001_000)), "expired")
        refused(try check(ApprovalStatementTests.statement(), at: Date(timeIntervalSince1970: 1_794_999_000)), "not valid before")
        other = ApprovalStatementTests.statement()
        other.principal = "mallory@example.org"
        refused(try check(other), "not an approver of web1")
        // bob signs a statement that names alice: the key is not alice's.
        refused(try check(ApprovalStatementTests.statement(), by: "bob"), "not by alice@example.org's key")
        // A key in nobody's list.
        _ = try key("mallory")
        refused(try check(ApprovalStatementTests.statement(), by: "mallory"), "not by alice@example.org's key")
        refused(try check(ApprovalStatementTests.statement(), namespace: "git"), "namespace")
        other = ApprovalStatementTests.statement()
        other.auditHead = .init(sequence: 43, hash: String(repeating: "e", count: 64))
        refused(try check(other), "not in the audit log")
        other.auditHead = .init(sequence: 42, hash: String(repeating: "f", count: 64))
        refused(try check(other), "rewritten")
        // A digest copied from a database row instead of recomputed from what the statement names.
        refused(try check(ApprovalStatementTests.statement(), keepDigest: true), "is not the one its action, host, parameters and catalogue recompute to")
        // A window longer than the host allows (mcp_approval_max_window), though shorter than a day.
        var strict = try expected()
        strict.host.approvalMaxWindow = 600
        refused(try check(ApprovalStatementTests.statement(), expected: strict), "window (900 s) is longer than web1's maximum (600 s")
        // A changed byte after signing.
        var original = ApprovalStatementTests.statement()
        original.digest = try expected().digest
        let text = try original.text()
        let signature = try sign(text, by: "alice")
        let expectation = try expected()
        #expect(throws: ApprovalVerification.Refusal.self) {
            try ApprovalVerification.verify(statement: text.replacingOccurrences(of: "nginx", with: "nginy"), signature: signature,
                                            expected: expectation, now: now, auditHashAt: chain)
        }
    }
}
