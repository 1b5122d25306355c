/// Decides whether a host key presented during the SSH handshake is trusted.
///
/// Strict by construction: only a key that is pinned for the host passes. There is no trust on first
/// use and no switch to turn checking off. An unknown host, a changed key and a revoked key are three
/// distinct errors, each printing the presented fingerprint and how to pin it.
public struct HostKeyVerifier: Sendable {
    public let knownHosts: KnownHosts
    /// Where the pins live, quoted in the fixes.
    public let knownHostsPath: String

    /// Creates a verifier over pinned keys read from `knownHostsPath`.
    public init(knownHosts: KnownHosts, knownHostsPath: String) {
        self.knownHosts = knownHosts
        self.knownHostsPath = knownHostsPath
    }

    /// The key algorithms pinned for a host, in file order, to offer first in the handshake.
    ///
    /// libssh2 prefers ECDSA over ed25519; if only ed25519 is pinned and the host also has ECDSA, the
    /// host would present the unpinned key. Offering exactly the pinned types avoids that.
    public func pinnedKeyTypes(address: String, port: Int) -> [SSHKeyType] {
        Self.distinct(pins(address: address, port: port).map(\.key.type))
    }

    /// The SHA-256 fingerprints of the keys pinned for a host (not revoked), in file order: what an
    /// approval statement binds to ("SHA256:…").
    public func pinnedFingerprints(address: String, port: Int) -> [String] {
        Self.distinct(pins(address: address, port: port).map(\.key.fingerprint))
    }

    /// The entries pinned for a host, in file order, without any key a `@revoked` line names for it (as in
    /// ``verify(host:address:port:presented:)``, revocation wins over a pin).
    func pins(address: String, port: Int) -> [KnownHosts.Entry] {
        let matching = knownHosts.entries(for: KnownHosts.hostKeyName(address: address, port: port))
        let revoked = matching.filter(\.isRevoked).map(\.key.blob)
        return matching.filter { !$0.isRevoked && !revoked.contains($0.key.blob) }
    }

    /// The values once each, first occurrence first.
    static func distinct<Value: Equatable>(_ values: [Value]) -> [Value] {
        values.reduce(into: []) { kept, value in if !kept.contains(value) { kept.append(value) } }
    }

    /// Checks a presented key; throws a ``HostKeyError`` unless it is pinned and not revoked.
    public func verify(host: String, address: String, port: Int, presented: SSHPublicKey) throws(HostKeyError) {
        let name = KnownHosts.hostKeyName(address: address, port: port)
        let matching = knownHosts.entries(for: name)
        let context = HostKeyError.Context(host: host, address: address, port: port, presented: presented,
                                           knownHostsPath: knownHostsPath)
        if matching.contains(where: { $0.isRevoked && $0.key.blob == presented.blob }) {
            throw HostKeyError(kind: .revoked, context: context, pinnedFingerprints: [])
        }
        let pinned = matching.filter { !$0.isRevoked }
        if pinned.contains(where: { $0.key.blob == presented.blob }) { return }
        if pinned.isEmpty {
            throw HostKeyError(kind: .unknownHost, context: context, pinnedFingerprints: [])
        }
        throw HostKeyError(kind: .keyChanged, context: context,
                           pinnedFingerprints: pinned.map { "\($0.key.type.rawValue) \($0.key.fingerprint)" })
    }
}

/// A host key that is not trusted, with everything an operator needs to decide what to do.
public struct HostKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Why the key is not trusted.
    public enum Kind: String, Sendable, Equatable {
        case unknownHost
        case keyChanged
        case revoked
    }

    /// The host and key the verdict is about.
    public struct Context: Sendable, Equatable {
        public var host: String
        public var address: String
        public var port: Int
        public var presented: SSHPublicKey
        public var knownHostsPath: String
    }

    public var kind: Kind
    public var context: Context
    public var pinnedFingerprints: [String]

    private var keyscan: String {
        let type = context.presented.type == .ed25519 ? "ed25519" : "ecdsa"
        return "ssh-keyscan -p \(context.port) -t \(type) \(context.address)"
    }

    public var description: String {
        let seen = "\(context.presented.type.rawValue) \(context.presented.fingerprint)"
        let target = "\(context.host) (\(KnownHosts.hostKeyName(address: context.address, port: context.port)))"
        switch kind {
        case .unknownHost:
            return "unknown host key for \(target): the host presented \(seen), and no key is pinned for it "
                + "in \(context.knownHostsPath). Verify that fingerprint out of band (on the host: "
                + "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then pin it: "
                + "\(keyscan) >> \(context.knownHostsPath)"
        case .keyChanged:
            return "HOST KEY CHANGED for \(target): the host presented \(seen), but \(context.knownHostsPath) pins "
                + "\(pinnedFingerprints.joined(separator: ", ")). This may be an attack (someone in the middle) "
                + "or a reinstalled host. Refusing to connect. If the change is legitimate and verified out of band, "
                + "remove the old line and pin the new key: \(keyscan) >> \(context.knownHostsPath)"
        case .revoked:
            return "REVOKED host key for \(target): the host presented \(seen), which \(context.knownHostsPath) "
                + "marks @revoked. Refusing to connect; rebuild the host's keys and pin the new one."
        }
    }
}
