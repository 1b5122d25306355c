import Foundation
import Hummingbird
import InfraApp
import InfraDomain

extension ReviewConsole {
    /// `GET /fleet`: the hosts, with reachability as last seen and drift as last probed.
    func fleetPage(_ request: Request) async -> Response {
        guard let visit = visit(request) else { return Self.redirect("/login") }
        let probe = fleet.last()
        var hosts: [[String: Any]] = []
        for host in services.inventory.hosts {
            var row: [String: Any] = ["name": host.name, "address": host.address, "groups": host.groups.filter { $0 != "all" }.joined(separator: ", "),
                                      "approvers": host.approvers.map(\.principal).joined(separator: ", "),
                                      "hostKeys": services.pinnedHostKeys[host.name] ?? []]
            if let seen = await services.diagnostics?.reachability(of: host.name) {
                row["reachable"] = seen.reachable ? "yes" : "no"
                row["reachClass"] = seen.reachable ? "yes" : "no"
                row["latency"] = "\(seen.latency.components.seconds * 1000 + seen.latency.components.attoseconds / 1_000_000_000_000_000) ms"
                row["lastSeen"] = ConsoleTime.utc(seen.at)
                if !seen.detail.isEmpty { row["detail"] = String(seen.detail.prefix(160)) }
            } else {
                (row["reachable"], row["reachClass"], row["latency"], row["lastSeen"]) = ("not seen yet", "", "-", "-")
            }
            if let probe {
                if let differences = probe.drift[host.name] {
                    row["drift"] = differences.map(\.description)
                    if differences.isEmpty { (row["driftNone"], row["driftClass"]) = ("none", "ok") }
                } else {
                    (row["driftNone"], row["driftClass"]) = ("did not answer the probe", "bad")
                }
            } else {
                (row["driftNone"], row["driftClass"]) = ("not probed yet", "muted")
            }
            hosts.append(row)
        }
        var data: [String: Any] = ["hosts": hosts, "canProbe": services.diagnostics != nil]
        data["probed"] = probe.map { "last probe: \(ConsoleTime.utc($0.at))" } ?? "no probe since the server started"
        return render(.fleet, data, visit: visit, nav: "fleet")
    }

    /// `POST /fleet/probe`: asks every host for its version now (reachability and drift), then shows the fleet.
    func probeFleet(_ request: Request) async throws -> Response {
        try await gated(request) { visit, _ in
            guard let diagnostics = services.diagnostics else {
                return message("No reader key", "This console cannot reach the hosts (no reader key is loaded).", visit: visit, status: .serviceUnavailable,
                               link: "/fleet", linkText: "Back to the fleet")
            }
            fleet.store(await diagnostics.drift(), at: now())
            logger.info("console: \(visit.session.principal) probed the fleet")
            return Self.redirect("/fleet")
        }
    }
}
