import InfraApp

extension MCPServer {
    /// A tool's name as a metric label: one of this server's tools, else `unknown`, so a client's raw text
    /// never becomes a label (an unbounded set of series).
    func metricLabel(forTool name: String) -> String {
        tools[name] != nil || ActionTools.names.contains(name) || name == Self.listHostsTool.name ? name : "unknown"
    }

    /// Sets the gauges computed at scrape time (proposals by state, the audit chain, the SSH pool), for the
    /// HTTP front's `/metrics`; a store that cannot be read leaves them as they were and throws its error.
    public func refreshMetrics() async throws {
        try await services.scrapeGauges.refresh()
    }
}
