import Crypto
import Foundation
import InfraDomain
import Testing

@Suite("known_hosts parsing and host key verdicts")
struct KnownHostsTests {
    // An ed25519 public key blob: string "ssh-ed25519" + string of 32 bytes.
    static func ed25519(_ fill: UInt8) -> SSHPublicKey {
        var blob: [UInt8] = [0, 0, 0, 11] + Array("ssh-ed25519".utf8) + [0, 0, 0, 32]
        blob += [UInt8](repeating: fill, count: 32)
        return SSHPublicKey(type: .ed25519, blob: blob)
    }

    static func line(_ hosts: String, _ key: SSHPublicKey) -> String { "\(hosts) \(key.openSSHText)" }

    @Test("Exact pin passes; other key is 'changed'; no pin is 'unknown'; @revoked is refused")
    func verdicts() throws {
        let good = Self.ed25519(1), bad = Self.ed25519(2), revoked = Self.ed25519(3)
        let text = [Self.line("[10.0.0.5]:2222,web1", good), "@revoked * \(revoked.openSSHText)"].joined(separator: "\n")
        let verifier = HostKeyVerifier(knownHosts: try KnownHosts.parse(text, source: "kh"), knownHostsPath: "kh")
        try verifier.verify(host: "web1", address: "10.0.0.5", port: 2222, presented: good)
        #expect(throws: HostKeyError.self) { try verifier.verify(host: "web1", address: "10.0.0.5", port: 2222, presented: bad) }
        do {
            try verifier.verify(host: "web1", address: "10.0.0.5", port: 2222, presented: bad)
        } catch {
            #expect(error.kind == .keyChanged)
            #expect(error.description.contains(bad.fingerprint))
            #expect(error.description.contains(good.fingerprint))
        }
        do {
            try verifier.verify(host: "other", address: "10.0.0.6", port: 22, presented: good)
            Issue.record("unknown host accepted")
        } catch {
            #expect(error.kind == .unknownHost)
            #expect(error.description.contains("ssh-keyscan -p 22 -t ed25519 10.0.0.6"))
        }
        do {
            try verifier.verify(host: "web1", address: "10.0.0.5", port: 2222, presented: revoked)
            Issue.record("revoked key accepted")
        } catch {
            #expect(error.kind == .revoked)
        }
    }

    @Test("Port 22 is filed under the bare name, other ports under [host]:port")
    func portNaming() throws {
        let key = Self.ed25519(1)
        let verifier = HostKeyVerifier(knownHosts: try KnownHosts.parse(Self.line("10.0.0.5", key), source: "kh"), knownHostsPath: "kh")
        try verifier.verify(host: "a", address: "10.0.0.5", port: 22, presented: key)
        #expect(throws: HostKeyError.self) { try verifier.verify(host: "a", address: "10.0.0.5", port: 2222, presented: key) }
    }

    @Test("Hashed entries match their host (HMAC-SHA1, as ssh-keygen -H writes them)")
    func hashedEntries() throws {
        let key = Self.ed25519(7)
        let salt = [UInt8](repeating: 9, count: 20)
        let hash = HMAC<Insecure.SHA1>.authenticationCode(for: Array("[127.0.0.1]:2022".utf8), using: SymmetricKey(data: salt))
        let field = "|1|\(Data(salt).base64EncodedString())|\(Data(hash).base64EncodedString())"
        let verifier = HostKeyVerifier(knownHosts: try KnownHosts.parse(Self.line(field, key), source: "kh"), knownHostsPath: "kh")
        try verifier.verify(host: "a", address: "127.0.0.1", port: 2022, presented: key)
        #expect(verifier.pinnedKeyTypes(address: "127.0.0.1", port: 2022) == [.ed25519])
        #expect(verifier.pinnedKeyTypes(address: "127.0.0.2", port: 2022).isEmpty)
    }

    @Test("Pinned fingerprints (what a statement binds to): file order, each once, revoked keys left out")
    func pinnedFingerprints() throws {
        let first = Self.ed25519(11), second = Self.ed25519(12), revoked = Self.ed25519(13)
        let text = [Self.line("web1", first), Self.line("web1,web2", second), Self.line("web1", first),
                    Self.line("web1", revoked), "@revoked web1 \(revoked.openSSHText)"].joined(separator: "\n")
        let verifier = HostKeyVerifier(knownHosts: try KnownHosts.parse(text, source: "kh"), knownHostsPath: "kh")
        #expect(verifier.pinnedFingerprints(address: "web1", port: 22) == [first.fingerprint, second.fingerprint])
        #expect(verifier.pinnedFingerprints(address: "web2", port: 22) == [second.fingerprint])
        #expect(verifier.pinnedKeyTypes(address: "web1", port: 22) == [.ed25519])
        #expect(verifier.pinnedFingerprints(address: "web3", port: 22).isEmpty)
    }

    @Test("Wildcards and negation")
    func patterns() throws {
        let key = Self.ed25519(4)
        let kh = try KnownHosts.parse(Self.line("*.example.org,!evil.example.org", key), source: "kh")
        #expect(kh.entries(for: "web1.example.org").count == 1)
        #expect(kh.entries(for: "evil.example.org").isEmpty)
        #expect(kh.entries(for: "example.org.attacker.net").isEmpty)
    }

    @Test("Refused lines: RSA, @cert-authority, unknown algorithm, bad base64, control characters")
    func refusedLines() {
        let cases: [(String, ConfigurationError.Kind)] = [
            ("host ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ==", .rsaKey),
            ("@cert-authority *.example.org \(Self.ed25519(1).openSSHText)", .unsupported),
            ("host ssh-dss AAAAB3NzaC1kc3M=", .unsupported),
            ("host ssh-ed25519 !!!notbase64", .malformedLine),
            ("host\u{1b}[2J ssh-ed25519 AAAA", .malformedLine),
            ("host ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", .malformedLine),
        ]
        for (text, kind) in cases {
            do {
                _ = try KnownHosts.parse("# ok\n" + text, source: "kh")
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.kind == kind, "\(text)")
                #expect(error.line == 2)
            }
        }
    }

    @Test("Fingerprints match OpenSSH's format")
    func fingerprintFormat() {
        let key = Self.ed25519(1)
        let expected = "SHA256:" + Data(SHA256.hash(data: key.blob)).base64EncodedString().replacingOccurrences(of: "=", with: "")
        #expect(key.fingerprint == expected)
        #expect(!key.fingerprint.hasSuffix("="))
    }
}
