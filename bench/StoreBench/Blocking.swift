import Foundation

/// Runs async work from one of the bench's worker threads, which block on the synchronous store ports as the
/// server's callers do: the work runs in a task of its own and the thread waits for its result.
enum Blocking {
    /// Runs `body` in a task and waits on this thread until it returns or throws.
    static func await<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    /// The result, written by the task before it signals and read by the thread after it waited.
    private final class ResultBox<T: Sendable>: @unchecked Sendable {
        var result: Result<T, any Error>?
    }
}
