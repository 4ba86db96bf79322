import CKernels
import Dispatch
import Glibc
import Synchronization

/// The threads `Parallel` fans out to. A layer's work is often 20-100 µs; a sleeping thread takes
/// about as long to wake (DispatchQueue.concurrentPerform on the 2-core machine ran two 20 µs
/// halves one after the other: 41 µs). So, like the thread pools of Eigen and OpenMP, a helper
/// that finished a job spins for a while (`spinSeconds`) watching for the next one before it
/// sleeps on a semaphore; back-to-back layers then start on all cores at once.
///
/// A job's caller works on it too, then closes it: helpers that have not joined by then (asleep,
/// or descheduled by another process on a busy machine) stay out, so the caller waits only for
/// helpers still finishing the pieces they took, never for one that has yet to start.
///
/// One job at a time: a caller that finds the pool busy (nested or concurrent use, e.g. tests
/// running side by side) runs its job alone on its own thread. Which thread runs what never
/// matters for results (see `Parallel`).
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(helpers: Swift.min(ProcessInfoShim.activeProcessorCount, 8) - 1)

    /// How long an idle helper spins before it sleeps.
    static let spinSeconds = 0.000_5

    private final class Helper: Sendable {
        let sleeping = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
    }

    private let helpers: [Helper]
    private let busy = Atomic<Bool>(false)
    /// The current job's generation (bits 16 and up), whether it is closed to new helpers (bit 15)
    /// and how many helpers joined it (bits 0-14): one word, so joining and closing exclude each other.
    private let state = Atomic<Int>(0)
    private static let closed = 1 << 15, generationUnit = 1 << 16
    /// Joined helpers that finished the current job; how many helpers may join it.
    private let finished = Atomic<Int>(0)
    private let participants = Atomic<Int>(0)
    /// The current job: written before its generation is published, read only by joined helpers.
    private var job: ((_ helper: Int) -> Void)?

    private init(helpers count: Int) {
        helpers = (0..<Swift.max(0, count)).map { _ in Helper() }
        for (index, helper) in helpers.enumerated() {
            let start = Unmanaged.passRetained(Start { [unowned self] in self.serve(index + 1, helper) }).toOpaque()
            var thread = pthread_t()
            guard
                pthread_create(
                    &thread, nil,
                    {
                        Unmanaged<Start>.fromOpaque($0!).takeRetainedValue().body(); return nil
                    },
                    start) == 0
            else {
                fatalError("WorkerPool: cannot start a thread")
            }
            pthread_detach(thread)
        }
    }

    private final class Start {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Runs body(0) on the calling thread and body(i) on each helper i in 1...extra that joins in
    /// time, returning when all of those have finished. `body` must share its work out
    /// dynamically (as `Parallel.forEachPiece` does): a helper may not come at all.
    func run(extra: Int, _ body: (_ thread: Int) -> Void) {
        let extra = Swift.min(extra, helpers.count)
        guard extra > 0, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            body(0)
            return
        }
        withoutActuallyEscaping(body) { body in
            job = body
            participants.store(extra, ordering: .relaxed)
            finished.store(0, ordering: .relaxed)
            let generation = (state.load(ordering: .relaxed) & ~(Self.generationUnit - 1)) &+ Self.generationUnit
            state.store(generation, ordering: .sequentiallyConsistent)
            for helper in helpers.prefix(extra) where helper.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                helper.wake.signal()
            }
            body(0)
            let joined = state.bitwiseOr(Self.closed, ordering: .acquiringAndReleasing).oldValue & (Self.closed - 1)
            var spins = 0
            while finished.load(ordering: .acquiring) < joined {
                // a helper still in its last piece; if the OS took its core, give ours up meanwhile
                spins += 1
                if spins < 2_000 { ckernels_spin_pause() } else { sched_yield() }
            }
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    private func serve(_ index: Int, _ helper: Helper) {
        var seen = 0
        while true {
            var deadline = 0.0
            while state.load(ordering: .acquiring) / Self.generationUnit == seen {
                ckernels_spin_pause()
                let now = Clock.now()
                if deadline == 0 { deadline = now + Self.spinSeconds; continue }
                guard now > deadline else { continue }
                // Sleep, unless a job arrived meanwhile; if its caller already claimed the
                // wake-up (exchanged `sleeping` back), take its signal.
                helper.sleeping.store(true, ordering: .sequentiallyConsistent)
                if state.load(ordering: .sequentiallyConsistent) / Self.generationUnit == seen
                    || !helper.sleeping.exchange(false, ordering: .sequentiallyConsistent)
                {
                    helper.wake.wait()
                }
                deadline = 0
            }
            var current = state.load(ordering: .acquiring)
            seen = current / Self.generationUnit
            guard index <= participants.load(ordering: .relaxed) else { continue }
            // join, unless the caller has closed the job (or moved on to the next one)
            while current & Self.closed == 0 && current / Self.generationUnit == seen {
                let (joined, now) = state.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
                if joined {
                    job!(index)
                    finished.add(1, ordering: .releasing)
                    break
                }
                current = now
            }
        }
    }
}
