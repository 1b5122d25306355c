import InfraDomain

/// Reads a host's ledger (what its root side ran, pra-run's own record) through the reader account's
/// `ledger` verb, page by page, to the end: the host-side half of `audit verify --hosts`.
public struct HostLedgerReader: Sendable {
    let remote: any RemoteExec
    /// Entries asked for per page: small enough that a page of HIGH entries stays far below the output cap
    /// (a page that was cut short anyway is an error, never the end of the ledger).
    let pageSize: Int

    /// A reader over the remote-execution port.
    public init(remote: any RemoteExec, pageSize: Int = 100) {
        self.remote = remote
        self.pageSize = pageSize
    }

    /// Why a ledger could not be read to the end.
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
        /// The ledger itself is wrong (a finding of `audit verify`), not merely out of reach.
        public var isFinding = false
    }

    /// Every entry of `host`'s ledger, oldest id first.
    public func entries(of host: InventoryHost) async throws -> [LedgerEntry] {
        var entries: [LedgerEntry] = []
        var after: String?
        while true {
            let command = "ledger lines=\(pageSize)" + (after.map { " after=\($0)" } ?? "")
            let answer = try await remote.run(RemoteRequest(host: host, account: .reader, command: command, timeout: .seconds(60)))
            guard !answer.stdoutTruncated else {
                throw Problem(description: "a ledger page was cut at the output cap (LINUX_MCP_MAX_OUTPUT_BYTES): the entries "
                                           + "after \(after ?? "the first") were not read")
            }
            guard answer.exitCode == 0 else {
                throw Problem(description: "ledger exit \(answer.exitCode.map(String.init) ?? "?"): "
                                           + TerminalText.escaped(String(answer.stderrText.prefix(200))))
            }
            let page = LedgerEntry.parse(answer.stdoutText)
            // Ids come in ascending order, each after the last page's: anything else is not a ledger read to the end.
            let ids = page.map(\.id)
            for (previous, next) in zip((after.map { [$0] } ?? []) + ids, after == nil ? Array(ids.dropFirst()) : ids) where next <= previous {
                throw Problem(description: "the ledger's entries did not come in ascending order (\(TerminalText.escaped(next)) after "
                                           + "\(TerminalText.escaped(previous))): it cannot be read to the end", isFinding: true)
            }
            entries += page
            guard page.count >= pageSize, let last = page.last?.id, last != after else { return entries }
            after = last
        }
    }
}
