import Foundation
import InfraTestSupport
import Testing

/// The Debian package from scripts/package.sh, checked as a file (the quickstart test installs it for real): built
/// once for this tree by ``PackageBuild/deb()``, then read with dpkg-deb and run from a folder it was unpacked into.
@Suite("Debian package", .serialized, .enabled(if: PackageBuild.missingTools == nil, Comment(rawValue: PackageBuild.missingTools ?? "")))
struct PackageTests {
    static let package = "mcp-linux-infra"

    /// The package unpacked (`dpkg-deb -x`) into a fresh folder, with its path and control fields.
    struct Unpacked {
        let deb: String
        let root: String
        let field: [String: String]
    }

    static func unpack() async throws -> Unpacked {
        let deb = try await PackageBuild.deb()
        let size = (try FileManager.default.attributesOfItem(atPath: deb)[.size] as? NSNumber)?.intValue ?? 0
        print("Debian package: \(deb), \(size) bytes (\(String(format: "%.1f", Double(size) / 1_048_576)) MiB)")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("deb-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let extract = try await ProcessRunner.run("/usr/bin/dpkg-deb", ["-x", deb, root])
        #expect(extract.status == 0, "\(extract.stderr)")
        var field: [String: String] = [:]
        for name in ["Package", "Version", "Architecture", "Depends", "Installed-Size", "Maintainer"] {
            field[name] = try await ProcessRunner.run("/usr/bin/dpkg-deb", ["-f", deb, name]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return Unpacked(deb: deb, root: root, field: field)
    }

    /// One line of `dpkg-deb --contents`: `-rwxr-xr-x root/root 123 2026-01-01 00:00 ./usr/bin/x` (symlinks add ` -> target`).
    struct Entry {
        let mode: String
        let owner: String
        let path: String
    }

    static func contents(_ deb: String) async throws -> [String: Entry] {
        let listing = try await ProcessRunner.run("/usr/bin/dpkg-deb", ["--contents", deb])
        #expect(listing.status == 0, "\(listing.stderr)")
        var entries: [String: Entry] = [:]
        for line in listing.stdout.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard words.count >= 6 else { continue }
            var path = words[5]
            if path.hasPrefix("./") { path.removeFirst(1) }
            if path.count > 1 && path.hasSuffix("/") { path.removeLast() }
            entries[path] = Entry(mode: words[0], owner: words[1], path: path)
        }
        return entries
    }

    @Test("The packaged binary loads no Swift library and runs --version and --help from the unpacked package")
    func staticRuntime() async throws {
        let unpacked = try await Self.unpack()
        defer { try? FileManager.default.removeItem(atPath: unpacked.root) }
        let binary = unpacked.root + "/usr/bin/" + Self.package
        let ldd = try await ProcessRunner.run("/usr/bin/ldd", [binary])
        #expect(ldd.status == 0, "\(ldd.stderr)")
        for swiftLibrary in ["libswift", "libFoundation", "lib_Foundation", "libdispatch", "libBlocksRuntime", "libXCTest"] {
            #expect(!ldd.stdout.contains(swiftLibrary), "ldd names \(swiftLibrary):\n\(ldd.stdout)")
        }
        #expect(ldd.stdout.contains("libssh2.so"), "\(ldd.stdout)")
        #expect(ldd.stdout.contains("libsqlite3.so"), "\(ldd.stdout)")
        #expect(!ldd.stdout.contains("not found"), "\(ldd.stdout)")

        let version = try await ProcessRunner.run(binary, ["--version"])
        #expect(version.status == 0, "\(version.stderr)")
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == unpacked.field["Version"])
        let help = try await ProcessRunner.run(binary, ["--help"])
        #expect(help.status == 0, "\(help.stderr)")
        for subcommand in ["serve", "doctor", "actions", "audit"] {
            #expect(help.stdout.contains(subcommand), "--help does not name \(subcommand):\n\(help.stdout)")
        }
    }

    @Test("Control fields: the name, the binary's version, this machine's architecture, Depends from the libraries it loads")
    func controlFields() async throws {
        let unpacked = try await Self.unpack()
        defer { try? FileManager.default.removeItem(atPath: unpacked.root) }
        let architecture = try await ProcessRunner.run("/usr/bin/dpkg", ["--print-architecture"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(unpacked.field["Package"] == Self.package)
        #expect(unpacked.field["Architecture"] == architecture)
        #expect(unpacked.deb.hasSuffix("/dist/\(Self.package)_\(unpacked.field["Version"] ?? "?")_\(architecture).deb"))
        let depends = (unpacked.field["Depends"] ?? "").split(separator: ",").map {
            String($0.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
        }
        for needed in ["libc6", "libssh2-1", "libsqlite3-0", "openssh-client"] {
            #expect(depends.contains(needed), "Depends lacks \(needed): \(unpacked.field["Depends"] ?? "")")
        }
        for swiftPackage in depends where swiftPackage.contains("swift") {
            Issue.record("Depends names a Swift package: \(swiftPackage)")
        }
        #expect(Int(unpacked.field["Installed-Size"] ?? "") ?? 0 > 1000)
    }

    @Test("Every path of the install layout is in the package, owned by root, with its mode")
    func layout() async throws {
        let deb = try await PackageBuild.deb()
        let entries = try await Self.contents(deb)
        for entry in entries.values {
            #expect(entry.owner == "root/root", "\(entry.path) is \(entry.owner)")
            if entry.mode.hasPrefix("d") { #expect(entry.mode == "drwxr-xr-x", "\(entry.path) is \(entry.mode)") }
            if entry.mode.hasPrefix("-") {
                #expect(entry.mode == "-rw-r--r--" || entry.mode == "-rwxr-xr-x", "\(entry.path) is \(entry.mode)")
            }
        }
        let expected: [String: String] = [
            "/usr/bin/mcp-linux-infra": "-rwxr-xr-x",
            "/usr/share/mcp-linux-infra/system": "drwxr-xr-x",
            "/usr/share/mcp-linux-infra/ansible": "drwxr-xr-x",
            "/usr/share/mcp-linux-infra/examples/settings.env": "-rw-r--r--",
            "/usr/share/mcp-linux-infra/examples/inventory.example.yml": "-rw-r--r--",
            "/usr/share/doc/mcp-linux-infra/README.md": "-rw-r--r--",
            "/usr/share/doc/mcp-linux-infra/copyright": "-rw-r--r--",
            "/usr/share/doc/mcp-linux-infra/changelog.Debian.gz": "-rw-r--r--",
            "/usr/share/man/man1/mcp-linux-infra.1.gz": "-rw-r--r--",
            "/usr/share/bash-completion/completions/mcp-linux-infra": "-rw-r--r--",
            "/usr/share/zsh/vendor-completions/_mcp-linux-infra": "-rw-r--r--",
            "/usr/share/fish/vendor_completions.d/mcp-linux-infra.fish": "-rw-r--r--",
            "/lib/systemd/system/mcp-linux-infra.service": "-rw-r--r--",
            "/lib/systemd/system/mcp-linux-infra-agent.service": "-rw-r--r--",
        ]
        for (path, mode) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(entries[path]?.mode == mode, "\(path): \(entries[path]?.mode ?? "missing"), expected \(mode)")
        }
        // Every file git tracks under system/ and ansible/ (the role and the scripts it installs), with git's mode.
        let tracked = try await ProcessRunner.run("/usr/bin/git", ["-C", LoopbackTarget.repositoryRoot, "ls-files", "-s", "--", "system", "ansible"])
        var count = 0
        for line in tracked.stdout.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            let mode = switch parts[0].prefix(6) { case "100755": "-rwxr-xr-x"; case "120000": "lrwxrwxrwx"; default: "-rw-r--r--" }
            let path = "/usr/share/mcp-linux-infra/" + parts[1]
            #expect(entries[path]?.mode == mode, "\(path): \(entries[path]?.mode ?? "missing"), expected \(mode)")
            count += 1
        }
        #expect(count > 20)
        let docs = try FileManager.default.contentsOfDirectory(atPath: LoopbackTarget.repositoryRoot + "/docs").filter { $0.hasSuffix(".md") }
        #expect(!docs.isEmpty)
        for page in docs {
            #expect(entries["/usr/share/doc/mcp-linux-infra/docs/" + page] != nil, "docs/\(page) is not in the package")
        }
        // /etc and /var/lib belong to `mcp-linux-infra setup`, not to the package's file list.
        #expect(entries.keys.filter { $0.hasPrefix("/etc") || $0.hasPrefix("/var") }.isEmpty)
    }

    @Test("The man page and the bash, zsh and fish completions are there, not empty, and know doctor")
    func manPageAndCompletions() async throws {
        let unpacked = try await Self.unpack()
        defer { try? FileManager.default.removeItem(atPath: unpacked.root) }
        let man = try await ProcessRunner.run("/bin/gzip", ["-dc", unpacked.root + "/usr/share/man/man1/mcp-linux-infra.1.gz"])
        #expect(man.status == 0, "\(man.stderr)")
        let page = man.stdout
        let isRoff = page.hasPrefix(".\\\"") && page.contains(".Dt MCP-LINUX-INFRA 1")
        #expect(isRoff, "not an mdoc page: \(page.prefix(200))")
        for word in ["doctor", "serve", "env-file"] {   // mdoc writes --env-file as "Fl -env-file"
            let mentioned = page.contains(word)
            #expect(mentioned, "the man page does not mention \(word)")
        }
        for completion in ["/usr/share/bash-completion/completions/mcp-linux-infra", "/usr/share/zsh/vendor-completions/_mcp-linux-infra",
                           "/usr/share/fish/vendor_completions.d/mcp-linux-infra.fish"] {
            let text = try String(contentsOfFile: unpacked.root + completion, encoding: .utf8)
            #expect(text.count > 200, "\(completion) is \(text.count) characters")
            #expect(text.contains("doctor"), "\(completion) does not know doctor")
        }
        let bash = try await ProcessRunner.run("/bin/bash", ["-n", unpacked.root + "/usr/share/bash-completion/completions/mcp-linux-infra"])
        #expect(bash.status == 0, "\(bash.stderr)")
    }

    @Test("Maintainer scripts: postinst runs setup on configure and fails loudly; nothing is enabled or started")
    func maintainerScripts() async throws {
        let deb = try await PackageBuild.deb()
        let control = FileManager.default.temporaryDirectory.appendingPathComponent("control-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: control) }
        let extract = try await ProcessRunner.run("/usr/bin/dpkg-deb", ["-e", deb, control])
        #expect(extract.status == 0, "\(extract.stderr)")
        for script in ["postinst", "prerm", "postrm"] {
            let path = control + "/" + script
            let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
            #expect(mode == 0o755, "\(script) mode \(String(mode ?? 0, radix: 8))")
            let syntax = try await ProcessRunner.run("/bin/sh", ["-n", path])
            #expect(syntax.status == 0, "\(script): \(syntax.stderr)")
        }
        let postinst = try String(contentsOfFile: control + "/postinst", encoding: .utf8)
        #expect(postinst.contains("set -eu"))
        #expect(postinst.contains("/usr/bin/mcp-linux-infra setup\n"))
        #expect(!postinst.contains("setup || true"))
        for script in ["postinst", "prerm", "postrm"] {
            let text = try String(contentsOfFile: control + "/" + script, encoding: .utf8)
            #expect(!text.contains("systemctl enable") && !text.contains("systemctl start"), "\(script) enables or starts a unit")
            // Accounts, /etc/mcp-linux-infra and /var/lib/mcp-linux-infra are kept on remove and purge (docs/PACKAGING.md).
            for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                for command in ["userdel", "deluser", "groupdel", "delgroup", "rm "] {
                    #expect(!line.hasPrefix(command), "\(script) runs \(line)")
                }
            }
        }
        let md5sums = try String(contentsOfFile: control + "/md5sums", encoding: .utf8)
        #expect(md5sums.contains("usr/bin/mcp-linux-infra"))
    }

    @Test("systemd-analyze verify passes on both units; their exposure stays at most 2.0",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"),
                   "systemd-analyze is not installed (apt-get install systemd)"))
    func systemdUnits() async throws {
        let unpacked = try await Self.unpack()
        defer { try? FileManager.default.removeItem(atPath: unpacked.root) }
        // The units name /usr/bin/mcp-linux-infra; verify checks that it is executable, so the copies name the unpacked one.
        let units = unpacked.root + "/units"
        try FileManager.default.createDirectory(atPath: units, withIntermediateDirectories: true)
        var paths: [String] = []
        for unit in ["mcp-linux-infra.service", "mcp-linux-infra-agent.service"] {
            let text = try String(contentsOfFile: unpacked.root + "/lib/systemd/system/" + unit, encoding: .utf8)
            let path = units + "/" + unit
            try text.replacingOccurrences(of: "ExecStart=/usr/bin/mcp-linux-infra ", with: "ExecStart=\(unpacked.root)/usr/bin/mcp-linux-infra ")
                .write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["MANPATH"] = unpacked.root + "/usr/share/man:/usr/share/man"
        let verify = try await ProcessRunner.run("/usr/bin/systemd-analyze", ["verify"] + paths, environment: environment)
        #expect(verify.status == 0 && verify.stderr.isEmpty, "systemd-analyze verify:\n\(verify.stdout)\(verify.stderr)")

        let server = try String(contentsOfFile: paths[0], encoding: .utf8)
        for line in ["User=mcp-linux-infra", "ExecStart=\(unpacked.root)/usr/bin/mcp-linux-infra serve --http 127.0.0.1:8750",
                     "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/mcp-linux-infra", "PrivateTmp=yes",
                     "ProtectHome=yes", "Environment=SSH_AUTH_SOCK=/run/mcp-linux-infra/agent.sock"] {
            #expect(server.contains(line + "\n"), "mcp-linux-infra.service lacks \(line)")
        }
        let agent = try String(contentsOfFile: paths[1], encoding: .utf8)
        for line in ["User=mcp-linux-infra", "RuntimeDirectory=mcp-linux-infra", "ExecStart=/usr/bin/ssh-agent -D -a /run/mcp-linux-infra/agent.sock"] {
            #expect(agent.contains(line + "\n"), "mcp-linux-infra-agent.service lacks \(line)")
        }
        for path in paths {
            let security = try await ProcessRunner.run("/usr/bin/systemd-analyze", ["security", "--offline=yes", "--no-pager", path])
            let verdict = security.stdout.split(separator: "\n").last { $0.contains("Overall exposure level") }.map(String.init) ?? ""
            print("systemd-analyze security \(URL(fileURLWithPath: path).lastPathComponent): \(verdict)")
            let score = verdict.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }
            #expect((score ?? 10) <= 2.0, "\(verdict)\n\(security.stderr)")
        }
    }

    @Test("server.json parses, is shaped as the MCP registry's schema asks, and names the package, the binary and its version")
    func registryServerJSON() async throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: LoopbackTarget.repositoryRoot + "/server.json"))
        let server = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect((server["$schema"] as? String)?.hasPrefix("https://static.modelcontextprotocol.io/schemas/") == true)
        let name = try #require(server["name"] as? String)
        #expect(name.range(of: "^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$", options: .regularExpression) != nil, "\(name)")
        #expect(name.hasSuffix("/" + Self.package))
        let description = try #require(server["description"] as? String)
        #expect((1...100).contains(description.count), "description is \(description.count) characters (1 to 100)")
        let source = try String(contentsOfFile: LoopbackTarget.repositoryRoot + "/Sources/MCPLinuxInfra/MCPLinuxInfra.swift", encoding: .utf8)
        #expect(source.contains("static let version = \"\(server["version"] as? String ?? "?")\""),
                "server.json's version is not the binary's version constant")
        let meta = try #require(server["_meta"] as? [String: Any])
        let published = try #require(meta["io.modelcontextprotocol.registry/publisher-provided"] as? [String: Any])
        let distribution = try #require(published["distribution"] as? [String: Any])
        #expect(distribution["debianPackage"] as? String == Self.package)
        #expect(distribution["command"] as? String == Self.package)
        let arguments = try #require(distribution["packageArguments"] as? [[String: Any]])
        #expect(arguments.compactMap { $0["value"] as? String } == ["serve"])
        #expect((distribution["transport"] as? [String: Any])?["type"] as? String == "stdio")
        let variables = try #require(distribution["environmentVariables"] as? [[String: Any]])
        let names = variables.compactMap { $0["name"] as? String }
        #expect(names.contains("LINUX_MCP_ENV_FILE"))
        // Every variable it names is one the configuration reads (the example settings file lists them all).
        let example = try String(contentsOfFile: LoopbackTarget.repositoryRoot + "/.env.example", encoding: .utf8)
        for variable in names where variable != "LINUX_MCP_ENV_FILE" {
            #expect(example.contains("\n" + variable + "="), "\(variable) is not a setting in .env.example")
        }
    }
}
