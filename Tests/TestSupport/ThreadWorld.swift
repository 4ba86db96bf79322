import DenseNetEngine
import Foundation

/// `size` ranks in one process, one thread each: the engine's `Collective` without MPI, for tests
/// of data-parallel training. Sums add the ranks' values in rank order (the same bits on every rank).
public final class ThreadWorld: @unchecked Sendable {
    /// The number of ranks.
    public let size: Int
    private let condition = NSCondition()
    private var arrived = 0, generation = 0
    private var deposited: [UnsafeMutableRawBufferPointer?]

    /// A world of `size` ranks; run them with `run`.
    public init(size: Int) {
        self.size = size
        deposited = Array(repeating: nil, count: size)
    }

    /// The world as rank `rank` sees it.
    public func rank(_ rank: Int) -> any Collective { Rank(world: self, rank: rank) }

    /// Runs `body(rank's collective)` on `size` threads at once; the results in rank order.
    public func run<T>(_ body: @escaping @Sendable (any Collective) throws -> T) throws -> [T] {
        let results = Results<T>(count: size)
        let group = DispatchGroup()
        for r in 0..<size {
            let thread = Thread { [self] in
                results.set(r, Result { try body(self.rank(r)) })
                group.leave()
            }
            thread.stackSize = 8 << 20
            group.enter()
            thread.start()
        }
        group.wait()
        return try results.values.map { try $0!.get() }
    }

    private final class Results<T>: @unchecked Sendable {
        let lock = NSLock()
        var values: [Result<T, Error>?]
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ index: Int, _ value: Result<T, Error>) { lock.withLock { values[index] = value } }
    }

    private func barrier() {
        condition.lock()
        let mine = generation
        arrived += 1
        if arrived == size {
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == mine { condition.wait() }
        }
        condition.unlock()
    }

    /// Deposits this rank's buffer, lets `read` see every rank's once all are there, then waits
    /// until every rank has read before anyone writes.
    private func exchange(
        _ rank: Int, _ buffer: UnsafeMutableRawBufferPointer, read: ([UnsafeMutableRawBufferPointer]) -> Void, write: () -> Void
    ) {
        condition.lock()
        deposited[rank] = buffer
        condition.unlock()
        barrier()
        condition.lock()
        let all = deposited.map { $0! }
        condition.unlock()
        read(all)
        barrier()
        write()
        barrier()
    }

    private final class Rank: Collective, @unchecked Sendable {
        let world: ThreadWorld
        let rank: Int
        var size: Int { world.size }
        init(world: ThreadWorld, rank: Int) {
            self.world = world
            self.rank = rank
        }

        func sum<F: BinaryFloatingPoint>(_ values: UnsafeMutableBufferPointer<F>) {
            var sums = [F](repeating: 0, count: values.count)
            world.exchange(
                rank, UnsafeMutableRawBufferPointer(values),
                read: { all in
                    for buffer in all {
                        let other = buffer.assumingMemoryBound(to: F.self)
                        for i in sums.indices { sums[i] += other[i] }
                    }
                }, write: { for i in sums.indices { values[i] = sums[i] } })
        }
        func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) { sum(values) }
        func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) { sum(values) }
        func broadcast(_ bytes: UnsafeMutableRawBufferPointer, from root: Int) {
            var copy: [UInt8] = []
            world.exchange(
                rank, bytes, read: { all in copy = Array(all[root]) },
                write: { if rank != root { copy.withUnsafeBytes { bytes.copyMemory(from: $0) } } })
        }
    }
}
