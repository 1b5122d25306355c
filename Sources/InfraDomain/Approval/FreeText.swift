/// The form of the free text the AI gives with an action (its rationale, a cancellation's reason): a length,
/// and no control character (a rationale may have line ends). The tool schemas and the use cases check it
/// through this one rule.
public struct FreeText: Sendable, Equatable {
    /// Characters allowed.
    public var length: ClosedRange<Int>
    /// Whether line ends are allowed.
    public var newlines: Bool

    /// Creates a rule.
    public init(length: ClosedRange<Int>, newlines: Bool) {
        self.length = length
        self.newlines = newlines
    }

    /// A proposal's rationale: what the AI saw and what the action fixes.
    public static let rationale = FreeText(length: 10...2000, newlines: true)
    /// Why a proposal is withdrawn.
    public static let reason = FreeText(length: 3...500, newlines: false)

    /// Whether `text` has this form.
    public func accepts(_ text: String) -> Bool {
        length.contains(text.count)
            && !text.unicodeScalars.contains { $0.properties.generalCategory == .control && !(newlines && $0 == "\n") }
    }

    /// What the form is, for an error naming the argument.
    public var rule: String {
        "must be \(length.lowerBound) to \(length.upperBound) characters without control characters"
    }
}
