/// Lowercase hexadecimal text of bytes: the form of every SHA-256 hash this project stores or shows (audit
/// rows, approval digests, catalogue and component hashes, token hashes, console secrets).
public enum Hex {
    /// Two lowercase hex digits per byte, in order.
    public static func lowercase<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
