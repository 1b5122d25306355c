import Foundation
import InfraConfig

/// The identity of whoever runs this process, from the kernel (the real uid), never from $USER or an
/// argument: the CLI's approver and the MCP server's proposer.
public enum OperatingSystemUser {
    /// The login name of the real uid, or `uid:N` when it has no passwd entry.
    public static var current: String { FileAccess.userName(getuid()) }
}
