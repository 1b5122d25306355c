import Foundation

/// The built `mcp-linux-infra` binary: next to the test bundle, or in the debug build folder.
public func productBinary() -> String {
    let bundle = Bundle.main.bundleURL.deletingLastPathComponent()
    for candidate in [bundle.appendingPathComponent("mcp-linux-infra").path,
                      LoopbackTarget.repositoryRoot + "/.build/debug/mcp-linux-infra"]
    where FileManager.default.isExecutableFile(atPath: candidate) {
        return candidate
    }
    return LoopbackTarget.repositoryRoot + "/.build/debug/mcp-linux-infra"
}
