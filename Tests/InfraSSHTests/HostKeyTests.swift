import Foundation
import InfraConfig
import InfraDomain
import InfraSSH
import InfraTestSupport
import Testing

@Suite("Host keys are pinned strictly (real loopback sshd)", requiresRoot)
struct HostKeyTests {
    /// Connects with `configuration` and returns the host key error it must fail with.
    private func hostKeyError(_ configuration: LoadedConfiguration) async -> HostKeyError? {
        let error = await #expect(throws: SSHError.self) {
            try await withPool(configuration) { pool in
                try await pool.execute(host: configuration.loopbackHost, credentials: configuration.reader, command: "version")
            }
        }
        #expect(error?.isRetryable == false)
        guard case .hostKey(let hostKeyError) = error else {
            Issue.record("expected a host key error, got \(String(describing: error))")
            return nil
        }
        return hostKeyError
    }

    @Test("The pinned ed25519 key connects although the host also offers ECDSA")
    func pinnedKeyConnects() async throws {
        try await LoopbackTarget.with { target in
            let configuration = try target.configuration()
            let result = try await withPool(configuration) { pool in
                try await pool.execute(host: configuration.loopbackHost, credentials: configuration.reader, command: "version")
            }
            #expect(result.exitCode == 0)
            #expect(result.stdoutText == "test-wrapper 1 role=reader user=\(target.readerUser)\n")
        }
    }

    @Test("A pinned ECDSA key connects too")
    func pinnedECDSAConnects() async throws {
        try await LoopbackTarget.with { target in
            let pub = try String(contentsOfFile: target.stateDirectory + "/hostkeys/ssh_host_ecdsa_key.pub", encoding: .utf8)
            let path = target.stateDirectory + "/known_hosts.ecdsa"
            let fields = pub.split(separator: " ")
            try "[127.0.0.1]:\(target.port) \(fields[0]) \(fields[1])\n".write(toFile: path, atomically: true, encoding: .utf8)
            let configuration = try target.configuration(["LINUX_MCP_KNOWN_HOSTS": path])
            let result = try await withPool(configuration) { pool in
                try await pool.execute(host: configuration.loopbackHost, credentials: configuration.runner, command: "echo ecdsa")
            }
            #expect(result.stdoutText == "ecdsa\n")
        }
    }

    @Test("An unpinned host is refused as unknown, with its fingerprint and how to pin it")
    func unknownHostRefused() async throws {
        try await LoopbackTarget.with { target in
            let path = target.stateDirectory + "/known_hosts.empty"
            try "# nothing pinned\n".write(toFile: path, atomically: true, encoding: .utf8)
            let configuration = try target.configuration(["LINUX_MCP_KNOWN_HOSTS": path])
            let presented = try fingerprint(ofPublicKeyFile: target.stateDirectory + "/hostkeys/ssh_host_ed25519_key.pub")
            guard let hostKeyError = await hostKeyError(configuration) else { return }
            #expect(hostKeyError.kind == .unknownHost)
            #expect(hostKeyError.description.contains(presented))
            #expect(hostKeyError.description.contains("ssh-keyscan -p \(target.port) -t ed25519 127.0.0.1 >> \(path)"))
        }
    }

    @Test("A changed host key is refused as changed, naming the pinned and the presented fingerprints")
    func changedKeyRefused() async throws {
        try await LoopbackTarget.with { target in
            let path = target.stateDirectory + "/known_hosts.changed"
            let otherPub = try await target.pinUnrelatedHostKey(at: path)
            let configuration = try target.configuration(["LINUX_MCP_KNOWN_HOSTS": path])
            guard let hostKeyError = await hostKeyError(configuration) else { return }
            #expect(hostKeyError.kind == .keyChanged)
            #expect(hostKeyError.description.contains("HOST KEY CHANGED"))
            #expect(hostKeyError.description.contains(try fingerprint(ofPublicKeyFile: otherPub)))
            #expect(hostKeyError.description.contains(
                try fingerprint(ofPublicKeyFile: target.stateDirectory + "/hostkeys/ssh_host_ed25519_key.pub")))
            // Nothing reached the forced command.
            #expect(!target.sshdLogText().contains("Accepted publickey"))
        }
    }
}
