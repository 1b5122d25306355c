import MCP

/// MCP session ids of 32 random bytes from the system's generator (getrandom), base64url: a session id names a
/// session bound to a token and is never guessable, nor derived from anything the client sent.
struct RandomSessionID: SessionIDGenerator {
    func generateSessionID() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var text = ""
        var bits = 0, value = 0
        for byte in bytes {
            value = (value << 8) | Int(byte)
            bits += 8
            while bits >= 6 {
                bits -= 6
                text.append(alphabet[(value >> bits) & 63])
            }
        }
        if bits > 0 { text.append(alphabet[(value << (6 - bits)) & 63]) }
        return text
    }
}
