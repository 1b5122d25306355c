import InfraDomain
import Testing

@Suite("HTTP listen address: [ADDR:]PORT, loopback or not")
struct HTTPListenAddressTests {
    @Test("Accepted forms and what is loopback")
    func accepted() throws {
        #expect(try HTTPListenAddress.parse("8750") == .init(host: "127.0.0.1", port: 8750))
        #expect(try HTTPListenAddress.parse("127.0.0.1:0") == .init(host: "127.0.0.1", port: 0))
        #expect(try HTTPListenAddress.parse("[::1]:8750") == .init(host: "::1", port: 8750))
        #expect(try HTTPListenAddress.parse("127.8.9.10:1").isLoopback)
        #expect(try HTTPListenAddress.parse("[::1]:8750").isLoopback)
        #expect(try !HTTPListenAddress.parse("0.0.0.0:8750").isLoopback)
        #expect(try !HTTPListenAddress.parse("10.0.0.5:8750").isLoopback)
        #expect(try !HTTPListenAddress.parse("[::]:8750").isLoopback)
        #expect(try HTTPListenAddress.parse("[::1]:8750").description == "[::1]:8750")
    }

    @Test("Refused: host names, bad ports, control characters; the error says what to write")
    func refused() {
        for text in ["localhost:8750", "example.com:80", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:", "", "256.1.1.1:80",
                     "1.2.3:80", "[::1]8750", "[zz]:80", "127.0.0.1:80\u{1b}[2J", "１２３"] {
            #expect(throws: HTTPListenAddress.Problem.self, "\(text)") { try HTTPListenAddress.parse(text) }
        }
        do {
            _ = try HTTPListenAddress.parse("localhost:8750")
        } catch {
            #expect(error.description.contains("[ADDR:]PORT") && error.description.contains("host names are not accepted"))
        }
    }
}
