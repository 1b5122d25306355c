/// A bench run that could not be done, or whose result does not hold; its text says which.
struct BenchFailure: Error, CustomStringConvertible {
    var description: String

    /// A failure saying `description`.
    init(_ description: String) {
        self.description = description
    }
}
