import CKernels
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The threads `Parallel` fans out to. A layer's work is often 20-100 µs; a sleeping thread takes
/// about as long to wake (DispatchQueue.concurrentPerform on the 2-core machine ran two 20 µs
/// halves one after the other: 41 µs). So, like the thread pools of Eigen and OpenMP, a helper
/// that finished a job spins for a while (`spinSeconds`) watching for the next one before it
/// sleeps on a semaphore; back-to-back layers then start on all cores at once.
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
    /// Bumped to publish a job; helpers compare it with the last one they ran.
    private let generation = Atomic<Int>(0)
    /// Helpers still running the current job.
    private let running = Atomic<Int>(0)
    /// The current job (written before `generation` is bumped, read after it is seen) and how
    /// many helpers take part.
    private var job: ((_ helper: Int) -> Void)?
    private var participants = 0

    private init(helpers count: Int) {
        helpers = (0..<Swift.max(0, count)).map { _ in Helper() }
        for (index, helper) in helpers.enumerated() {
            let start = Unmanaged.passRetained(Start { [unowned self] in self.serve(index + 1, helper) }).toOpaque()
            var thread = pthread_t()
            guard pthread_create(&thread, nil, { Unmanaged<Start>.fromOpaque($0!).takeRetainedValue().body(); return nil },
                                 start) == 0 else {
                fatalError("WorkerPool: cannot start a thread")
            }
            pthread_detach(thread)
        }
    }

    private final class Start {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Runs body(0) on the calling thread and body(1...extra) on helpers, returning when all have
    /// finished; fewer helpers (none if the pool is busy) when not available.
    func run(extra: Int, _ body: (_ thread: Int) -> Void) {
        let extra = Swift.min(extra, helpers.count)
        guard extra > 0, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            body(0)
            return
        }
        withoutActuallyEscaping(body) { body in
            job = body
            participants = extra
            running.store(extra, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            for helper in helpers.prefix(extra) where helper.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                helper.wake.signal()
            }
            body(0)
            while running.load(ordering: .acquiring) > 0 { ckernels_spin_pause() }
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    private func serve(_ index: Int, _ helper: Helper) {
        var seen = 0
        while true {
            var deadline = 0.0
            while generation.load(ordering: .acquiring) == seen {
                ckernels_spin_pause()
                let now = Clock.now()
                if deadline == 0 { deadline = now + Self.spinSeconds; continue }
                guard now > deadline else { continue }
                // Sleep, unless a job arrived meanwhile; if its caller already claimed the
                // wake-up (exchanged `sleeping` back), take its signal.
                helper.sleeping.store(true, ordering: .sequentiallyConsistent)
                if generation.load(ordering: .sequentiallyConsistent) == seen
                    || !helper.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                    helper.wake.wait()
                }
                deadline = 0
            }
            seen = generation.load(ordering: .acquiring)
            if index <= participants {
                job!(index)
                running.subtract(1, ordering: .releasing)
            }
        }
    }
}
