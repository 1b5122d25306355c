/// The life of a proposed action, in one place: its states, the events that move it, and the only legal
/// transitions. Every transition the product makes goes through ``ActionLifecycle/next(_:on:)``; anything
/// else is an ``IllegalTransition`` error, never a silent no-op.
///
/// ```
/// PROPOSED  --approve (enough approvals)--> APPROVED
/// PROPOSED  --reject--> REJECTED   --expire--> EXPIRED   --cancel--> CANCELLED
/// APPROVED  --start--> EXECUTING   --expire--> EXPIRED   --cancel--> CANCELLED
/// EXECUTING --complete--> COMPLETED   --fail--> FAILED   --interrupt--> INTERRUPTED
/// ```
public enum ActionLifecycle {
    /// Where a proposal stands.
    public enum State: String, Sendable, Codable, CaseIterable {
        case proposed = "PROPOSED", approved = "APPROVED", rejected = "REJECTED", expired = "EXPIRED"
        case cancelled = "CANCELLED", executing = "EXECUTING", completed = "COMPLETED", failed = "FAILED"
        case interrupted = "INTERRUPTED"

        /// No event leaves these states.
        public var isFinal: Bool { ![.proposed, .approved, .executing].contains(self) }
    }

    /// What can happen to a proposal.
    public enum Event: String, Sendable, Codable, CaseIterable {
        /// The last required approval was given.
        case approve
        /// A human rejected it.
        case reject
        /// Its pending or approval time ran out.
        case expire
        /// The proposer withdrew it.
        case cancel
        /// Execution was claimed (the exactly-once step).
        case start
        /// The action ran and its verification did not fail.
        case complete
        /// The action or its verification failed.
        case fail
        /// The server running it died; it is never re-run by itself.
        case interrupt
    }

    /// The state after `event`, or an error naming the state and the event.
    public static func next(_ state: State, on event: Event) throws(IllegalTransition) -> State {
        switch (state, event) {
        case (.proposed, .approve): return .approved
        case (.proposed, .reject): return .rejected
        case (.proposed, .expire), (.approved, .expire): return .expired
        case (.proposed, .cancel), (.approved, .cancel): return .cancelled
        case (.approved, .start): return .executing
        case (.executing, .complete): return .completed
        case (.executing, .fail): return .failed
        case (.executing, .interrupt): return .interrupted
        default: throw IllegalTransition(state: state, event: event)
        }
    }

    /// Every legal (state, event, next) triple, for documentation and tests.
    public static var transitions: [(State, Event, State)] {
        State.allCases.flatMap { state in
            Event.allCases.compactMap { event in (try? next(state, on: event)).map { (state, event, $0) } }
        }
    }
}

/// An event that does not apply to a proposal's state.
public struct IllegalTransition: Error, Sendable, Equatable, CustomStringConvertible {
    public var state: ActionLifecycle.State
    public var event: ActionLifecycle.Event

    /// Creates the error for a state and an event.
    public init(state: ActionLifecycle.State, event: ActionLifecycle.Event) {
        self.state = state
        self.event = event
    }

    public var description: String {
        switch (state, event) {
        case (.proposed, .start): "the action is not approved yet"
        case (.executing, .start): "the action is already executing"
        case (.completed, .start), (.failed, .start), (.interrupted, .start): "the action was already executed (\(state.rawValue))"
        case (_, .start): "the action is \(state.rawValue) and can no longer run"
        default: "cannot \(event.rawValue) an action that is \(state.rawValue)"
        }
    }
}
