import Foundation
import InfraDomain
import InfraTestSupport
import Testing

/// One table of exit codes: the common script's `readonly EXIT_NAME=N` lines are the target's, TargetExitCode
/// is the server's, and the scripts name every code they return. Reads the files in system/; needs no root.
@Suite("The target's exit codes: one table, the same in the common script and in TargetExitCode")
struct TargetExitCodeTableTests {
    static let system = LoopbackTarget.repositoryRoot + "/system/"
    static let common = "target-common.sh"
    static let scripts = ["mcp-wrapper", "pra-exec", "pra-run"]

    /// The file's lines, without the comment lines (a comment may say "exit 64" in prose).
    static func codeLines(_ file: String) throws -> [Substring] {
        try String(contentsOfFile: system + file, encoding: .utf8).split(separator: "\n")
            .filter { !$0.drop { $0 == " " }.hasPrefix("#") }
    }

    /// EXIT_OTHER_HOST -> otherHost.
    static func caseName(_ scriptName: Substring) -> String {
        let words = scriptName.dropFirst("EXIT_".count).lowercased().split(separator: "_")
        return words.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.capitalized }.joined()
    }

    @Test("EXIT_OTHER_HOST is otherHost, EXIT_REFUSED is refused")
    func caseNames() {
        #expect(Self.caseName("EXIT_OTHER_HOST") == "otherHost")
        #expect(Self.caseName("EXIT_REFUSED") == "refused")
        #expect(Self.caseName("EXIT_TOO_FEW_APPROVERS") == "tooFewApprovers")
    }

    @Test("Every readonly EXIT_NAME=N of the common script is a TargetExitCode case with that number, and every case is defined there")
    func tableMatchesBothWays() throws {
        var script: [String: Int32] = [:]
        for line in try Self.codeLines(Self.common) {
            let assignments = line.matches(of: /\bEXIT_[A-Z_]+=[0-9]*/)
            guard !assignments.isEmpty else { continue }
            // Defined once, read-only: a later assignment could not change a code the other scripts rely on.
            #expect(line.hasPrefix("readonly "), "not readonly: \(line)")
            for assignment in assignments {
                let parts = assignment.output.split(separator: "=", maxSplits: 1)
                let name = Self.caseName(parts[0])
                let number = try #require(parts.count == 2 ? Int32(parts[1]) : nil, "not a number: \(assignment.output)")
                #expect(script[name] == nil, "\(parts[0]) defined twice")
                script[name] = number
            }
        }
        let swift = Dictionary(uniqueKeysWithValues: TargetExitCode.allCases.map { ("\($0)", $0.rawValue) })
        #expect(script.count >= 20, "only \(script.count) codes read from \(Self.common)")
        #expect(Set(script.keys).subtracting(swift.keys).isEmpty, "in \(Self.common), not in TargetExitCode: \(Set(script.keys).subtracting(swift.keys).sorted())")
        #expect(Set(swift.keys).subtracting(script.keys).isEmpty, "in TargetExitCode, not in \(Self.common): \(Set(swift.keys).subtracting(script.keys).sorted())")
        for (name, number) in script where swift[name] != nil {
            #expect(swift[name] == number, "\(name): \(Self.common) says \(number), TargetExitCode says \(swift[name]!)")
        }
    }

    @Test("The scripts exit and refuse only through the names (or 0), use only names the table defines, and define none of their own")
    func scriptsUseTheNames() throws {
        let defined = Set(TargetExitCode.allCases.map { "\($0)" })
        for file in Self.scripts + [Self.common] {
            let lines = try Self.codeLines(file)
            #expect(lines.count > 10, "\(file) read as \(lines.count) lines")
            for line in lines {
                for bare in line.matches(of: /\b(exit|refuse)\s+"?([0-9]+)/) where !(bare.output.1 == "exit" && bare.output.2 == "0") {
                    Issue.record("\(file): a bare exit code: \(line)")
                }
                for used in line.matches(of: /\$\{?(EXIT_[A-Z_]+)/) {
                    #expect(defined.contains(Self.caseName(used.output.1)), "\(file): \(used.output.1) is not in the table: \(line)")
                }
                if file != Self.common {
                    #expect(line.firstMatch(of: /\bEXIT_[A-Z_]+=/) == nil, "\(file) defines a code of its own: \(line)")
                }
            }
        }
    }
}
