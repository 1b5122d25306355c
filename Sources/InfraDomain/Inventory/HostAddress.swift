/// The allowed form of `ansible_host`: a DNS name or an IPv4 or IPv6 address, as the server connects to it.
public enum HostAddress {
    /// True for values such as `web1.example.org`, `192.0.2.10` or `2001:db8::1`.
    public static func isValid(_ address: String) -> Bool {
        !address.isEmpty && address.count <= 253
            && address.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_") }
    }
}
