import Synchronization

/// The bounds every reader of an untrusted file keeps (docs/security.md): sizes a file declares are
/// multiplied with overflow checks, and whatever a file expands into — a zip entry, a gzip stream, an
/// HDF5 dataset's declared extent, variable-length strings that may all point at one object — may
/// reach at most `budget(forSourceOf:)` bytes before anything that large is allocated.
///
/// The budget is a multiple of the bytes read (the inflation ratio, default 64, process-wide) and at
/// least 1 MiB. Keras stores `.keras` entries uncompressed (ratio 1), MNIST's gzip files inflate about
/// 5 times, a gzip-filtered HDF5 weight about 1.1 times; a file expanding further than 64 times is
/// refused unless the ratio is raised (the command line's `DENSENET_IO_INFLATION_LIMIT`).
public enum ReadLimits {
    /// The inflation ratio a process starts with: Keras' uncompressed `.keras` entries and MNIST's gzip files stay
    /// far below it.
    public static let defaultInflationRatio = 64
    /// The budget of a small source: its JSON may well be larger than 64 times its compressed bytes.
    public static let minimumBudget = 1 << 20

    private static let ratio = Atomic<Int>(defaultInflationRatio)

    /// How many times its own size a source may expand into; set once at start-up.
    public static var inflationRatio: Int {
        get { ratio.load(ordering: .relaxed) }
        set { ratio.store(max(1, newValue), ordering: .relaxed) }
    }

    /// The most bytes a reader may produce or allocate from a source of `sourceSize` bytes.
    public static func budget(forSourceOf sourceSize: Int) -> Int {
        let (scaled, overflow) = max(0, sourceSize).multipliedReportingOverflow(by: inflationRatio)
        return overflow ? Int.max : max(minimumBudget, scaled)
    }

    /// The product of `factors` (extents of a shape) and `initial` (an element's size); nil when a
    /// factor is negative or the product overflows `Int`.
    public static func product(_ factors: some Sequence<Int>, times initial: Int = 1) -> Int? {
        var result = initial
        for factor in factors {
            guard factor >= 0 else { return nil }
            let (product, overflow) = result.multipliedReportingOverflow(by: factor)
            guard !overflow else { return nil }
            result = product
        }
        return result
    }

    /// A byte count for messages: "4000000000000 bytes (3.6 TiB)".
    public static func describe(bytes: Int) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes), unit = -1
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit < 0 ? "\(bytes) bytes" : "\(bytes) bytes (\((value * 10).rounded() / 10) \(units[unit]))"
    }
}
