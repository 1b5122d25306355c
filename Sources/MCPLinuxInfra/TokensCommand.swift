import ArgumentParser
import Foundation
import InfraApp
import InfraDomain

/// `tokens`: the bearer tokens of HTTP clients. Each token has a name, the client's identity in proposals and
/// audit rows, and a scope: `mcp` (an MCP client, the default) or `metrics` (a Prometheus scraper of
/// `/metrics`); only its SHA-256 is kept (LINUX_MCP_HTTP_TOKENS), and `add` prints the token once.
struct TokensCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Add, list or revoke the bearer tokens of HTTP clients: MCP clients (the name is the client's identity) and metrics scrapers.",
        subcommands: [Add.self, List.self, Revoke.self])

    /// `tokens add NAME [--scope mcp|metrics]`
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a token for a client; it is printed once and only its hash is kept.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The client's name (a-z 0-9 . _ -), recorded as the proposer of what it proposes.") var name: String
        @Option(help: "What the token opens: mcp (an MCP client at /mcp) or metrics (a Prometheus scraper at /metrics).")
        var scope: ClientTokens.Scope = .mcp

        func run() throws {
            let file = try options.clientTokens()
            let token = try TokensCommand.refusing { try file.add(name: name, scope: scope) }
            FileHandle.standardError.write(Data("\(scope.rawValue) token for \(name) (shown once; only its hash is kept in \(TerminalText.escaped(file.path))):\n".utf8))
            print(token)
        }
    }

    /// `tokens list`
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every token: name, scope, created, revoked (never the token).")
        @OptionGroup var options: ConfigurationOptions

        func run() throws {
            let file = try options.clientTokens()
            let tokens = try TokensCommand.refusing { try file.read() }
            if tokens.entries.isEmpty { print("no tokens"); return }
            print("NAME                             SCOPE    CREATED (UTC)              STATE")
            for entry in tokens.entries {
                print([pad(entry.name, 32), pad(entry.scope.rawValue, 8), pad(entry.created, 26), entry.revoked.map { "revoked \($0)" } ?? "valid"]
                    .joined(separator: " "))
            }
        }
    }

    /// `tokens revoke NAME`
    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: its client is refused from then on.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The client's name.") var name: String

        func run() throws {
            let file = try options.clientTokens()
            try TokensCommand.refusing { try file.revoke(name: name) }
            print("revoked \(name)")
        }
    }

    /// Runs `body`; a problem is printed on stderr and exits with status 1.
    static func refusing<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let problem as ClientTokens.Problem {
            writeError("refused: \(problem.description)")
            throw ExitCode(1)
        }
    }
}

// `--scope mcp|metrics`: the raw values, refused with the list of scopes otherwise.
extension ClientTokens.Scope: ExpressibleByArgument {}
