import Foundation
import InfraTestSupport
import Testing

@Suite("ansible-lint, production profile")
struct AnsibleLintTests {
    @Test("The role and the playbooks pass ansible-lint's production profile",
          .enabled(if: DeploymentWorkspace.hasAnsible || LoopbackTarget.isRoot, Comment(rawValue: DeploymentWorkspace.ansibleReason)))
    func lintClean() async throws {
        try #require(DeploymentWorkspace.hasAnsible, Comment(rawValue: DeploymentWorkspace.ansibleReason))
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = DeploymentWorkspace.ansibleBin + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["NO_COLOR"] = "1"
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("lint-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        environment["ANSIBLE_HOME"] = home
        environment["XDG_CACHE_HOME"] = home
        let outcome = try await ProcessRunner.run(DeploymentWorkspace.ansibleBin + "/ansible-lint", ["--offline", "--profile", "production"],
                                                  environment: environment, currentDirectory: LoopbackTarget.repositoryRoot + "/ansible")
        #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr)")
        #expect(outcome.stderr.contains("Profile 'production' was required, and it passed") || outcome.stdout.contains("passed"),
                "\(outcome.stdout)\n\(outcome.stderr)")
    }
}
