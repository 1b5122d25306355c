import Foundation
@testable import InfraApp
import InfraDomain
import InfraTestSupport
import Testing

@Suite("Propose (ActionWorkflow over the in-memory ports)")
struct ProposeTests {
    @Test("A valid request on a host that runs the same catalogue is stored PROPOSED with its digest, command, threshold and audit rows")
    func proposes() async throws {
        let fixture = try UseCaseFixture()
        let record = try await fixture.propose()
        let request = try ActionRequest.make(actionName: "restart_service", host: try #require(fixture.inventory.host(named: "web1")),
                                             parameters: ["unit": "nginx.service"], catalogue: fixture.catalogue)
        #expect(record.state == .proposed && record.host == "web1" && record.action == "restart_service")
        #expect(record.digest == request.digest(catalogueVersion: fixture.catalogue.version))
        #expect(record.command == ["systemctl", "restart", "--", "nginx.service"] && record.impact == "MEDIUM" && record.requiredApprovals == 1)
        #expect(record.proposer == "svc" && record.client == "test-client" && record.catalogueVersion == fixture.catalogue.version)
        #expect(record.createdAt == fixture.clock.now && record.expiresAt == fixture.clock.now + 3600)
        #expect(record.transitions.map(\.actor) == ["mcp:svc"] && record.transitions.first?.from == nil)
        // One request: the host's version (its catalogue), through the reader account; then the state row.
        #expect(fixture.remote.requests.map(\.command) == ["version"] && fixture.remote.requests.first?.account == .reader)
        #expect(fixture.store.chain.map(\.kind) == ["ssh", "state"])
        #expect(fixture.store.chain.last?.outcome == "PROPOSED" && fixture.store.chain.last?.proposalID == record.id)
        #expect(try fixture.workflow().pending().map(\.record.id) == [record.id])
    }

    @Test("A host outside the inventory is refused before any request, and nothing is stored")
    func unknownHost() async throws {
        let fixture = try UseCaseFixture()
        let refused = await refusal { _ = try await fixture.propose(on: "web9") }
        #expect(refused?.code == .unknownHost && refused?.message.contains("'web9' is not an inventory host") == true, "\(String(describing: refused))")
        // A group is not a host either: a proposal names exactly one.
        #expect(await refusal { _ = try await fixture.propose(on: "web") }?.code == .unknownHost)
        #expect(try fixture.remote.requests.isEmpty && fixture.store.chain.isEmpty && (try fixture.store.list(states: [])).isEmpty)
    }

    @Test("A rationale too short, too long or with control characters is refused", arguments: ["9 characters", "2001 characters", "an escape"])
    func badRationale(_ kind: String) async throws {
        let rationale = ["9 characters": "too short", "2001 characters": String(repeating: "x", count: 2001),
                         "an escape": "nginx is down\u{1B}[2J on web1"][kind]!
        let fixture = try UseCaseFixture()
        let refused = await refusal {
            _ = try await fixture.workflow().propose(host: "web1", action: "restart_unbound", parameters: [:], rationale: rationale, by: fixture.workflow().localCaller(client: "c"))
        }
        #expect(refused?.code == .invalidArgument && refused?.message.contains("argument 'rationale'") == true)
        #expect(try fixture.remote.requests.isEmpty && (try fixture.store.list(states: [])).isEmpty)
        // A newline is allowed: rationales are paragraphs.
        let multiline = try await fixture.workflow().propose(host: "web1", action: "restart_unbound", parameters: [:],
                                                             rationale: "unbound is down\nsince the update",
                                                             by: fixture.workflow().localCaller(client: "c"))
        #expect(multiline.state == .proposed)
    }

    @Test("A host whose installed catalogue differs from the server's is refused: the approved action would not be the one that runs")
    func catalogueDrift() async throws {
        let fixture = try UseCaseFixture()
        let theirs = String(repeating: "9", count: 64)
        fixture.remote.on(host: "web2", account: .reader, request: "version", .ok(UseCaseFixture.versionAnswer(catalogueHash: theirs)))
        let refused = await refusal { _ = try await fixture.propose(on: "web2") }
        #expect(refused?.code == .catalogue, "\(String(describing: refused))")
        #expect(refused?.message.contains("sha256 999999999999…") == true && refused?.message.contains(UseCaseFixture.catalogueHash.prefix(12)) == true)
        #expect(try (try fixture.store.list(states: [])).isEmpty && fixture.rows(kind: "state").isEmpty)
        // The audit still shows the version request that found it.
        #expect(fixture.rows(kind: "ssh").map(\.host) == ["web2"])
        // web1 runs the same catalogue: proposing there works.
        #expect(try await fixture.propose(on: "web1").state == .proposed)
    }

    @Test("An action outside the catalogue, an unknown or malformed parameter and a unit not allowed on the host are refused by the catalogue")
    func notInCatalogue() async throws {
        let fixture = try UseCaseFixture()
        let cases: [(String, [String: String], String)] = [
            ("format_disk", [:], "no action 'format_disk' in the catalogue"),
            ("restart_unbound", ["unit": "x.service"], "takes no parameter 'unit'"),
            ("restart_service", ["unit": "nginx"], "'unit' must match"),
            ("restart_service", ["unit": "sshd.service"], "sshd.service is not in web1's mcp_allowed_services (nginx.service)"),
        ]
        for (action, parameters, message) in cases {
            let refused = await refusal { _ = try await fixture.propose(action, parameters: parameters) }
            #expect(refused?.code == .catalogue && refused?.message.contains(message) == true, "\(action): \(String(describing: refused))")
        }
        #expect(try fixture.remote.requests.isEmpty && (try fixture.store.list(states: [])).isEmpty)
    }

    @Test("Each proposal of a HIGH action needs the host's own threshold, else the server's")
    func threshold() async throws {
        let fixture = try UseCaseFixture()
        fixture.edit("db1") { $0.requiredApprovals = [.high: 3, .low: 2] }
        #expect(try await fixture.propose("reboot_system", on: "web1").requiredApprovals == 2)
        #expect(try await fixture.propose("reboot_system", on: "db1").requiredApprovals == 3)
        #expect(try await fixture.propose("restart_unbound", on: "db1").requiredApprovals == 2)
    }
}
