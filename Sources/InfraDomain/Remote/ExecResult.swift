/// What one remote command produced (the answer of the remote-execution port, whatever carries it).
public struct ExecResult: Sendable, Equatable {
    /// Captured standard output, at most the configured cap.
    public var stdout: [UInt8]
    /// Captured standard error, at most the configured cap.
    public var stderr: [UInt8]
    /// True when stdout was longer than the cap and the rest was dropped.
    public var stdoutTruncated: Bool
    /// True when stderr was longer than the cap and the rest was dropped.
    public var stderrTruncated: Bool
    /// The exit status, or nil when the process was killed by a signal.
    public var exitCode: Int32?
    /// The signal that killed the process (`TERM`, `KILL`…), if one did.
    public var exitSignal: String?
    /// Wall time from the call to the result, queueing and connecting included.
    public var duration: Duration

    /// Creates a result.
    public init(stdout: [UInt8], stderr: [UInt8], stdoutTruncated: Bool = false, stderrTruncated: Bool = false, exitCode: Int32?,
                exitSignal: String? = nil, duration: Duration) {
        self.stdout = stdout
        self.stderr = stderr
        self.stdoutTruncated = stdoutTruncated
        self.stderrTruncated = stderrTruncated
        self.exitCode = exitCode
        self.exitSignal = exitSignal
        self.duration = duration
    }

    /// Standard output decoded as UTF-8 (invalid bytes replaced).
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// Standard error decoded as UTF-8 (invalid bytes replaced).
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}
