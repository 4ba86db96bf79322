/// Compares the weights of two files of any formats, weight by weight.
///
/// Identity: two files of the same naming family (tf-keras weights and full-model files; Keras 3
/// weights and `.keras` archives; safetensors) are matched by stored path. Across families a weight
/// is identified by its owning layer's unique Keras name (`/` read as `_`) and its position among
/// that layer's variables (`StoredWeight.crossFormatIdentity`): tf-keras' `…/batch_normalization_1/
/// moving_mean:0` is Keras 3's `vars/2` of the group named `batch_normalization_1`, and the
/// safetensors tensor whose metadata records that layer and index. safetensors values are compared
/// in Keras' layout (the recorded permutation undone). Optimizer state is compared when both files
/// hold some, across generations by its place in Keras' `optimizer.variables`; state in one file only
/// (a checkpoint and the weights exported from it), PyTorch-only counters and Keras 3's
/// learning-rate variable are listed as not compared, and `isComplete` is false.
///
/// Equal within tolerance means, element by element, `|a - b| <= atol + rtol * |b|` (NumPy's
/// `allclose`), with NaN equal to NaN at the same position.
public struct WeightDiff: Codable, Sendable {
    /// One weight's comparison: which arrays were matched and how far apart they are.
    public struct Entry: Codable, Sendable {
        /// The outcome: `equal` within tolerance, `different`, only in A (`missing`), only in B (`extra`), or
        /// not comparable (`shape mismatch`, `dtype mismatch`). The raw values are the JSON report's words.
        public enum Status: String, Codable, Sendable {
            /// `equal`: every element within tolerance; `different`: some not; `missing`: in A only; `extra`:
            /// in B only.
            case equal, different, missing, extra
            /// Shapes differ (compared in Keras' layout across families), so no values are compared.
            case shapeMismatch = "shape mismatch"
            /// Element types differ (e.g. `float32` and `float16`), so no values are compared.
            case dtypeMismatch = "dtype mismatch"
        }

        /// The weight as named in A (B for `extra`).
        public var name: String
        /// The matching name in B, when it differs from A's.
        public var otherName: String?
        /// The owning layer's Keras name.
        public var layer: String
        /// How the two arrays compare.
        public var status: Status
        /// The shape in A (Keras' layout); nil for `extra`.
        public var shapeA: [Int]?
        /// The shape in B (Keras' layout); nil for `missing`.
        public var shapeB: [Int]?
        /// The element type in A; nil for `extra`.
        public var dtypeA: String?
        /// The element type in B; nil for `missing`.
        public var dtypeB: String?
        /// The largest `|a - b|`, infinity where only one is NaN; nil when values were not compared.
        public var maxAbsolute: Double?
        /// The largest `|a - b| / |b|` (infinity where `b` is 0 and `a` is not); nil when values were not
        /// compared.
        public var maxRelative: Double?
        /// Elements outside the tolerance.
        public var mismatched: Int?
    }

    /// The first file's path.
    public var fileA: String
    /// The second file's path.
    public var fileB: String
    /// The first file's format, as `inspect` names it.
    public var formatA: String
    /// The second file's format.
    public var formatB: String
    /// "stored path" or "layer name and position".
    public var identity: String
    /// The absolute tolerance (NumPy's `atol`).
    public var atol: Double
    /// The relative tolerance, relative to B's element (NumPy's `rtol`).
    public var rtol: Double
    /// One entry per weight: A's in A's order, then B's extras.
    public var entries: [Entry]
    /// Arrays left out of the comparison, with the reason.
    public var skipped: [String]

    /// Whether every compared weight is `equal`: nothing different, missing, extra or mismatched. Skipped
    /// arrays do not count; see `isComplete`.
    public var isEqual: Bool { entries.allSatisfy { $0.status == .equal } }

    /// Whether every array of both files was compared.
    public var isComplete: Bool { skipped.isEmpty }

    /// Compares `a` with `b` weight by weight within `atol` and `rtol` (see the type's summary for how
    /// weights are matched).
    ///
    /// - Throws: `KerasFormatError` when an array's values cannot be read.
    public static func compare(_ a: WeightListing, _ b: WeightListing, atol: Double = 0, rtol: Double = 0) throws -> WeightDiff {
        let sameFamily = a.format.family == b.format.family
        let optimizerInBoth = [a, b].allSatisfy { $0.weights.contains { $0.kind == .optimizer } }
        var skipped: [String] = []
        func keyed(_ listing: WeightListing, _ label: String) -> ([String], [String: StoredWeight]) {
            var order: [String] = []
            var table: [String: StoredWeight] = [:]
            for weight in listing.weights {
                let comparable = weight.kind != .optimizer || optimizerInBoth
                guard comparable, let key = sameFamily ? weight.path : weight.crossFormatIdentity,
                    sameFamily || key != "optimizer#learning_rate"
                else {
                    let what =
                        weight.kind != .optimizer
                        ? "PyTorch-only counter"
                        : comparable ? "Keras 3's learning-rate variable" : "optimizer state"
                    skipped.append(
                        "\(label) \(weight.path): \(what), no counterpart in \(label == "A" ? b.format.description : a.format.description)")
                    continue
                }
                if table[key] == nil { order.append(key) }
                table[key] = weight
            }
            return (order, table)
        }
        let (orderA, tableA) = keyed(a, "A")
        let (orderB, tableB) = keyed(b, "B")
        var entries: [Entry] = []
        for key in orderA {
            let x = tableA[key]!
            guard let y = tableB[key] else {
                entries.append(Entry(name: x.path, layer: x.layer, status: .missing, shapeA: x.kerasShape, dtypeA: x.dataType))
                continue
            }
            var entry = Entry(
                name: x.path, otherName: x.path == y.path ? nil : y.path, layer: x.layer, status: .equal,
                shapeA: x.kerasShape, shapeB: y.kerasShape, dtypeA: x.dataType, dtypeB: y.dataType)
            let comparable = sameFamily ? x.shape == y.shape : x.kerasShape == y.kerasShape
            if !comparable {
                entry.status = .shapeMismatch
            } else if x.dataType != y.dataType {
                entry.status = .dtypeMismatch
            } else {
                let (u, v) = sameFamily ? (try x.values(), try y.values()) : (try x.kerasValues(), try y.kerasValues())
                var maxAbsolute = 0.0, maxRelative = 0.0, mismatched = 0
                for (p, q) in zip(u, v) {
                    if p.isNaN && q.isNaN { continue }
                    if p == q { continue }  // equal infinities too
                    let difference = (p.isNaN || q.isNaN) ? Double.infinity : abs(p - q)
                    let relative = q == 0 ? (difference == 0 ? 0 : .infinity) : difference / abs(q)
                    maxAbsolute = max(maxAbsolute, difference.isNaN ? .infinity : difference)
                    maxRelative = max(maxRelative, relative.isNaN ? .infinity : relative)
                    if !(difference <= atol + rtol * abs(q)) { mismatched += 1 }
                }
                entry.maxAbsolute = maxAbsolute
                entry.maxRelative = maxRelative
                entry.mismatched = mismatched
                entry.status = mismatched == 0 ? .equal : .different
            }
            entries.append(entry)
        }
        for key in orderB where tableA[key] == nil {
            let y = tableB[key]!
            entries.append(Entry(name: y.path, layer: y.layer, status: .extra, shapeB: y.kerasShape, dtypeB: y.dataType))
        }
        return WeightDiff(
            fileA: a.path, fileB: b.path, formatA: a.format.description, formatB: b.format.description,
            identity: sameFamily ? "stored path" : "Keras layer name and position", atol: atol, rtol: rtol,
            entries: entries, skipped: skipped)
    }
}
