import Foundation
import InfraTestSupport
import Testing

let requiresRoot = ConditionTrait.enabled(if: LoopbackTarget.isRoot, Comment(rawValue: LoopbackTarget.rootReason))

@Suite("mcp-linux-infra doctor (real binary, real loopback sshd)", requiresRoot)
struct DoctorTests {
    @Test("Both accounts pass: one line each, exit 0, logs on stderr only")
    func doctorPasses() async throws {
        try await LoopbackTarget.with { target in
            let outcome = try await ProcessRunner.run(productBinary(), ["doctor", "--env-file", target.envFile])
            #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr)")
            let lines = outcome.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 5)
            #expect(lines[0].hasPrefix("ok    store  sqlite /") && lines[0].contains("schema v4-finished-executions-immutable (4 migrations)"),
                    "\(lines[0])")
            #expect(lines[1].hasPrefix("ok    loopback  reader(\(target.readerUser))"))
            #expect(lines[1].contains("test-wrapper 1 role=reader"))
            #expect(lines[2].hasPrefix("ok    loopback  runner(\(target.runnerUser))"))
            // This target's inventory lists no approvers: a warning, which fails nothing.
            #expect(lines[3] == "WARN  loopback  host loopback lists no approvers: nobody can approve an action on it; "
                    + "add mcp_approvers for it in the inventory and redeploy the role")
            #expect(lines[4] == "3 of 3 checks passed")
            #expect(!outcome.stdout.contains("reduced security"))
            #expect(outcome.stderr.contains("reduced security"))
        }
    }

    @Test("A host whose key changed fails, and doctor exits non-zero")
    func doctorFailsOnChangedKey() async throws {
        try await LoopbackTarget.with { target in
            try await target.pinUnrelatedHostKey(at: target.stateDirectory + "/known_hosts")
            let outcome = try await ProcessRunner.run(productBinary(), ["doctor", "--env-file", target.envFile])
            #expect(outcome.status == 1)
            #expect(outcome.stdout.contains("FAIL  loopback  reader"))
            #expect(outcome.stdout.contains("HOST KEY CHANGED"))
            #expect(outcome.stdout.contains("1 of 3 checks passed"))
        }
    }
}

@Suite("doctor without a usable configuration")
struct DoctorConfigurationTests {
    @Test("A configuration error exits 2 and prints the file, field and fix on stderr")
    func configurationErrorExitsTwo() async throws {
        let outcome = try await ProcessRunner.run(productBinary(), ["doctor", "--env-file", "/nonexistent/linux-mcp.env"])
        #expect(outcome.status == 2)
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.stderr.contains("/nonexistent/linux-mcp.env: settings file (--env-file or LINUX_MCP_ENV_FILE): file not found"))
        #expect(outcome.stderr.contains("fix:"))
    }
}
