/// Where a host may be asked to reach out: `http-check` and `ping` go only to what the inventory lists for
/// that host (`mcp_http_checks`, `mcp_ping_targets`), and never to link-local or cloud metadata addresses,
/// even when listed. The wrapper on the host applies the same rules, and also to what a name resolves to
/// there (it resolves once, checks, and pins that address). Pure: no resolution happens here.
public enum EgressAllowlist {
    /// The URL form the wrapper accepts (no query string, no credentials).
    public static let urlForm = "https?://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?(/[A-Za-z0-9._~/+,=:@-]*)?"

    /// True for an `mcp_http_checks` entry: a URL, or a URL prefix ending in `/`.
    public static func isValidURLEntry(_ text: String) -> Bool {
        text.count <= 512 && text.wholeMatch(of: try! Regex(urlForm)) != nil
    }

    /// True for an `mcp_ping_targets` entry: a host name, an IPv4 or IPv6 address, or an IPv4 CIDR.
    public static func isValidPingEntry(_ text: String) -> Bool {
        if let (address, bits) = cidr(text) { return ipv4(address) != nil && (0...32).contains(bits) }
        return isHostName(text) || ipv4(text) != nil || isIPv6(text)
    }

    /// A URL is allowed when the list has it exactly, or has a prefix of it that ends in `/`.
    public static func permitsURL(_ url: String, list: [String]) -> Bool {
        list.contains { $0 == url || ($0.hasSuffix("/") && url.hasPrefix($0)) }
    }

    /// A ping target is allowed when the list has it exactly (names compare case-insensitively), or it is an
    /// IPv4 address inside a listed CIDR.
    public static func permitsPing(_ target: String, list: [String]) -> Bool {
        list.contains { entry in
            if entry.lowercased() == target.lowercased() { return true }
            guard let (network, bits) = cidr(entry), let base = ipv4(network), let address = ipv4(target) else { return false }
            let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - UInt32(bits))
            return base & mask == address & mask
        }
    }

    /// Link-local (169.254.0.0/16, fe80::/10, IPv4-mapped link-local) and cloud metadata addresses
    /// (169.254.169.254, fd00:ec2::254, 100.100.100.200): never a target, whatever the lists say.
    public static func isForbiddenAddress(_ address: String) -> Bool {
        let lower = address.lowercased()
        if let value = ipv4(lower) { return value >> 16 == 0xA9FE || lower == "100.100.100.200" || value >> 24 == 0 }
        if lower.hasPrefix("::ffff:"), let value = ipv4(String(lower.dropFirst(7))) { return value >> 16 == 0xA9FE }
        guard isIPv6(lower) else { return false }
        let first = lower.split(separator: ":", omittingEmptySubsequences: false).first ?? ""
        if first.count == 4, let word = UInt16(first, radix: 16), word & 0xFFC0 == 0xFE80 { return true }
        return lower == "fd00:ec2::254"
    }

    /// Which of a host's lists a diagnostic's argument must be on, declared by the tool that takes it.
    public enum Rule: Sendable, Equatable {
        /// The argument is a URL the host may fetch (`mcp_http_checks`).
        case url(argument: String)
        /// The argument is an address the host may ping (`mcp_ping_targets`).
        case ping(argument: String)
        /// The argument is a container whose logs may be read (`mcp_allowed_containers`).
        case container(argument: String)

        /// Why the validated arguments `words` may not leave `host`, or nil when they may.
        public func refusal(_ words: [String: String], on host: InventoryHost) -> String? {
            switch self {
            case .url(let name): words[name].flatMap { EgressAllowlist.refusal(url: $0, on: host) }
            case .ping(let name): words[name].flatMap { EgressAllowlist.refusal(ping: $0, on: host) }
            case .container(let name): words[name].flatMap { EgressAllowlist.refusal(container: $0, on: host) }
            }
        }
    }

    /// Why `host` may not fetch `url`, naming the variable to set; nil when it may.
    public static func refusal(url: String, on host: InventoryHost) -> String? {
        guard permitsURL(url, list: host.httpChecks) else {
            return "\(url) is not in \(host.name)'s mcp_http_checks (\(host.httpChecks.isEmpty ? "none" : host.httpChecks.joined(separator: ", "))); "
                + "an operator adds it to the inventory and redeploys the role"
        }
        if let name = self.host(ofURL: url), isForbiddenAddress(name) {
            return "\(url) points at \(name), a link-local or cloud metadata address: never reachable"
        }
        return nil
    }

    /// Why `host` may not ping `target`, naming the variable to set; nil when it may.
    public static func refusal(ping target: String, on host: InventoryHost) -> String? {
        guard permitsPing(target, list: host.pingTargets) else {
            return "\(target) is not in \(host.name)'s mcp_ping_targets (\(host.pingTargets.isEmpty ? "none" : host.pingTargets.joined(separator: ", "))); "
                + "an operator adds it to the inventory and redeploys the role"
        }
        if isForbiddenAddress(target) { return "\(target) is a link-local or cloud metadata address: never reachable" }
        return nil
    }

    /// Why `host` may not name `container`, naming the variable to set; nil when it may.
    public static func refusal(container: String, on host: InventoryHost) -> String? {
        host.allowedContainers.contains(container) ? nil
            : "container \(container) is not in \(host.name)'s mcp_allowed_containers (\(host.allowedContainers.isEmpty ? "none" : host.allowedContainers.joined(separator: ", ")))"
    }

    /// The host part of an allowed-form URL (nil for anything else).
    public static func host(ofURL url: String) -> String? {
        guard isValidURLEntry(url), let schemeEnd = url.range(of: "://") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        return String(authority.prefix { $0 != ":" })
    }

    static func cidr(_ text: String) -> (String, Int)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let bits = Int(parts[1]), parts[1].count <= 2 else { return nil }
        return (String(parts[0]), bits)
    }

    static func ipv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), let octet = UInt32(part), octet <= 255 else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    static func isIPv6(_ text: String) -> Bool {
        text.contains(":") && text.count <= 39 && text.allSatisfy { $0.isHexDigit || $0 == ":" }
    }

    static func isHostName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 253 && text.first != "-" && text.first != "." && text.last != "."
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
            && ipv4(text) == nil && !text.allSatisfy { $0.isNumber || $0 == "." }
    }
}
