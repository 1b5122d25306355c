import Foundation

/// How the console writes times: UTC to the second, and what is left of a deadline in words.
enum ConsoleTime {
    /// `2026-11-29 17:05:00 UTC`.
    static func utc(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date) + " UTC"
    }

    /// `12 min left`, `1 h 5 min left`, `expired`.
    static func left(until end: Date, now: Date) -> String {
        let seconds = Int(end.timeIntervalSince(now))
        guard seconds > 0 else { return "expired" }
        if seconds < 60 { return "\(seconds) s left" }
        let minutes = seconds / 60
        return minutes < 60 ? "\(minutes) min left" : "\(minutes / 60) h \(minutes % 60) min left"
    }
}
