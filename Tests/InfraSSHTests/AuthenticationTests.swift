import Foundation
import InfraDomain
import InfraSSH
import InfraTestSupport
import Logging
import Testing

@Suite("Authentication offers only the configured identity (real loopback sshd)", requiresRoot)
struct AuthenticationTests {
    /// Runs `body` with an agent holding `keys` (in that order), and always stops the agent.
    private func withAgent<T>(_ target: LoopbackTarget, keys: [String], _ body: (String) async throws -> T) async throws -> T {
        let agent = try await SSHAgentProcess(socketPath: target.stateDirectory + "/agent.sock")
        do {
            for key in keys { try await agent.add(key) }
            let value = try await body(agent.socketPath)
            await agent.stop()
            return value
        } catch {
            await agent.stop()
            throw error
        }
    }

    private func makeKey(_ target: LoopbackTarget, _ name: String, type: String) async throws -> String {
        let path = target.stateDirectory + "/" + name
        try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-t", type, "-N", "", "-C", name, "-f", path])
        return path
    }

    @Test("With an agent holding several keys, sshd sees only the configured one")
    func agentOffersOnlyConfiguredIdentity() async throws {
        try await LoopbackTarget.with { target in
            let decoyA = try await makeKey(target, "decoy-a", type: "ed25519")
            let decoyB = try await makeKey(target, "decoy-b", type: "ecdsa")
            let reader = target.stateDirectory + "/keys/mcp-reader"
            // Decoys first: an agent walk that offered keys in order would show them to sshd.
            try await withAgent(target, keys: [decoyA, decoyB, reader]) { socket in
                let capture = LogCapture()
                let configuration = try target.configuration(["LINUX_MCP_SSH_AGENT": socket])
                let (result, method) = try await withPool(configuration, logger: capture.logger()) { pool in
                    let result = try await pool.execute(host: configuration.loopbackHost, credentials: configuration.reader,
                                                        command: "version")
                    return (result, await pool.authenticationMethod(host: "loopback", user: target.readerUser))
                }
                #expect(result.exitCode == 0)
                #expect(method == "agent")
                #expect(!capture.messages.contains { $0.message.contains("reduced security") })

                let log = target.sshdLogText()
                let readerPrint = try fingerprint(ofPublicKeyFile: reader + ".pub")
                #expect(log.contains("Accepted publickey for \(target.readerUser)"))
                #expect(log.contains(readerPrint))
                #expect(!log.contains(try fingerprint(ofPublicKeyFile: decoyA + ".pub")))
                #expect(!log.contains(try fingerprint(ofPublicKeyFile: decoyB + ".pub")))

                // Control: OpenSSH's client walking the same agent does show the decoys in this log,
                // so the absence above is a real observation.
                let ssh = try await ProcessRunner.run("/usr/bin/ssh", [
                    "-o", "IdentityAgent=\(socket)", "-o", "UserKnownHostsFile=\(target.stateDirectory)/known_hosts",
                    "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-p", String(target.port),
                    "\(target.readerUser)@127.0.0.1", "version"])
                #expect(ssh.status == 0)
                #expect(target.sshdLogText().contains(try fingerprint(ofPublicKeyFile: decoyA + ".pub")))
            }
        }
    }

    @Test("Without the identity in the agent, the key file is used and the reduced security is logged")
    func keyFileFallbackWarns() async throws {
        try await LoopbackTarget.with { target in
            let decoy = try await makeKey(target, "decoy", type: "ed25519")
            try await withAgent(target, keys: [decoy]) { socket in
                let capture = LogCapture()
                let configuration = try target.configuration(["LINUX_MCP_SSH_AGENT": socket])
                let method = try await withPool(configuration, logger: capture.logger()) { pool in
                    let result = try await pool.execute(host: configuration.loopbackHost, credentials: configuration.runner,
                                                        command: "version")
                    #expect(result.stdoutText.hasPrefix("test-wrapper 1 role=runner"))
                    return await pool.authenticationMethod(host: "loopback", user: target.runnerUser)
                }
                #expect(method == "key-file")
                let warnings = capture.messages.filter { $0.level == .warning && $0.message.contains("reduced security") }
                #expect(warnings.count == 1)
                #expect(warnings.first?.message.contains(target.stateDirectory + "/keys/pra-runner") == true)
                #expect(!target.sshdLogText().contains(try fingerprint(ofPublicKeyFile: decoy + ".pub")))
            }
        }
    }

    @Test("A key the host does not accept fails authentication with a clear error")
    func wrongKeyRefused() async throws {
        try await LoopbackTarget.with { target in
            // The runner's key offered as the reader: a real key, but not the reader's.
            let configuration = try target.configuration([
                "LINUX_MCP_READER_KEY": target.stateDirectory + "/keys/pra-runner"])
            let error = await #expect(throws: SSHError.self) {
                try await withPool(configuration) { pool in
                    try await pool.execute(host: configuration.loopbackHost, credentials: configuration.reader, command: "version")
                }
            }
            guard case .authenticationFailed(_, let user, _) = error else {
                Issue.record("expected an authentication failure, got \(String(describing: error))")
                return
            }
            #expect(user == target.readerUser)
        }
    }
}
