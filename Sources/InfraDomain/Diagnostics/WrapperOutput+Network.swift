import Foundation

extension WrapperOutput {
    /// One interface of `interfaces` (ip -json address show).
    public struct NetworkInterface: Codable, Sendable, Equatable {
        public var name: String
        public var state: String
        public var mtu: Int
        public var macAddress: String?
        public var flags: [String]
        public var addresses: [InterfaceAddress]
    }

    /// One address of an interface.
    public struct InterfaceAddress: Codable, Sendable, Equatable {
        public var family: String
        public var address: String
        public var prefixLength: Int
    }

    /// Reads `ip -json address show`.
    public static func networkInterfaces(_ text: String) -> [NetworkInterface] {
        guard let entries = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else { return [] }
        return entries.compactMap { entry in
            guard let name = entry["ifname"] as? String else { return nil }
            let addresses = (entry["addr_info"] as? [[String: Any]] ?? []).compactMap { info -> InterfaceAddress? in
                guard let family = info["family"] as? String, let local = info["local"] as? String else { return nil }
                return InterfaceAddress(family: family, address: local, prefixLength: info["prefixlen"] as? Int ?? 0)
            }
            return NetworkInterface(name: name, state: entry["operstate"] as? String ?? "", mtu: entry["mtu"] as? Int ?? 0,
                                    macAddress: entry["address"] as? String, flags: entry["flags"] as? [String] ?? [],
                                    addresses: addresses)
        }
    }

    /// One route of `routes` (ip -json route show table main).
    public struct Route: Codable, Sendable, Equatable {
        public var destination: String
        public var gateway: String?
        public var device: String?
        public var protocolName: String?
        public var scope: String?
        public var source: String?
        public var metric: Int?
    }

    /// Reads `ip -json route show`.
    public static func routes(_ text: String) -> [Route] {
        guard let entries = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else { return [] }
        return entries.compactMap { entry in
            guard let destination = entry["dst"] as? String else { return nil }
            return Route(destination: destination, gateway: entry["gateway"] as? String, device: entry["dev"] as? String,
                         protocolName: entry["protocol"] as? String, scope: entry["scope"] as? String,
                         source: entry["prefsrc"] as? String, metric: entry["metric"] as? Int)
        }
    }

    /// One socket of `connections` (ss -H -t -u -n, with or without a state column).
    public struct Connection: Codable, Sendable, Equatable {
        public var protocolName: String
        public var state: String?
        public var localAddress: String
        public var localPort: Int?
        public var peerAddress: String
        public var peerPort: Int?
    }

    /// Reads `ss` lines: `tcp ESTAB 0 0 10.0.0.2:22 10.0.0.1:5555` or, filtered by state, `tcp 0 0 LOCAL PEER`.
    public static func connections(_ text: String) -> [Connection] {
        text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard parts.count >= 5 else { return nil }
            let hasState = Int(parts[1]) == nil
            let offset = hasState ? 1 : 0
            guard parts.count >= 5 + offset else { return nil }
            let local = endpoint(parts[3 + offset]), peer = endpoint(parts[4 + offset])
            return Connection(protocolName: parts[0], state: hasState ? parts[1] : nil, localAddress: local.address,
                              localPort: local.port, peerAddress: peer.address, peerPort: peer.port)
        }
    }

    /// `ADDRESS:PORT` with IPv6 in brackets, `*` for any port, and an optional `%interface` scope.
    static func endpoint(_ text: String) -> (address: String, port: Int?) {
        guard let colon = text.lastIndex(of: ":") else { return (text, nil) }
        var address = String(text[..<colon])
        if address.hasPrefix("["), address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
        return (address, Int(text[text.index(after: colon)...]))
    }

    /// `dns` (/etc/resolv.conf).
    public struct DNSConfig: Codable, Sendable, Equatable {
        public var nameservers: [String]
        public var search: [String]
        public var options: [String]
    }

    /// Reads resolv.conf (`domain` counts as a search domain; comments skipped).
    public static func dnsConfig(_ text: String) -> DNSConfig {
        var config = DNSConfig(nameservers: [], search: [], options: [])
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = parts.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            switch keyword {
            case "nameserver": config.nameservers += parts.dropFirst().prefix(1)
            case "search", "domain": config.search += parts.dropFirst()
            case "options": config.options += parts.dropFirst()
            default: continue
            }
        }
        return config
    }

    /// `ping` statistics.
    public struct PingResult: Codable, Sendable, Equatable {
        public var reachable: Bool
        public var transmitted: Int
        public var received: Int
        public var lossPercent: Double
        public var rttMinMs: Double?
        public var rttAvgMs: Double?
        public var rttMaxMs: Double?
    }

    /// Reads ping's summary: `N packets transmitted, M received, X% packet loss` and `rtt min/avg/max/mdev = a/b/c/d ms`.
    public static func ping(_ text: String) -> PingResult {
        var result = PingResult(reachable: false, transmitted: 0, received: 0, lossPercent: 100)
        for line in text.split(separator: "\n") {
            if line.contains("packets transmitted") {
                for field in line.split(separator: ",") {
                    let words = field.split(separator: " ")
                    guard let first = words.first else { continue }
                    if field.contains("transmitted") { result.transmitted = Int(first) ?? 0 }
                    if field.contains("received") { result.received = Int(first) ?? 0 }
                    if field.contains("packet loss") { result.lossPercent = Double(String(first).trimmingSuffix("%")) ?? 100 }
                }
            } else if line.hasPrefix("rtt "), let equals = line.firstIndex(of: "=") {
                let numbers = line[line.index(after: equals)...].split(separator: " ").first?.split(separator: "/").compactMap { Double($0) } ?? []
                if numbers.count >= 3 { (result.rttMinMs, result.rttAvgMs, result.rttMaxMs) = (numbers[0], numbers[1], numbers[2]) }
            }
        }
        result.reachable = result.received > 0
        return result
    }

    /// `http-check` (curl --write-out '%{http_code} %{time_total} %{size_download}').
    public struct HTTPCheck: Codable, Sendable, Equatable {
        public var statusCode: Int
        public var timeSeconds: Double
        public var bytes: Int
    }

    /// Reads curl's one-line summary.
    public static func httpCheck(_ text: String) throws(ParseFailure) -> HTTPCheck {
        let words = text.split(whereSeparator: \.isWhitespace)
        guard words.count == 3, let code = Int(words[0]), let time = Double(words[1]), let bytes = Double(words[2]) else {
            throw ParseFailure("curl printed no status line")
        }
        return HTTPCheck(statusCode: code, timeSeconds: time, bytes: Int(bytes))
    }
}

/// A verb's output could not be read at all (rather than read in part).
public struct ParseFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    /// Creates a failure with its reason.
    public init(_ description: String) { self.description = description }
}
