import Foundation
import InfraTestSupport
import Testing

/// docs/QUICKSTART.md §B and the README, run as written: the package (built once by ``PackageBuild/deb()``) on a
/// fresh Debian 12 root without Swift (``ControllerRoot``), one real target, every unmarked shell block word for
/// word in order, the marked human steps done by the test (the inventory edit, the AI as a real MCP client).
@Suite("Quickstart and README, word for word", .serialized)
struct QuickstartTests {
    static var quickstart: String { LoopbackTarget.repositoryRoot + "/docs/QUICKSTART.md" }
    static var readme: String { LoopbackTarget.repositoryRoot + "/README.md" }
    /// The human steps of docs/QUICKSTART.md this test knows how to do.
    static let quickstartSteps: Set<String> = ["edit the inventory", "the AI proposes", "the AI executes"]
    /// The human steps of README.md this test knows how to do.
    static let readmeSteps: Set<String> = ["install the package", "add the server to Claude Code"]
    /// The approver of the quickstart: a Unix account made inside the controller root.
    static let approver = "alice"

    @Test("Every block of QUICKSTART.md and README.md is marked as the test knows, and every block that runs is shellcheck clean")
    func documentsAreWellFormed() async throws {
        for (path, steps) in [(Self.quickstart, Self.quickstartSteps), (Self.readme, Self.readmeSteps)] {
            let document = try QuickstartDocument(path: path)
            var labels: Set<String> = []
            for block in document.blocks {
                if case .human(let label) = block.mark { labels.insert(label) }
            }
            #expect(labels == steps, "\(path): human steps \(labels.sorted()), the test drives \(steps.sorted())")
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/shellcheck") else { continue }
            // SC2164 (cd without || exit) is left out: the blocks run under bash -e, as typed they stop a person anyway.
            for block in document.blocks where block.runs {
                let outcome = try await ProcessRunner.run("/usr/bin/shellcheck", ["-s", "bash", "-e", "SC2164", "-f", "gcc", "-"],
                                                          input: Data(block.body.utf8))
                #expect(outcome.status == 0, "\(path):\(block.line): shellcheck:\n\(outcome.stdout)")
            }
        }
        let quickstart = try QuickstartDocument(path: Self.quickstart)
        #expect(quickstart.blocks.filter(\.runs).count >= 8, "the quickstart lost its steps")
        #expect(try quickstart.block(.inventory).language == "yaml")
    }

    @Test("§B word for word: the package on a root without Swift, one target, to a signed, executed, verified action", endToEnd)
    func quickstartRunsAsWritten() async throws {
        try requirePrerequisites()
        try #require(ControllerRoot.hasImage, Comment(rawValue: ControllerRoot.imageReason))
        try #require(FileManager.default.isExecutableFile(atPath: MCPServerTests.python), "no MCP client venv: run scripts/install-deps.sh")
        let document = try QuickstartDocument(path: Self.quickstart)
        let deb = try await PackageBuild.deb()
        try await NspawnTarget.with(indexes: [36]) { targets in
            try await ControllerRoot.with { root in
                var run = QuickstartRun(document: document, root: root, target: targets[0])
                try await run.prepare(deb: deb)
                try await run.runBlocks()
                try await run.checkEndState()
                try await run.claudeSnippetsStartTheServer(readme: try QuickstartDocument(path: Self.readme))
            }
        }
    }

    @Test("README: the package line installs the package on a root without Swift, and the first two lines stay", endToEnd)
    func readmeInstallLine() async throws {
        try #require(ControllerRoot.hasImage, Comment(rawValue: ControllerRoot.imageReason))
        let document = try QuickstartDocument(path: Self.readme)
        let first = try #require(document.blocks.first { $0.language == "sh" })
        #expect(first.mark == .human("install the package"), "README's first block: \(first.mark)")
        let lines = first.body.split(separator: "\n").map { String($0.split(separator: "#", maxSplits: 1)[0]).trimmingCharacters(in: .whitespaces) }
        try #require(lines.count == 3, "README's first block: \(lines)")
        #expect(lines[0] == "bash scripts/demo.sh")
        #expect(lines[1] == "bash scripts/install-deps.sh && swift build && swift test")
        let build = "bash scripts/package.sh && "
        try #require(lines[2].hasPrefix(build), "the third line: \(lines[2])")
        let install = String(lines[2].dropFirst(build.count))
        // `bash scripts/package.sh` is what PackageBuild runs; its .deb goes where the line expects it, dist/.
        let deb = try await PackageBuild.deb()
        #expect(deb.hasPrefix(LoopbackTarget.repositoryRoot + "/dist/mcp-linux-infra_") && deb.hasSuffix(".deb"), "\(deb)")
        try await ControllerRoot.with { root in
            try FileManager.default.createDirectory(atPath: root.hostPath("/root/dist"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: deb, toPath: root.hostPath("/root/dist/" + (deb as NSString).lastPathComponent))
            let installed = try await root.shell(install)
            try #require(installed.status == 0, "README.md:\(first.line + 3): \(install): \(installed.stdout)\n\(installed.stderr)")
            let help = try await root.run(["/usr/bin/mcp-linux-infra", "--help"])
            #expect(help.status == 0 && help.stdout.contains("setup"), "\(help.stdout)\n\(help.stderr)")
            #expect(!FileManager.default.fileExists(atPath: root.hostPath("/usr/bin/swift")), "the controller root has Swift")
        }
    }
}

/// One run of docs/QUICKSTART.md on a controller root against one target.
struct QuickstartRun {
    let document: QuickstartDocument
    let root: ControllerRoot
    let target: NspawnTarget
    /// The human steps done so far.
    var driven: Set<String> = []
    /// What the AI proposed.
    var proposalID = ""
    /// The inventory host the quickstart's example names.
    var host = ""

    init(document: QuickstartDocument, root: ControllerRoot, target: NspawnTarget) {
        self.document = document
        self.root = root
        self.target = target
    }

    /// What the quickstart takes as given: root's SSH key, which the target's root accepts; an approver account
    /// with an SSH key of its own; the package file in root's folder.
    func prepare(deb: String) async throws {
        let files = FileManager.default
        try files.createDirectory(atPath: root.hostPath("/root/.ssh"), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for suffix in ["", ".pub"] {
            try files.copyItem(atPath: target.bootstrapKey + suffix, toPath: root.hostPath("/root/.ssh/id_ed25519" + suffix))
        }
        try files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: root.hostPath("/root/.ssh/id_ed25519"))
        let account = try await root.run(["/usr/sbin/useradd", "-m", "-s", "/bin/bash", "--", QuickstartTests.approver])
        try #require(account.status == 0, "useradd in the controller: \(account.stderr)")
        let key = try await root.shell("mkdir -p -m 0700 ~/.ssh && ssh-keygen -q -t ed25519 -N '' -C alice@laptop -f ~/.ssh/id_ed25519",
                                       as: QuickstartTests.approver)
        try #require(key.status == 0, "the approver's key: \(key.stderr)")
        try files.copyItem(atPath: deb, toPath: root.hostPath("/root/" + (deb as NSString).lastPathComponent))
    }

    /// Every block in order: shell blocks word for word (as root, or as the account the mark names), the human steps
    /// by the test, the sample output compared with what the block before printed.
    mutating func runBlocks() async throws {
        var lastOutput: (line: Int, text: String)?
        for block in document.blocks {
            switch block.mark {
            case .skip, .inventory:
                continue
            case .output:
                let previous = try #require(lastOutput, "QUICKSTART.md:\(block.line): a sample output with no block run before it")
                #expect(Self.shape(block.body) == Self.shape(previous.text),
                        "QUICKSTART.md:\(block.line): the sample output differs from what the block at line \(previous.line) printed:\n\(previous.text)")
            case .human(let label):
                try await drive(label, block: block)
                driven.insert(label)
            case .none, .runAs:
                guard block.runs else { continue }
                var user: String?
                if case .runAs(let name) = block.mark { user = name }
                let outcome = try await root.shell(block.body, as: user)
                try #require(outcome.status == 0, """
                    QUICKSTART.md:\(block.line): the block exited \(outcome.status)\(user.map { " (as \($0))" } ?? ""):
                    \(block.body)--- stdout
                    \(outcome.stdout.suffix(4000))--- stderr
                    \(outcome.stderr.suffix(4000))
                    """)
                lastOutput = (block.line, outcome.stdout)
            }
        }
        #expect(driven == QuickstartTests.quickstartSteps, "human steps done: \(driven.sorted())")
    }

    /// A human step, done the test's way.
    mutating func drive(_ label: String, block: QuickstartDocument.Block) async throws {
        switch label {
        case "edit the inventory":
            try writeInventory()
        case "the AI proposes":
            // The incident the AI is asked about.
            #expect(try await target.root(["systemctl", "stop", "unbound.service"]).status == 0)
            let outcome = try await aiClient(block: block, ["diagnose-and-propose", host])
            try #require(outcome.status == 0, "QUICKSTART.md:\(block.line): the AI's proposal failed:\n\(outcome.stdout)\n\(outcome.stderr.suffix(3000))")
            proposalID = outcome.stdout.split(separator: "\n").last.map(String.init) ?? ""
            try #require(proposalID.count >= 8, "no proposal id: \(outcome.stdout)")
        case "the AI executes":
            let proposes = try #require(document.blocks.first { $0.mark == .human("the AI proposes") })
            let outcome = try await aiClient(block: proposes, ["execute", proposalID, host])
            try #require(outcome.status == 0, "QUICKSTART.md:\(block.line): execution failed:\n\(outcome.stdout)\n\(outcome.stderr.suffix(3000))")
            #expect(outcome.stdout.contains("state: COMPLETED") && outcome.stdout.contains("verification: yes: "), "\(outcome.stdout)")
        default:
            Issue.record("QUICKSTART.md:\(block.line): a human step the test does not know: \(label)")
        }
    }

    /// The inventory the quickstart shows, with the target's address, the address the controller reaches it
    /// from, and the approver's public key in place of the example's.
    mutating func writeInventory() throws {
        var yaml = try document.block(.inventory).body
        let key = try String(contentsOfFile: root.hostPath("/home/\(QuickstartTests.approver)/.ssh/id_ed25519.pub"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        for (example, real) in [("203.0.113.11", target.address), ("192.0.2.10", target.hostSideAddress),
                                ("ssh-ed25519 AAAAC3Nza… alice@laptop", key)] {
            try #require(yaml.contains(example), "the quickstart's inventory no longer shows \(example)")
            yaml = yaml.replacingOccurrences(of: example, with: real)
        }
        // The first host: the first key one level under `  hosts:`.
        let lines = yaml.split(separator: "\n")
        let hosts = try #require(lines.firstIndex { $0 == "  hosts:" }, "no `  hosts:` in the quickstart's inventory")
        let hostLine = try #require(lines[(hosts + 1)...].first { $0.hasPrefix("    ") && !$0.hasPrefix("     ") && $0.hasSuffix(":") },
                                    "no host in the quickstart's inventory")
        host = hostLine.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ":", with: "")
        // Written in place: the file keeps the owner and mode the quickstart's cp gave it.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: root.hostPath("/etc/mcp-linux-infra/inventory.yml")))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(yaml.utf8))
        try handle.close()
    }

    /// The AI: the official MCP Python client (scripts/demo_client.py) starting the server exactly as the
    /// quickstart's `claude mcp add … -- COMMAND` line says, inside the controller root.
    func aiClient(block: QuickstartDocument.Block, _ arguments: [String]) async throws -> ProcessRunner.Outcome {
        let marker = "claude mcp add linux-infra -- "
        let line = try #require(block.body.split(separator: "\n").first { $0.hasPrefix(marker) }, "QUICKSTART.md:\(block.line): no '\(marker)' line")
        let command = line.dropFirst(marker.count).split(separator: " ").map(String.init)
        // demo_client.py starts SERVER with `serve --env-file FILE`: the wrapper drops those words and runs the
        // quickstart's own command, which finds the settings file by itself.
        let wrapper = try await serverWrapper(command)
        defer { try? FileManager.default.removeItem(atPath: wrapper) }
        return try await ProcessRunner.run(MCPServerTests.python, [LoopbackTarget.repositoryRoot + "/scripts/demo_client.py", wrapper,
                                                                    "/etc/mcp-linux-infra/settings.env"] + arguments)
    }

    /// An executable on the host that runs `command` inside the root with its stdio passed through.
    func serverWrapper(_ command: [String]) async throws -> String {
        let vector = try await root.commandLine(command)
        if let word = vector.first(where: { $0.contains("'") || $0.contains(where: \.isNewline) }) {
            throw LoopbackTarget.TargetError(message: "cannot single-quote \(word)")
        }
        let path = root.path + ".serve-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        try ("#!/bin/bash\nexec " + vector.map { "'\($0)'" }.joined(separator: " ") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
        return path
    }

    /// The quickstart's promises: the action COMPLETED and verified, `audit verify --hosts` exit 0, the target's
    /// journal naming the proposal and the approver.
    func checkEndState() async throws {
        let listed = try await root.shell("mcp-linux-infra actions list --all", as: QuickstartTests.approver)
        #expect(listed.status == 0 && listed.stdout.contains(String(proposalID.prefix(8)) + " COMPLETED"), "\(listed.stdout)\n\(listed.stderr)")
        let verify = try await root.shell("sudo -u mcp-linux-infra mcp-linux-infra audit verify --hosts")
        #expect(verify.status == 0, "audit verify --hosts: \(verify.stdout)\n\(verify.stderr)")
        let deadline = ContinuousClock.now + .seconds(20)
        var journal = ""
        while ContinuousClock.now < deadline {
            journal = try await target.root(["journalctl", "--no-pager", "-t", "pra-run", "--grep", proposalID]).stdout
            if journal.contains("done caller=pra-runner id=\(proposalID)") { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(journal.contains("start caller=pra-runner id=\(proposalID) action=restart_unbound") && journal.contains("approvers=alice@example.org"),
                "the target's journal: \(journal)")
        #expect(journal.contains("done caller=pra-runner id=\(proposalID)"), "the target's journal: \(journal)")
    }

    /// The README's Claude snippets start the server on the quickstart's machine: Claude Code's command line and
    /// Claude Desktop's command and args, each run inside the root until the client closes stdin.
    func claudeSnippetsStartTheServer(readme: QuickstartDocument) async throws {
        let code = try #require(readme.blocks.first { $0.mark == .human("add the server to Claude Code") })
        let marker = "claude mcp add linux-infra -- "
        let line = try #require(code.body.split(separator: "\n").first { $0.hasPrefix(marker) }, "README.md:\(code.line)")
        let desktop = try #require(readme.blocks.first { $0.language == "json" }, "README.md: no Claude Desktop JSON")
        let json = try JSONSerialization.jsonObject(with: Data(desktop.body.utf8)) as? [String: Any]
        let server = try #require((json?["mcpServers"] as? [String: Any])?["linux-infra"] as? [String: Any], "README.md:\(desktop.line)")
        let desktopCommand = [try #require(server["command"] as? String)] + (server["args"] as? [String] ?? [])
        for command in [line.dropFirst(marker.count).split(separator: " ").map(String.init), desktopCommand] {
            let outcome = try await root.run(command)
            #expect(outcome.status == 0 && outcome.stdout.isEmpty, "\(command.joined(separator: " ")): exit \(outcome.status)\n\(outcome.stderr.suffix(2000))")
        }
    }

    /// Lines with every number replaced and runs of spaces collapsed: a sample output's shape.
    static func shape(_ text: String) -> [String] {
        text.split(separator: "\n").map { line in
            line.replacingOccurrences(of: "[0-9]+(\\.[0-9]+)?", with: "#", options: .regularExpression)
                .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        }
    }
}
