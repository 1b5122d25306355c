extension WrapperOutput {
    /// One line of `units` (systemctl list-units --plain --no-legend).
    public struct UnitEntry: Codable, Sendable, Equatable {
        public var unit: String
        public var loadState: String
        public var activeState: String
        public var subState: String
        public var description: String
    }

    /// Reads `UNIT LOAD ACTIVE SUB DESCRIPTION...` lines.
    public static func units(_ text: String) -> [UnitEntry] {
        text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: true).map(String.init)
            guard parts.count >= 4 else { return nil }
            return UnitEntry(unit: parts[0], loadState: parts[1], activeState: parts[2], subState: parts[3],
                             description: parts.count > 4 ? parts[4].trimmingCharacters(in: .whitespaces) : "")
        }
    }

    /// A verdict on one unit: its state, and its error-level journal entries of the last hour.
    public struct ServiceHealth: Codable, Sendable, Equatable {
        public var unit: String
        public var healthy: Bool
        /// Why the unit is not healthy (empty when it is).
        public var problems: [String]
        public var activeState: String
        public var subState: String
        public var mainPID: Int
        public var restarts: Int
        public var result: String
        public var recentErrors: [JournalEntry]
    }

    /// Judges a unit: healthy when loaded, active, its last run succeeded and it logged no errors recently.
    public static func serviceHealth(show: String, errors: String) -> ServiceHealth {
        let status = serviceStatus(show)
        let recent = journalEntries(errors)
        var problems: [String] = []
        if status.loadState != "loaded" { problems.append("unit is \(status.loadState.isEmpty ? "unknown" : status.loadState)") }
        if status.activeState != "active" { problems.append("unit is \(status.activeState) (\(status.subState))") }
        if !status.result.isEmpty && status.result != "success" { problems.append("last result: \(status.result)") }
        if !recent.isEmpty { problems.append("\(recent.count) error-level journal entries in the last hour") }
        return ServiceHealth(unit: status.unit, healthy: problems.isEmpty, problems: problems,
                             activeState: status.activeState, subState: status.subState, mainPID: status.mainPID,
                             restarts: status.restarts, result: status.result, recentErrors: recent)
    }
}
