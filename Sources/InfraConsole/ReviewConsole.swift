import Hummingbird
import InfraApp

/// The review console's routes (being built: see issue 19).
public struct ReviewConsole: Sendable {
    /// Creates the console.
    public init() {}

    /// Adds the console's pages to `router`.
    public func register<Context: RequestContext>(on router: Router<Context>) {}
}
