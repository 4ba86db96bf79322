/// Column sums accumulated in float64, row by row, for `EngineConfiguration.Summation.float64`:
/// float32 terms sum exactly enough that splitting the rows between processes and adding their
/// partial sums (still in float64) changes the result by float64 rounding only, far below what the
/// final rounding to float32 keeps.
enum Float64Sums {
    /// sum[j] = Σ_row element(row, j), row by row.
    @inline(__always)
    static func columnSums<Value: LaneSum>(
        rows: Int, columns: Int, into sum: UnsafeMutablePointer<Value>, _ element: (_ row: Int, _ column: Int) -> Value
    ) {
        sum.update(repeating: .zero, count: columns)
        for r in 0..<rows { for j in 0..<columns { sum[j] += element(r, j) } }
    }
}

extension Double: LaneSum {}
extension SIMD2: LaneSum where Scalar == Double {}

/// The float64 gradient sums of every trainable variable of an executor
/// (`EngineConfiguration.Summation.float64`), one buffer for all: kernels add their sums over
/// this process's samples; after the backward pass the buffer is summed over the processes in
/// one reduction and rounded once into each variable's `grad`.
final class WideGradients: @unchecked Sendable {
    private let variables: [Variable]
    private let offsets: [ObjectIdentifier: Int]
    private let sums: UnsafeMutableBufferPointer<Double>

    init(variables: [Variable]) {
        var offsets: [ObjectIdentifier: Int] = [:], unique: [Variable] = [], total = 0
        for v in variables where offsets[ObjectIdentifier(v)] == nil {
            offsets[ObjectIdentifier(v)] = total
            unique.append(v)
            total += v.count
        }
        self.variables = unique
        self.offsets = offsets
        sums = .allocate(capacity: Swift.max(total, 1))
        sums.initialize(repeating: 0)
    }

    deinit { sums.deallocate() }

    /// The sums of `variable`'s gradient (`variable.count` doubles).
    subscript(variable: Variable) -> UnsafeMutablePointer<Double> {
        guard let offset = offsets[ObjectIdentifier(variable)] else {
            preconditionFailure("variable \(variable.name) is not one of the executor's trainable variables")
        }
        return sums.baseAddress! + offset
    }

    /// Zeroes every sum (before a backward pass).
    func zero() { sums.update(repeating: 0) }

    /// Sums every gradient over `collective`'s processes (one reduction) and adds each, rounded
    /// once, to its variable's `grad`.
    func roundIntoGradients(summingOver collective: any Collective, parallel: Parallel) {
        collective.allreduceSum(sums)
        for v in variables {
            let wide = self[v], grad = v.grad
            parallel.forEachRange(v.count, minChunk: 16384) { r in
                for e in r { grad[e] += Float(wide[e]) }
            }
        }
    }
}

/// A kernel's weight gradient summed over a batch's images, in pieces the workers share:
/// - `.tensorFlow` configurations: each piece a fixed group of images (`reductionGroups`, which
///   depends on the batch size only) summed in float32, the groups then added in order;
/// - `.float64`: each piece one image summed in float32, the images' sums added in float64 per
///   worker, then over the workers into the variable's `WideGradients` sums — so the result does
///   not depend on how a batch is split between processes (up to float64 rounding).
final class WeightGradientSums {
    let count: Int
    /// The variable's float64 sums (`.float64`), nil otherwise.
    private let wide: UnsafeMutablePointer<Double>?
    /// `.tensorFlow`: [8, count], a group's float32 sums; `.float64`: [workers, count], a worker's
    /// current image.
    private let partials: UnsafeMutablePointer<Float>
    /// `.float64`: [workers, count], a worker's float64 sums of its images.
    private let workerSums: UnsafeMutablePointer<Double>
    private let workers: Int
    private var batch = 0

    init(of variable: Variable, spec: KernelSpec) {
        count = variable.count
        wide = spec.wideGradients?[variable]
        workers = spec.parallel.workers
        partials = .allocate(capacity: (wide == nil ? 8 : workers) * count)
        workerSums = .allocate(capacity: wide == nil ? 0 : workers * count)
    }

    deinit {
        partials.deallocate()
        workerSums.deallocate()
    }

    /// Starts a batch; returns the number of pieces its images split into.
    func start(batch: Int) -> Int {
        self.batch = batch
        guard wide != nil else { return reductionGroups(batch) }
        workerSums.update(repeating: 0, count: workers * count)
        return batch
    }

    /// The images of piece `piece`.
    func images(ofPiece piece: Int) -> Range<Int> {
        wide == nil ? pieceRange(piece, of: reductionGroups(batch), count: batch) : piece..<(piece + 1)
    }

    /// Where piece `piece`'s float32 sums go on worker `worker` (its first image overwrites).
    func destination(ofPiece piece: Int, worker: Int) -> UnsafeMutablePointer<Float> {
        partials + (wide == nil ? piece : worker) * count
    }

    /// After a piece on `worker`: `.float64` adds the image's sums to the worker's.
    func finishPiece(worker: Int) {
        guard wide != nil else { return }
        let image = partials + worker * count, sums = workerSums + worker * count
        for e in 0..<count { sums[e] += Double(image[e]) }
    }

    /// Adds the batch's sums to the gradient: the float32 groups in order into `grad`, or the
    /// workers' float64 sums into the wide sums.
    func finish(into grad: UnsafeMutablePointer<Float>, parallel: Parallel) {
        let count = self.count, workers = self.workers, partials = self.partials, workerSums = self.workerSums
        guard let wide else {
            let groups = reductionGroups(batch)
            parallel.forEachRange(count, minChunk: 16384) { r in
                // sixteen elements at a time, each still ((group 0 + group 1) + …) + grad: the group loop
                // innermost, as it was, kept the compiler from vectorizing over the elements
                typealias Lanes = SIMD16<Float>
                var e = r.lowerBound
                while e + Lanes.scalarCount <= r.upperBound {
                    var s = UnsafeRawPointer(partials + e).loadUnaligned(as: Lanes.self)
                    for gi in 1..<Swift.max(groups, 1) { s += UnsafeRawPointer(partials + gi * count + e).loadUnaligned(as: Lanes.self) }
                    let sum = UnsafeRawPointer(grad + e).loadUnaligned(as: Lanes.self) + s
                    UnsafeMutableRawPointer(grad + e).storeBytes(of: sum, as: Lanes.self)
                    e += Lanes.scalarCount
                }
                for e in e..<r.upperBound {
                    var s = partials[e]
                    for gi in 1..<Swift.max(groups, 1) { s += partials[gi * count + e] }
                    grad[e] += s
                }
            }
            return
        }
        parallel.forEachRange(count, minChunk: 16384) { r in
            for e in r {
                var s = wide[e]
                for t in 0..<workers { s += workerSums[t * count + e] }
                wide[e] = s
            }
        }
    }
}
