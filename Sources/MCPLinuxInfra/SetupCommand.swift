import ArgumentParser
import Foundation
import InfraApp
import InfraDomain

/// `setup`: the install layout on this machine (docs/INSTALL.md), as root; the work is InfraApp's ``InstallSetup``.
struct SetupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "As root: make the install layout (the server's account, the approvers' group, /etc/mcp-linux-infra, "
            + "/var/lib/mcp-linux-infra, the keys, the database), or fix it; add approvers to their group.",
        discussion: """
        Idempotent: one line per item (created, ok, fixed, added); a second run changes nothing. It never overwrites \
        settings.env, the inventory or a key, and refuses a symbolic link, a file with other hard links, or an item \
        owned by someone else where the layout's files go. See docs/INSTALL.md.
        """)

    @Option(name: .customLong("approver"), help: ArgumentHelp("Add this existing Unix user to the approvers' group (repeatable).", valueName: "user"))
    var approvers: [String] = []

    @Option(help: "Install under this folder instead of / (tests, the demo).")
    var prefix = "/"

    @Option(help: "The server's system account.")
    var account = InstallLayout.defaultAccount

    @Option(name: .customLong("approvers-group"), help: "The approvers' group.")
    var approversGroup = InstallLayout.defaultApproversGroup

    @Option(help: "The action catalogue the settings name (LINUX_MCP_CATALOGUE); not under --prefix.")
    var catalogue = InstallLayout.defaultCatalogue

    func run() throws {
        let layout: InstallLayout
        do {
            layout = try InstallLayout(prefix: prefix, account: account, approversGroup: approversGroup, catalogue: catalogue)
        } catch {
            writeError("setup: \(error.description)")
            throw ExitCode(2)
        }
        // Unbuffered, so the lines and a refusal on stderr come out in order; each line escaped (names come from the system).
        let setup = InstallSetup(layout: layout, approvers: approvers) { text in
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { TerminalText.escaped(String($0)) }
            FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
        do {
            try setup.run()
        } catch {
            writeError("setup: refused: \(error.description)")
            throw ExitCode(1)
        }
    }
}
