import Hummingbird
import InfraConsole

/// The HTTP front (being built: see issue 19).
public struct HTTPFront: Sendable {}
