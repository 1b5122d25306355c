import Foundation
import InfraTestSupport
import Testing

@Suite("Shell scripts")
struct ShellScriptTests {
    static let shellcheck = "/usr/bin/shellcheck"

    @Test("Every shell script in the repository is shellcheck clean",
          .enabled(if: FileManager.default.isExecutableFile(atPath: shellcheck), "shellcheck is not installed (apt-get install shellcheck)"))
    func shellcheckClean() async throws {
        let root = LoopbackTarget.repositoryRoot
        var scripts: [String] = []
        for folder in ["system", "Tests/targets", "scripts", "bench", ".ci", "ansible", "packaging"] {
            guard let walker = FileManager.default.enumerator(atPath: root + "/" + folder) else { continue }
            for case let path as String in walker {
                let full = root + "/" + folder + "/" + path
                guard let head = try? String(contentsOfFile: full, encoding: .utf8).prefix(40) else { continue }
                if head.hasPrefix("#!/bin/sh") || head.hasPrefix("#!/bin/bash") || head.hasPrefix("#!/usr/bin/env bash") {
                    scripts.append(full)
                }
            }
        }
        #expect(scripts.count >= 3)
        let outcome = try await ProcessRunner.run(Self.shellcheck, ["-x", "-f", "gcc"] + scripts)
        #expect(outcome.status == 0, "\(outcome.stdout)")
    }
}
