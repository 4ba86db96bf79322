import Dispatch

/// Loops spread over the cores (`DispatchQueue.concurrentPerform`), for reads of a mapped file:
/// the one place HDF5 and its callers (weight loading) go parallel.
///
/// Each index runs once, on whichever thread is free (a thread the OS delays leaves the rest to the
/// others); the call returns when all have run. The closures need not be `Sendable`: each index must
/// touch only its own state, or state that is safe to share (the file's mapped bytes; libhdf5 calls,
/// which the module serialises behind its one lock).
public enum Concurrently {
    /// Runs `body(index)` for each index in `0..<count` on all cores.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            let work = UncheckedWork(run: body)
            DispatchQueue.concurrentPerform(iterations: count) { work.run($0) }
        }
    }

    /// `transform` of each element, computed on all cores, in order. When some throw, every element
    /// is still transformed and the error of the first failing element is thrown, so callers see the
    /// error a loop in order would have stopped at.
    public static func map<Element, Result>(_ elements: [Element], _ transform: (Element) throws -> Result) throws -> [Result] {
        let results = UnsafeMutableBufferPointer<Swift.Result<Result, any Error>?>.allocate(capacity: elements.count)
        results.initialize(repeating: nil)
        defer { results.deinitialize().deallocate() }
        forEach(elements.count) { index in results[index] = Swift.Result { try transform(elements[index]) } }
        return try results.map { try $0!.get() }
    }

    /// A closure each thread of `concurrentPerform` runs for its own indices.
    private struct UncheckedWork: @unchecked Sendable {
        let run: (Int) -> Void
    }
}
