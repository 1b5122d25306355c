import Foundation
import InfraDomain
import MCP

/// Which `Origin` and `Host` values `/mcp` accepts: this server's loopback origins on the port it is bound to,
/// plus the configured public origins (the TLS proxy's). For `--http …:0` the port becomes known once the
/// listener is bound (``bound(port:)``); until then only the configured origins pass.
final class OriginPolicy: @unchecked Sendable {
    private let lock = NSLock()
    private let configured: [String]
    private let listen: HTTPListenAddress
    private var current: OriginValidator

    /// The policy for a server listening on `listen` with the public `origins`.
    init(listen: HTTPListenAddress, origins: [String]) {
        self.listen = listen
        self.configured = origins
        self.current = Self.validator(listen: listen, port: listen.port == 0 ? nil : listen.port, origins: origins)
    }

    /// The check as it stands.
    var validator: OriginValidator { lock.withLock { current } }

    /// The listener is bound on `port`: loopback origins on that port only.
    func bound(port: Int) {
        let updated = Self.validator(listen: listen, port: port, origins: configured)
        lock.withLock { current = updated }
    }

    /// Loopback hosts and origins on `port` (none before it is known), the listen address itself when it is
    /// not a wildcard, plus `origins` and their hosts.
    static func validator(listen: HTTPListenAddress, port: Int?, origins configured: [String]) -> OriginValidator {
        var hosts: [String] = [], origins: [String] = []
        if let port {
            let local = OriginValidator.localhost(port: port)
            hosts = local.allowedHosts
            origins = local.allowedOrigins
            if !listen.isLoopback, listen.host != "0.0.0.0", listen.host != "::" {
                hosts.append(HTTPListenAddress(host: listen.host, port: port).description)
            }
        }
        for origin in configured {
            origins.append(origin)
            if let host = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first {
                hosts.append(String(host))
                if !host.contains(":") || host.hasSuffix("]") { hosts.append(host + ":" + (origin.hasPrefix("https") ? "443" : "80")) }
            }
        }
        return OriginValidator(allowedHosts: hosts, allowedOrigins: origins)
    }
}
