// The processes that train one model together (data parallelism), as the engine sees them. The
// engine knows sums and broadcasts, not MPI: the CLI hands it an implementation (MPICollective).

/// Sums across every process of a data-parallel run, and bytes from one process to all.
///
/// Every process (rank) calls the same operations in the same order with buffers of the same
/// length; the engine calls them from the thread that drives training, never from its workers.
/// `SingleProcess` is the world of one, whose operations change nothing.
public protocol Collective: AnyObject, Sendable {
    /// This process's index, 0..<size.
    var rank: Int { get }
    /// The number of processes.
    var size: Int { get }
    /// Replaces each value by its sum over all processes.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>)
    /// Replaces each value by its sum over all processes.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>)
    /// Replaces the bytes of every process by those of `root`.
    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, from root: Int)
}

/// The world of one process: sums and broadcasts leave the buffers as they are.
public final class SingleProcess: Collective {
    /// A world of one.
    public init() {}
    /// Always 0.
    public var rank: Int { 0 }
    /// Always 1.
    public var size: Int { 1 }
    /// Nothing to add.
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) {}
    /// Nothing to add.
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) {}
    /// Nothing to send.
    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, from root: Int) {}
}

extension Collective {
    /// This rank's samples of a global batch of `count`: a contiguous share, shares differing by at
    /// most one sample, in rank order (so the ranks together hold the batch in its order).
    public func share(of count: Int) -> Range<Int> { count * rank / size..<count * (rank + 1) / size }

    /// Each rank's failure before a collective step (nil: none); every rank learns the lowest
    /// failing rank and its message, so all can stop with the message of the rank that failed.
    public func firstFailure(_ message: String?) -> (rank: Int, message: String)? {
        guard size > 1 else { return message.map { (0, $0) } }
        var failed = [Double](repeating: 0, count: size)
        if message != nil { failed[rank] = 1 }
        failed.withUnsafeMutableBufferPointer { allreduceSum($0) }
        guard let failing = failed.firstIndex(where: { $0 > 0 }) else { return nil }
        return (failing, broadcast(rank == failing ? message! : "", from: failing))
    }

    /// The ranks whose `value` differs from rank 0's (empty when all agree).
    public func ranksDisagreeing(with value: UInt64) -> [Int] {
        guard size > 1 else { return [] }
        var rootValue = value
        withUnsafeMutableBytes(of: &rootValue) { broadcast($0, from: 0) }
        var differs = [Double](repeating: 0, count: size)
        if rootValue != value { differs[rank] = 1 }
        differs.withUnsafeMutableBufferPointer { allreduceSum($0) }
        return differs.indices.filter { differs[$0] > 0 }
    }

    /// `root`'s text on every rank.
    func broadcast(_ text: String, from root: Int) -> String {
        var bytes = Array(text.utf8)
        var length = UInt64(bytes.count)
        withUnsafeMutableBytes(of: &length) { broadcast($0, from: root) }
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(length)) }
        bytes.withUnsafeMutableBytes { broadcast($0, from: root) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// FNV-1a over the bits of `count` floats, cut to 52 bits so a Double carries it exactly.
func checksum(_ values: UnsafePointer<Float>, count: Int) -> Double {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for i in 0..<count {
        hash = (hash ^ UInt64(values[i].bitPattern)) &* 0x100_0000_01b3
    }
    return Double(hash & (1 << 52 - 1))
}

extension Model {
    /// Checks that every rank holds the same weights (bit for bit, by a checksum per weight);
    /// throws naming the first rank and weight that differ from rank 0's.
    public func checkWeightsAgree() throws {
        guard collective.size > 1 else { return }
        let named = allLayers.flatMap { layer in
            layer.ownVariables.map { ("\(layer.name ?? layer.kerasClassName)/\($0.name)", $0) }
        }
        var sums = named.map { checksum($0.1.data, count: $0.1.count) }
        let own = sums
        sums.withUnsafeMutableBytes { collective.broadcast($0, from: 0) }
        var firstDiffering = [Double](repeating: 0, count: collective.size)
        if let index = own.indices.first(where: { own[$0] != sums[$0] }) { firstDiffering[collective.rank] = Double(index + 1) }
        firstDiffering.withUnsafeMutableBufferPointer { collective.allreduceSum($0) }
        if let rank = firstDiffering.firstIndex(where: { $0 > 0 }) {
            let weight = named[Int(firstDiffering[rank]) - 1].0
            throw EngineError.invalidArgument(
                "weights differ between ranks: rank \(rank)'s \(weight) is not rank 0's (checksums of its values differ)")
        }
    }
}
