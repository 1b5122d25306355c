import Foundation
import Glibc
import InfraApp
import Testing

/// The tokens file is refused when someone other than the reading account (or root) could have written it, in
/// place or by replacing it in its folder: the approvers' shared database folder, where `auto` puts it.
@Suite("The HTTP tokens file: refused when others could have written it or replaced it")
struct TokenFileWritersTests {
    @Test("A file in a folder others may write (the shared database folder, 2770), or group-writable, is refused; 0700 and sticky folders are not")
    func foreignWriters() throws {
        let (folder, file) = try Self.tokenFile()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(try file.read().text.contains("ci-bot"), "the account's own file in its own folder is read")

        for mode: mode_t in [0o2770, 0o777] {
            #expect(chmod(folder, mode) == 0)
            let refusal = Self.refusal(file)
            #expect(refusal.contains("its folder \(folder) lets others replace it") && refusal.contains("LINUX_MCP_HTTP_TOKENS"), "\(refusal)")
        }
        #expect(chmod(folder, 0o1777) == 0)
        #expect(try file.read().text.contains("ci-bot"), "a sticky folder: nobody else can replace the file")

        #expect(chmod(folder, 0o700) == 0 && chmod(folder + "/http-tokens", 0o620) == 0)
        #expect(Self.refusal(file).contains("its group or others may write it"))
    }

    @Test("A file owned by another account is refused", .enabled(if: geteuid() == 0, "needs root: gives the file to another account (chown)"))
    func foreignOwner() throws {
        let (folder, file) = try Self.tokenFile()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(chown(folder + "/http-tokens", 65534, 65534) == 0)
        let refusal = Self.refusal(file)
        #expect(refusal.contains("it is owned by") && refusal.contains("not by"), "\(refusal)")
    }

    /// A fresh folder (0700, removed by the caller) holding a tokens file with one token, ci-bot.
    static func tokenFile() throws -> (folder: String, file: ClientTokenFile) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-token-writers-\(UUID().uuidString)").path
        #expect(mkdir(folder, 0o700) == 0)
        let file = ClientTokenFile(path: folder + "/http-tokens")
        _ = try file.add(name: "ci-bot")
        return (folder, file)
    }

    /// The refusal's text; empty (and a recorded issue) when the file was read.
    static func refusal(_ file: ClientTokenFile) -> String {
        do {
            _ = try file.read()
            Issue.record("\(file.path) was read")
            return ""
        } catch {
            return error.description
        }
    }
}
