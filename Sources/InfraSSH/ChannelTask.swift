import InfraDomain
import CLibSSH2
import Glibc

/// One remote command on a pooled session, as a non-blocking state machine.
///
/// Only the I/O thread that owns the session calls ``step(session:host:)``. Each step advances as far as it can
/// without blocking (open, exec, stdin, read, close) and then yields, so one session can serve several
/// channels. stdout and stderr are drained alternately so neither can fill the window and deadlock.
final class ChannelTask {
    /// What a caller asked for, and where to deliver the answer.
    struct Job: Sendable {
        let command: [UInt8]
        let stdin: [UInt8]
        let deadline: ContinuousClock.Instant
        let started: ContinuousClock.Instant
        let limit: Duration
        let maxOutputBytes: Int
        let continuation: CheckedContinuation<ExecResult, any Error>
    }

    /// The outcome of one step.
    enum Step {
        case progressed
        case blocked
        case finished(Result<ExecResult, SSHError>, abandoned: Bool, sessionBroken: Bool)
    }

    private enum Phase { case open, exec, stdin, eof, read, close, waitClosed }

    let job: Job
    private var phase = Phase.open
    private var channel: OpaquePointer?
    /// True from the moment the exec request may have been sent: after that, never retry.
    private(set) var execSent = false
    private var stdinOffset = 0
    private var stdout: [UInt8] = []
    private var stderr: [UInt8] = []
    private var stdoutTruncated = false
    private var stderrTruncated = false
    private static let chunk = 32 * 1024
    private var buffer = [CChar](repeating: 0, count: ChannelTask.chunk)

    init(job: Job) { self.job = job }

    /// Advances the command; never blocks.
    func step(session: OpaquePointer, host: String) -> Step {
        if ContinuousClock.now >= job.deadline {
            // Past the deadline: give up. After exec the remote process cannot be killed from here
            // (libssh2 1.10 has no channel signal); the target's own time limit ends it, and the caller
            // retires the session so the abandoned channel never blocks anyone. A channel open that never
            // completed retires the session too: the host stopped answering, and libssh2 would hand its
            // half-done open state to the next command on this session.
            return .finished(.failure(.timeout(host: host, phase: execSent ? "the command" : "opening a channel",
                                               limit: job.limit, commandSent: execSent)),
                             abandoned: true, sessionBroken: false)
        }
        var progressed = false
        while true {
            switch phase {
            case .open:
                guard let opened = cssh_channel_open_session(session) else {
                    let code = libssh2_session_last_errno(session)
                    if code == LibSSH2.again { return progressed ? .progressed : .blocked }
                    let broken = Self.isSocketError(code)
                    return .finished(.failure(broken
                        ? .connectionLost(host: host, reason: LibSSH2.lastError(session), commandSent: false)
                        : .channelUnavailable(host: host, reason: LibSSH2.lastError(session))),
                        abandoned: false, sessionBroken: broken)
                }
                channel = opened
                phase = .exec
            case .exec:
                execSent = true
                let rc = job.command.withUnsafeBufferPointer { bytes in
                    bytes.withMemoryRebound(to: CChar.self) { cssh_channel_exec(channel, $0.baseAddress, UInt32($0.count)) }
                }
                if rc == LibSSH2.again { return progressed ? .progressed : .blocked }
                if rc == Int32(LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED) {
                    return .finished(.failure(.execRefused(host: host, reason: LibSSH2.lastError(session))),
                                     abandoned: true, sessionBroken: false)
                }
                if rc < 0 { return lost(session, host) }
                phase = job.stdin.isEmpty ? .eof : .stdin
            case .stdin:
                let rc = job.stdin.withUnsafeBufferPointer { bytes in
                    bytes.withMemoryRebound(to: CChar.self) {
                        cssh_channel_write_stdin(channel, $0.baseAddress! + stdinOffset, $0.count - stdinOffset)
                    }
                }
                if rc == Int(LibSSH2.again) { return progressed ? .progressed : .blocked }
                if rc < 0 { return lost(session, host) }
                stdinOffset += rc
                if stdinOffset >= job.stdin.count { phase = .eof }
            case .eof:
                let rc = libssh2_channel_send_eof(channel)
                if rc == LibSSH2.again { return progressed ? .progressed : .blocked }
                if rc < 0 { return lost(session, host) }
                phase = .read
            case .read:
                var budget = 8   // chunks per stream per step, so other channels get their turn
                var moved = true
                while moved && budget > 0 {
                    budget -= 1
                    moved = false
                    let out = cssh_channel_read_stdout(channel, &buffer, Self.chunk)
                    if out > 0 {
                        Self.append(buffer, count: out, to: &stdout, truncated: &stdoutTruncated, cap: job.maxOutputBytes)
                        moved = true
                    } else if out < 0 && out != Int(LibSSH2.again) {
                        return lost(session, host)
                    }
                    let err = cssh_channel_read_stderr(channel, &buffer, Self.chunk)
                    if err > 0 {
                        Self.append(buffer, count: err, to: &stderr, truncated: &stderrTruncated, cap: job.maxOutputBytes)
                        moved = true
                    } else if err < 0 && err != Int(LibSSH2.again) {
                        return lost(session, host)
                    }
                    if moved { progressed = true }
                }
                if moved { return .progressed }   // budget spent, more may be waiting
                if libssh2_channel_eof(channel) == 1 {
                    phase = .close
                } else {
                    return progressed ? .progressed : .blocked
                }
            case .close:
                let rc = libssh2_channel_close(channel)
                if rc == LibSSH2.again { return progressed ? .progressed : .blocked }
                if rc < 0 { return lost(session, host) }
                phase = .waitClosed
            case .waitClosed:
                let rc = libssh2_channel_wait_closed(channel)
                if rc == LibSSH2.again { return progressed ? .progressed : .blocked }
                if rc < 0 { return lost(session, host) }
                return .finished(.success(collect(session)), abandoned: false, sessionBroken: false)
            }
            progressed = true
        }
    }

    /// Frees the channel after a normal finish. Abandoned channels are left to the session teardown.
    func release() {
        guard let channel else { return }
        var tries = 0
        while libssh2_channel_free(channel) == LibSSH2.again && tries < 100 { tries += 1 }
        self.channel = nil
    }

    private func collect(_ session: OpaquePointer) -> ExecResult {
        var signalName: UnsafeMutablePointer<CChar>?
        var signalLength = 0
        _ = libssh2_channel_get_exit_signal(channel, &signalName, &signalLength, nil, nil, nil, nil)
        var signal: String?
        if let signalName {
            if signalLength > 0 {
                signal = String(decoding: UnsafeRawBufferPointer(start: signalName, count: signalLength), as: UTF8.self)
            }
            libssh2_free(session, signalName)
        }
        // A process killed by a signal reports status 0: report no exit code then, only the signal.
        let status = libssh2_channel_get_exit_status(channel)
        return ExecResult(stdout: stdout, stderr: stderr, stdoutTruncated: stdoutTruncated, stderrTruncated: stderrTruncated,
                          exitCode: signal == nil ? status : nil, exitSignal: signal,
                          duration: job.started.duration(to: .now))
    }

    private func lost(_ session: OpaquePointer, _ host: String) -> Step {
        .finished(.failure(.connectionLost(host: host, reason: LibSSH2.lastError(session), commandSent: execSent)),
                  abandoned: true, sessionBroken: true)
    }

    private static func append(_ buffer: [CChar], count: Int, to output: inout [UInt8], truncated: inout Bool, cap: Int) {
        let room = max(0, cap - output.count)
        if count > room { truncated = true }
        let take = min(room, count)
        if take > 0 {
            buffer.withUnsafeBytes { output.append(contentsOf: $0.prefix(take)) }
        }
    }

    /// libssh2 errors that mean the transport itself is gone.
    static func isSocketError(_ code: Int32) -> Bool {
        [LIBSSH2_ERROR_SOCKET_SEND, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_DISCONNECT,
         LIBSSH2_ERROR_SOCKET_TIMEOUT, LIBSSH2_ERROR_TIMEOUT, LIBSSH2_ERROR_DECRYPT, LIBSSH2_ERROR_BAD_USE]
            .map { Int32($0) }.contains(code)
    }
}
