/// Where `serve --http` listens: `[ADDR:]PORT`, an IPv4 address or a bracketed IPv6 address, 127.0.0.1 when
/// only the port is given. Any address outside loopback must be allowed explicitly by the operator, and then
/// belongs behind TLS (docs/HTTP.md shows caddy in front).
public struct HTTPListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// The address to bind, without brackets.
    public var host: String
    /// The TCP port (0 asks the system for a free one; the server prints the one it got).
    public var port: Int

    /// Why a listen address was refused; it says what to write instead.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// An address as given (use ``parse(_:)`` for text).
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Reads `[ADDR:]PORT`: `8750`, `127.0.0.1:8750`, `[::1]:8750`, `0.0.0.0:8750`. Host names are refused: an
    /// address says exactly which interface listens.
    public static func parse(_ text: String) throws(Problem) -> HTTPListenAddress {
        let usage = "write [ADDR:]PORT with an IP address, e.g. 8750, 127.0.0.1:8750 or [::1]:8750"
        let host: String, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw Problem(description: "'\(TerminalText.escaped(text))' is not a listen address: \(usage)")
            }
            host = String(text[text.index(after: text.startIndex)..<close])
            portText = text[text.index(close, offsetBy: 2)...]
            guard isIPv6(host) else { throw Problem(description: "'\(TerminalText.escaped(host))' is not an IPv6 address: \(usage)") }
        } else if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
            guard isIPv4(host) else {
                throw Problem(description: "'\(TerminalText.escaped(host))' is not an IPv4 address (host names are not accepted): \(usage)")
            }
        } else {
            host = "127.0.0.1"
            portText = Substring(text)
        }
        guard portText.allSatisfy(\.isASCII), let port = Int(portText), (0...65_535).contains(port), portText.count <= 5 else {
            throw Problem(description: "'\(TerminalText.escaped(String(portText)))' is not a port from 0 to 65535: \(usage)")
        }
        return HTTPListenAddress(host: host, port: port)
    }

    /// True for 127.0.0.0/8 and ::1: only this machine can connect.
    public var isLoopback: Bool {
        host == "::1" || host.split(separator: ".").first == "127"
    }

    /// `ADDR:PORT`, IPv6 in brackets.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy { $0.isASCII && $0.isNumber } && Int(part)! <= 255
        }
    }

    static func isIPv6(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 45 && text.contains(":") && text.allSatisfy { $0.isASCII && ($0.isHexDigit || $0 == ":" || $0 == ".") }
    }
}
