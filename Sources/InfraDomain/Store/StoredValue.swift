import Foundation

/// How both stores (SQLite, PostgreSQL) write values that are not plain text or numbers, so a record reads back the
/// same from either, and `store copy` moves it unchanged: times as whole milliseconds since the epoch (rounded),
/// lists and maps as JSON with sorted keys.
public enum StoredValue {
    /// `date` as whole milliseconds since the epoch.
    public static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    /// The date `milliseconds` since the epoch.
    public static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    /// `value` as JSON with sorted keys.
    public static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// The value `text` holds as JSON.
    public static func decode<T: Decodable>(_ text: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}
