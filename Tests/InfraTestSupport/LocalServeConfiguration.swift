import Foundation
import Glibc

/// A server configuration in a folder of its own, for tests that run the real binary without root or targets:
/// fresh account keys, an inventory whose hosts all point at one loopback port (nothing listens there, or a
/// listener the test holds), a pinned host key that no host will ever present, and the `.env` naming them.
public enum LocalServeConfiguration {
    /// Writes the configuration for hosts `names` at 127.0.0.1:`port` into `folder`; returns the `.env` path.
    public static func make(in folder: String, hosts names: [String], port: Int, extra: [String: String] = [:]) async throws -> String {
        let files = FileManager.default
        try files.createDirectory(atPath: folder + "/keys", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for name in ["mcp-reader", "pra-runner", "hostkey"] {
            let made = try await ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "local", "-f", "\(folder)/keys/\(name)"])
            guard made.status == 0 else { throw LoopbackTarget.TargetError(message: "ssh-keygen: \(made)") }
        }
        let hostKey = try String(contentsOfFile: folder + "/keys/hostkey.pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        try "[127.0.0.1]:\(port) \(hostKey)\n".write(toFile: folder + "/keys/known_hosts", atomically: true, encoding: .utf8)
        let hosts = names.map { "    \($0):\n      ansible_host: 127.0.0.1\n      ansible_port: \(port)\n" }.joined()
        try "all:\n  hosts:\n\(hosts)".write(toFile: folder + "/inventory.yml", atomically: true, encoding: .utf8)
        var settings = [
            "LINUX_MCP_INVENTORY": "\(folder)/inventory.yml", "LINUX_MCP_KNOWN_HOSTS": "\(folder)/keys/known_hosts",
            "LINUX_MCP_CATALOGUE": "\(LoopbackTarget.repositoryRoot)/system/pra-catalogue.tsv",
            "LINUX_MCP_DB": "\(folder)/state/state.sqlite3", "LINUX_MCP_HTTP_TOKENS": "\(folder)/state/http-tokens",
            "LINUX_MCP_READER_KEY": "\(folder)/keys/mcp-reader", "LINUX_MCP_RUNNER_KEY": "\(folder)/keys/pra-runner",
            "LINUX_MCP_SSH_AGENT": "none", "LINUX_MCP_AUDIT_WITNESS": "\(folder)/witness.sock",
        ]
        settings.merge(extra) { $1 }
        let envFile = folder + "/linux-mcp.env"
        try settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined().write(toFile: envFile, atomically: true, encoding: .utf8)
        return envFile
    }

    /// A loopback TCP port that was free a moment ago and is closed now (connecting to it is refused).
    public static func closedPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        guard let port = bindLoopback(descriptor) else {
            throw LoopbackTarget.TargetError(message: "cannot bind a loopback port: \(String(cString: strerror(errno)))")
        }
        return port
    }

    /// A loopback socket that listens and never accepts: a client's TCP connection completes, and no SSH banner
    /// ever comes. Close it with `close(descriptor)`.
    public static func silentListener() throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard let port = bindLoopback(descriptor), listen(descriptor, 128) == 0 else {
            close(descriptor)
            throw LoopbackTarget.TargetError(message: "cannot listen on loopback: \(String(cString: strerror(errno)))")
        }
        return (descriptor, port)
    }

    static func bindLoopback(_ descriptor: Int32) -> Int? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
    }
}
