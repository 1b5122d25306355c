/// A configuration problem found at startup: which file, which field, what is wrong and how to fix it.
///
/// Every loader in the project reports through this one type so an operator always sees the same
/// three parts: where (file and line), what (field and problem) and the fix.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The family of the problem, so tests and callers can tell them apart without parsing text.
    public enum Kind: String, Sendable, Equatable {
        case missingFile
        /// The file exists (or may), but this account cannot read it or enter a folder on its path.
        case permissionDenied
        case unknownKey
        case malformedLine
        case rsaKey
        case insecurePermissions
        case invalidValue
        case unsupported
        case mismatch
    }

    public var kind: Kind
    /// The file the problem is in (or `environment` for a process environment variable).
    public var file: String
    /// The 1-based line, when the problem sits on one line.
    public var line: Int?
    /// The setting, variable, host or key the problem is about.
    public var field: String
    /// What is wrong, in one sentence.
    public var problem: String
    /// What the operator should do.
    public var fix: String

    /// Creates an error; see the properties for the meaning of each part.
    public init(_ kind: Kind, file: String, line: Int? = nil, field: String, problem: String, fix: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.field = field
        self.problem = problem
        self.fix = fix
    }

    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return "\(location): \(field): \(problem)\n  fix: \(fix)"
    }
}
