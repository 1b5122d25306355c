import Foundation
import Glibc
import InfraTestSupport
import Testing

/// A client that goes away in the middle of a long call (the real binary, a raw socket closed after the SSE
/// stream started): the server notices at its next keepalive write and cancels the request, so the fan-out
/// asks none of the hosts still waiting their turn. The hosts' "sshd" is a loopback socket that never sends
/// a banner, so every attempt lasts until the connect timeout.
@Suite("serve --http: a client that disconnects cancels the hosts not yet asked (real binary)")
struct HTTPDisconnectTests {
    @Test("24 hosts, 16 asked at a time, the client gone after the stream opened: no host is asked after the cancel",
          .timeLimit(.minutes(3)))
    func disconnectCancelsFanOut() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: MetricsServeTests.python), "no MCP client venv: run scripts/install-deps.sh")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-disconnect-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let silent = try LocalServeConfiguration.silentListener()
        defer { close(silent.descriptor) }
        let hosts = (1...24).map { String(format: "h%02d", $0) }
        // The first 16 attempts last the whole connect timeout: long enough for the cancel (a keepalive every second)
        // to come well before any of them ends, on a loaded machine too.
        let envFile = try await LocalServeConfiguration.make(in: folder, hosts: hosts, port: silent.port, extra: [
            "LINUX_MCP_CONNECT_TIMEOUT_MS": "30000", "LINUX_MCP_HTTP_KEEPALIVE_SECONDS": "1",
        ])
        let made = try await ProcessRunner.run(productBinary(), ["tokens", "add", "crashy", "--env-file", envFile])
        let token = try #require(made.stdout.firstMatch(of: /mlit_[A-Za-z0-9_-]{43}/).map { String($0.0) }, "\(made)")
        let server = try await HTTPServerProcess.start(envFile: envFile, stderrPath: folder + "/serve.stderr")
        // A connection that never sends a request (slowloris): the server closes it after its 30 s of idle.
        let port = try #require(Int(server.baseURL.split(separator: ":").last ?? ""))
        let idler = try Self.connect(port: port)
        defer { close(idler) }
        do {
            let run = try await ProcessRunner.run(MetricsServeTests.python, [LoopbackTarget.repositoryRoot + "/Tests/mcp/disconnect_call.py",
                                                                             server.baseURL, token, "get_disk_usage", "all"])
            try #require(run.status == 0, "\(run)")
            #expect(run.stdout.contains("\"primed\": true"), "\(run.stdout)")
            // The call ends once the attempts in flight end; then its audit row is written.
            let deadline = ContinuousClock.now + .seconds(150)
            var rows: [String] = []
            while ContinuousClock.now < deadline {
                let search = try await ProcessRunner.run(productBinary(), ["audit", "search", "--kind", "tool", "--env-file", envFile])
                rows = search.stdout.split(separator: "\n").map(String.init).filter { $0.contains("get_disk_usage") }
                if !rows.isEmpty { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(rows.count == 1, "the call's audit row: \(rows)")
            #expect(server.stderr.contains("request cancelled: the HTTP client went away"), "\(server.stderr.suffix(2000))")
            let ssh = try await ProcessRunner.run(productBinary(), ["audit", "search", "--kind", "ssh", "--env-file", envFile])
            let attempts = ssh.stdout.split(separator: "\n").filter { $0.contains(" ssh ") && $0.contains("disks") }
            #expect(attempts.count <= 16, "hosts asked after the cancel: \(attempts.count) attempts\n\(ssh.stdout.suffix(3000))")
            var closed = false
            let closeDeadline = ContinuousClock.now + .seconds(120)
            while !closed && ContinuousClock.now < closeDeadline {
                var byte: UInt8 = 0
                closed = recv(idler, &byte, 1, Int32(MSG_DONTWAIT)) == 0
                if !closed { try await Task.sleep(for: .milliseconds(250)) }
            }
            #expect(closed, "a connection that sent nothing is still open")
        } catch {
            await server.stop()
            throw error
        }
        #expect(await server.stop() == 0, "\(server.stderr.suffix(2000))")
    }

    @Test("A trickling request body gets 408; SIGTERM with a GET stream held open: the stream is ended, serve exits 0 and audits its stop",
          .timeLimit(.minutes(3)))
    func sigtermEndsOpenStreams() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: MetricsServeTests.python), "no MCP client venv: run scripts/install-deps.sh")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-held-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let envFile = try await LocalServeConfiguration.make(in: folder, hosts: ["down"], port: try LocalServeConfiguration.closedPort())
        let made = try await ProcessRunner.run(productBinary(), ["tokens", "add", "holder", "--env-file", envFile])
        let token = try #require(made.stdout.firstMatch(of: /mlit_[A-Za-z0-9_-]{43}/).map { String($0.0) }, "\(made)")
        let server = try await HTTPServerProcess.start(envFile: envFile, stderrPath: folder + "/serve.stderr")
        let output = folder + "/holder.out"
        let holder = try ChildProcess.start(MetricsServeTests.python, [LoopbackTarget.repositoryRoot + "/Tests/mcp/hold_stream.py", server.baseURL, token],
                                            stdout: output, stderr: folder + "/holder.err", newSession: true)
        func said(_ word: String) -> Bool { ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").contains(word) }
        let deadline = ContinuousClock.now + .seconds(60)
        while !said("opened") && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(said("opened"), "\((try? String(contentsOfFile: folder + "/holder.err", encoding: .utf8)) ?? "")")
        // A body that trickles (10 of 1000 bytes, then nothing) is cut off: 408 within the 15 s body deadline.
        let port = try #require(Int(server.baseURL.split(separator: ":").last ?? ""))
        let slow = try Self.connect(port: port)
        defer { close(slow) }
        let head = "POST /login HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nnonce=abcd"
        _ = head.withCString { send(slow, $0, strlen($0), 0) }
        var reply = [UInt8](repeating: 0, count: 256), got = 0
        let replyDeadline = ContinuousClock.now + .seconds(90)
        while got <= 0 && ContinuousClock.now < replyDeadline {
            got = recv(slow, &reply, reply.count, Int32(MSG_DONTWAIT))
            if got <= 0 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(String(decoding: reply.prefix(max(got, 0)), as: UTF8.self).hasPrefix("HTTP/1.1 408"), "\(String(decoding: reply.prefix(max(got, 0)), as: UTF8.self))")
        // Before the fix of a stream left open, the stop waited on it forever: the exit itself is the proof.
        let status = await server.stop(within: 90)
        while !said("ended") && ContinuousClock.now < deadline + .seconds(60) { try await Task.sleep(for: .milliseconds(50)) }
        kill(holder.pid, SIGKILL)
        _ = await holder.wait()
        #expect(status == 0, "serve --http exit \(status): \(server.stderr.suffix(2000))")
        #expect(said("ended"), "the held stream was not ended by the stop")
        let tail = try await ProcessRunner.run(productBinary(), ["audit", "search", "--kind", "server", "--env-file", envFile])
        #expect(tail.stdout.contains("stopped"), "\(tail.stdout)")
    }

    /// A TCP connection to 127.0.0.1:`port` that sends nothing.
    static func connect(port: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            close(descriptor)
            throw LoopbackTarget.TargetError(message: "cannot connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        return descriptor
    }
}
