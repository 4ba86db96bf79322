/// Compares the weights of two files of any formats, weight by weight.
///
/// Identity (`MatchingRule`): within a naming family, the rule the family's framework loads by —
/// tf-keras files by position (layer order, then weight order, whatever the names), Keras 3 files
/// by object path, safetensors by tensor name. Across families a weight is identified by its owning
/// layer's unique Keras name (`/` read as `_`) and its position among that layer's variables
/// (`StoredWeight.crossFormatIdentity`): tf-keras' `…/batch_normalization_1/moving_mean:0` is
/// Keras 3's `vars/2` of the group named `batch_normalization_1`, and the safetensors tensor whose
/// metadata records that layer and index (or, in a file PyTorch wrote, whose torchvision name and
/// parameter say so). `--by-order` pairs the n-th weight with the n-th. safetensors values are
/// compared in Keras' layout (the permutation undone). Optimizer state is compared when both files
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
    /// The `MatchingRule` used, in words.
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

    /// Compares `a` with `b`: model weights paired by `rule` (default: `MatchingRule.between` their
    /// formats — the rule their framework loads by), optimizer state by its place in Keras'
    /// `optimizer.variables`.
    ///
    /// - Throws: `KerasFormatError` when an array's values cannot be read.
    public static func compare(
        _ a: WeightListing, _ b: WeightListing, atol: Double = 0, rtol: Double = 0, rule: MatchingRule? = nil
    ) throws -> WeightDiff {
        let rule = rule ?? MatchingRule.between(a.format, b.format)
        let pairing = WeightPairing(a.weights, b.weights, rule: rule)
        var skipped: [String] = []
        for (listing, label, other) in [(a, "A", b), (b, "B", a)] {
            for weight in listing.weights where weight.isPyTorchOnly && !rule.keepsPyTorchCounters {
                skipped.append("\(label) \(weight.path): PyTorch-only counter, no counterpart in \(other.format.description)")
            }
        }
        // Within a family values compare as stored; across families (or by order) in Keras' layout.
        let asStored = rule != .kerasLayerAndPosition && rule != .order
        var entries = try pairing.pairs.map { try entry($0.a, $0.b, asStored: asStored, atol: atol, rtol: rtol) }
        entries += pairing.onlyInA.map {
            Entry(name: $0.path, layer: $0.layer, status: .missing, shapeA: $0.kerasShape, dtypeA: $0.dataType)
        }
        entries += pairing.onlyInB.map { Entry(name: $0.path, layer: $0.layer, status: .extra, shapeB: $0.kerasShape, dtypeB: $0.dataType) }
        entries += try optimizerEntries(a, b, skipped: &skipped, atol: atol, rtol: rtol)
        return WeightDiff(
            fileA: a.path, fileB: b.path, formatA: a.format.description, formatB: b.format.description,
            identity: rule.rawValue, atol: atol, rtol: rtol, entries: entries, skipped: skipped)
    }

    /// Optimizer state, compared when both files hold some: by stored path within a family, else by
    /// its place in Keras' `optimizer.variables` (Keras 3's learning-rate variable has no tf-keras
    /// counterpart; torch.optim's state none in Keras' list).
    private static func optimizerEntries(
        _ a: WeightListing, _ b: WeightListing, skipped: inout [String], atol: Double, rtol: Double
    ) throws -> [Entry] {
        let sameFamily = a.format.family == b.format.family
        let optimizerA = a.weights.filter { $0.kind == .optimizer }, optimizerB = b.weights.filter { $0.kind == .optimizer }
        guard !optimizerA.isEmpty, !optimizerB.isEmpty else {
            for (weights, label, other) in [(optimizerA, "A", b), (optimizerB, "B", a)] {
                skipped += weights.map { "\(label) \($0.path): optimizer state, no counterpart in \(other.format.description)" }
            }
            return []
        }
        func keyed(_ weights: [StoredWeight], _ label: String, other: WeightListing) -> ([String], [String: StoredWeight]) {
            var order: [String] = [], table: [String: StoredWeight] = [:]
            for weight in weights {
                guard let key = sameFamily ? weight.path : weight.crossFormatIdentity, sameFamily || key != "optimizer#learning_rate" else {
                    let what = weight.transform == nil ? "Keras 3's learning-rate variable" : "torch.optim state"
                    skipped.append("\(label) \(weight.path): \(what), no counterpart in \(other.format.description)")
                    continue
                }
                if table[key] == nil { order.append(key) }
                table[key] = weight
            }
            return (order, table)
        }
        let (orderA, tableA) = keyed(optimizerA, "A", other: b), (orderB, tableB) = keyed(optimizerB, "B", other: a)
        var entries: [Entry] = []
        for key in orderA {
            let x = tableA[key]!
            guard let y = tableB[key] else {
                entries.append(Entry(name: x.path, layer: x.layer, status: .missing, shapeA: x.kerasShape, dtypeA: x.dataType))
                continue
            }
            entries.append(try entry(x, y, asStored: sameFamily, atol: atol, rtol: rtol))
        }
        for key in orderB where tableA[key] == nil {
            let y = tableB[key]!
            entries.append(Entry(name: y.path, layer: y.layer, status: .extra, shapeB: y.kerasShape, dtypeB: y.dataType))
        }
        return entries
    }

    /// One matched pair compared element by element (`asStored`: as stored, else in Keras' layout).
    private static func entry(_ x: StoredWeight, _ y: StoredWeight, asStored: Bool, atol: Double, rtol: Double) throws -> Entry {
        var entry = Entry(
            name: x.path, otherName: x.path == y.path ? nil : y.path, layer: x.layer, status: .equal,
            shapeA: x.kerasShape, shapeB: y.kerasShape, dtypeA: x.dataType, dtypeB: y.dataType)
        guard asStored ? x.shape == y.shape : x.kerasShape == y.kerasShape else {
            entry.status = .shapeMismatch
            return entry
        }
        guard x.dataType == y.dataType else {
            entry.status = .dtypeMismatch
            return entry
        }
        let (u, v) = asStored ? (try x.values(), try y.values()) : (try x.kerasValues(), try y.kerasValues())
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
        return entry
    }

    /// The pairs matched under different names (how the files' framework loads them: a note).
    public var renamedCount: Int { entries.filter { $0.otherName != nil }.count }
}
