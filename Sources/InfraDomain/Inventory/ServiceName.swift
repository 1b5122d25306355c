/// The allowed form of a systemd unit name given by an operator or a caller.
public enum ServiceName {
    /// True for names such as `nginx.service` or `getty@tty1.service`; never starts with `-`.
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && name.first != "-" && name.first != "."
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-@:".contains($0)) }
    }
}
