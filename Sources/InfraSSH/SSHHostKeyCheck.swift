import CLibSSH2
import InfraDomain

/// Trust in the host a session reaches: which host key types the handshake offers, and whether the key the
/// host presented is the one pinned for it in known_hosts.
///
/// libssh2 prefers ECDSA over ed25519, and `libssh2_knownhost_checkp` reports an ed25519-pinned host that
/// presented ECDSA as unknown rather than as a mismatch. So the handshake offers exactly the pinned types.
struct SSHHostKeyCheck {
    /// The host as the inventory names it, with the address and port its pins are recorded under.
    let host: InventoryHost
    /// The known_hosts pins and the policy for a host without one.
    let verifier: HostKeyVerifier

    /// Limits the host key types `session` offers to the pinned ones. With nothing pinned it offers every
    /// supported type, so the refusal can show the host's fingerprint. Call before the handshake.
    func offerPinnedKeyTypes(on session: OpaquePointer) {
        var types = verifier.pinnedKeyTypes(address: host.address, port: host.port)
        if types.isEmpty { types = SSHKeyType.allCases }
        _ = libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, types.map(\.rawValue).joined(separator: ","))
    }

    /// Checks the key the host presented during the handshake of `session`: it must be ed25519 or ECDSA and
    /// match the pin. Call after the handshake, before authenticating.
    func verifyPresentedKey(of session: OpaquePointer) throws(SSHError) {
        var length = 0
        var type: Int32 = 0
        guard let raw = libssh2_session_hostkey(session, &length, &type), length > 0 else {
            throw .handshakeFailed(host: host.name, reason: "the host presented no host key", retryable: false)
        }
        let blob = [UInt8](UnsafeRawBufferPointer(start: raw, count: length))
        guard let name = SSHPublicKey.algorithmName(ofBlob: blob), case .supported(let keyType) = SSHKeyType.classify(name) else {
            throw .handshakeFailed(host: host.name, reason: "the host key is not ed25519 or ECDSA", retryable: false)
        }
        do {
            try verifier.verify(host: host.name, address: host.address, port: host.port,
                                presented: SSHPublicKey(type: keyType, blob: blob))
        } catch {
            throw .hostKey(error)
        }
    }
}
