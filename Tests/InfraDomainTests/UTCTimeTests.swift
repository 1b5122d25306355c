import Foundation
import InfraDomain
import Testing

@Suite("UTC times as stored and shown: the same text as Foundation's ISO8601DateFormatter, without ICU")
struct UTCTimeTests {
    /// Times from 1970 to 2200 with microseconds away from half a millisecond (where a double cannot say
    /// which way to round, and the formatter's own arithmetic decides).
    static func samples() -> [Date] {
        var generator = SystemRandomNumberGenerator()
        var dates = (0..<3000).map { _ -> Date in
            let seconds = Int64.random(in: 0...7_258_118_400, using: &generator)
            let offset = Bool.random(using: &generator) ? Int64.random(in: 0...400, using: &generator) : Int64.random(in: 600...999, using: &generator)
            let micros = Int64.random(in: 0...999, using: &generator) * 1000 + offset
            return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
        }
        // Leap days, year ends, the epoch, the end of a century that is not a leap year.
        for text in ["1970-01-01T00:00:00Z", "2000-02-29T23:59:59Z", "2024-02-29T12:00:00Z", "2100-03-01T00:00:00Z",
                     "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z"] {
            let start = ISO8601DateFormatter().date(from: text)!
            dates += [start.addingTimeInterval(0.000_3), start.addingTimeInterval(0.999_7), start.addingTimeInterval(-0.000_3)]
        }
        return dates
    }

    @Test("Seconds and milliseconds: byte for byte what ISO8601DateFormatter writes")
    func sameTextAsFoundation() {
        let plain = ISO8601DateFormatter()
        let withMillis = ISO8601DateFormatter()
        withMillis.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for date in Self.samples() {
            #expect(UTCTime.text(date) == plain.string(from: date))
            #expect(UTCTime.text(date, milliseconds: true) == withMillis.string(from: date), "\(date.timeIntervalSince1970)")
        }
    }

    @Test("Read back: the stored text gives the same time and prints the same text again")
    func roundTrip() {
        for date in Self.samples() {
            let text = UTCTime.text(date, milliseconds: true)
            let read = try! #require(UTCTime.date(text))
            #expect(UTCTime.text(read, milliseconds: true) == text)
            #expect(abs(read.timeIntervalSince(date)) < 0.001)
            let seconds = UTCTime.text(date)
            #expect(UTCTime.text(try! #require(UTCTime.date(seconds))) == seconds)
        }
    }

    @Test("Offsets are applied; malformed text and fields out of range are refused")
    func parsing() {
        #expect(UTCTime.date("2026-11-30T20:00:00+01:00") == UTCTime.date("2026-11-30T19:00:00Z"))
        #expect(UTCTime.date("2026-11-30T18:30:00-00:30") == UTCTime.date("2026-11-30T19:00:00Z"))
        for bad in ["", "2026-11-30", "2026-11-30T19:00:00", "2026-11-30 19:00:00Z", "2026-13-01T00:00:00Z",
                    "2025-02-29T00:00:00Z", "2026-11-31T00:00:00Z", "2026-11-30T24:00:00Z", "2026-11-30T19:60:00Z",
                    "2026-11-30T19:00:00.Z", "2026-11-30T19:00:00Zjunk", "2026-11-30T19:00:00+0100", "x026-11-30T19:00:00Z"] {
            #expect(UTCTime.date(bad) == nil, "\(bad)")
        }
    }
}
