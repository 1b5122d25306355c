import Foundation
import InfraTestSupport
import Testing

/// `doctor` warns about hosts on which nobody can approve, without failing for it.
@Suite("doctor: a WARN line per host that lists no approvers (real binary)")
struct DoctorApproverWarningTests {
    @Test("Hosts without mcp_approvers get one WARN line each, with the fix")
    func warnsPerHost() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("doctor-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let env = try await LocalServeConfiguration.make(in: folder, hosts: ["web1", "web2"], port: try LocalServeConfiguration.closedPort())
        let doctor = try await ProcessRunner.run(productBinary(), ["doctor", "--env-file", env], environment: ["PATH": "/usr/bin:/bin", "HOME": folder])
        let warnings = doctor.stdout.split(separator: "\n").filter { $0.hasPrefix("WARN ") }
        #expect(warnings == ["WARN  web1  host web1 lists no approvers: nobody can approve an action on it; add mcp_approvers for it in the inventory and redeploy the role",
                             "WARN  web2  host web2 lists no approvers: nobody can approve an action on it; add mcp_approvers for it in the inventory and redeploy the role"],
                "\(doctor)")
        // The hosts are a closed port: the checks fail (exit 1) for that, and the warnings are no check of their own.
        #expect(doctor.status == 1 && doctor.stdout.contains("1 of 5 checks passed"), "\(doctor)")
    }
}
