import Glibc
import Synchronization

/// Fixed-size worker fan-out on `WorkerPool`'s threads.
///
/// Determinism rule used throughout the engine: work is split into pieces whose boundaries depend
/// only on tensor shapes (never on the number of workers), and every reduction combines per-piece
/// partial results in piece order. A worker index only selects scratch memory. So results are
/// bit-identical for any worker count and whichever worker runs a piece, and from run to run.
public struct Parallel: Sendable {
    /// Workers splitting each loop, at least 1; results do not depend on it.
    public let workers: Int

    /// Fan-out over `workers` workers (raised to 1 when fewer).
    public init(workers: Int) {
        self.workers = Swift.max(1, workers)
    }

    /// Default: all active processors (at most 8), OpenBLAS pinned to one thread (we parallelise
    /// above it with fixed partitions).
    public static func automatic() -> Parallel {
        let n = ProcessInfoShim.activeProcessorCount
        return Parallel(workers: Swift.min(n, 8))
    }

    /// Runs body(piece, worker) for piece in 0..<pieces. Each worker takes the next piece nobody
    /// has taken: a worker the OS delays (another process on a busy machine) leaves its share to
    /// the others instead of holding them at the join.
    @inline(__always)
    func forEachPiece(_ pieces: Int, _ body: (_ piece: Int, _ worker: Int) -> Void) {
        if pieces <= 0 { return }
        if workers == 1 || pieces == 1 {
            for p in 0..<pieces { body(p, 0) }
            return
        }
        let next = Atomic<Int>(0)
        WorkerPool.shared.run(extra: Swift.min(workers, pieces) - 1) { t in
            while true {
                let p = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if p >= pieces { break }
                body(p, t)
            }
        }
    }

    /// Splits 0..<count into contiguous ranges (one per worker) for elementwise work, where the
    /// partition cannot change results.
    @inline(__always)
    func forEachRange(_ count: Int, minChunk: Int = 4096, _ body: (Range<Int>) -> Void) {
        let pieces = Swift.min(workers, Swift.max(1, count / minChunk))
        if pieces <= 1 { body(0..<count); return }
        forEachPiece(pieces) { p, _ in
            let lo = count * p / pieces, hi = count * (p + 1) / pieces
            body(lo..<hi)
        }
    }

    /// `forEachRange` over the elements of arrays of `counts` laid end to end: `body(array, range)` for
    /// each array's part of a share. One pass for many arrays, so that the small ones (a model's
    /// normalization parameters, its first kernels) are not each left to one thread.
    func forEachRange(ofArrays counts: [Int], minChunk: Int, _ body: (_ array: Int, _ range: Range<Int>) -> Void) {
        var starts = [0]
        starts.reserveCapacity(counts.count + 1)
        for n in counts { starts.append(starts[starts.count - 1] + n) }
        forEachRange(starts[counts.count], minChunk: minChunk) { share in
            var a = 0
            while starts[a + 1] <= share.lowerBound { a += 1 }
            while a < counts.count, starts[a] < share.upperBound {
                let lo = Swift.max(share.lowerBound, starts[a]), hi = Swift.min(share.upperBound, starts[a + 1])
                if lo < hi { body(a, (lo - starts[a])..<(hi - starts[a])) }
                a += 1
            }
        }
    }
}

/// Processors online (sysconf: the engine does not link Foundation for ProcessInfo).
enum ProcessInfoShim {
    static var activeProcessorCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}

/// Fixed, shape-only partition of `count` items into `pieces` contiguous ranges.
@inline(__always) func pieceRange(_ p: Int, of pieces: Int, count: Int) -> Range<Int> {
    (count * p / pieces)..<(count * (p + 1) / pieces)
}
