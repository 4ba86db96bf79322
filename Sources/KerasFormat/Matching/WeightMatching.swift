/// How the weights of two files (or of a model and a file) are paired: the rule the file's own
/// framework loads by, so that whatever loads also matches. `verify`, `diff` and `convert` share it.
public enum MatchingRule: String, Codable, Sendable {
    /// tf-keras `.h5`: the layers that have weights in file order, zipped with the model's, then
    /// each layer's weights in order — `load_weights_from_hdf5_group` in tf-keras'
    /// `saving/legacy/hdf5_format.py`. Names need not agree.
    case position = "position (layers with weights in order, then each layer's weights in order)"
    /// Keras 3 `.weights.h5` and `.keras`: the object path (`layers/conv2d_3/vars/0`), as `saving_lib` loads.
    case objectPath = "object path"
    /// safetensors: the tensor name, as `load_state_dict` matches.
    case tensorName = "tensor name"
    /// Files of different families: the owning layer's Keras name ('/' read as '_') and the
    /// variable's position in it (`StoredWeight.crossFormatIdentity`).
    case kerasLayerAndPosition = "Keras layer name and position"
    /// `--by-order`: the n-th weight of one file with the n-th of the other, in the order each lists them.
    case order = "order in the file"

    /// Whether PyTorch-only counters (`num_batches_tracked`) take part: only between safetensors files.
    public var keepsPyTorchCounters: Bool { self == .tensorName }

    /// The rule for comparing files of `a`'s and `b`'s formats: a family's own rule within it, the
    /// Keras layer identity across families.
    public static func between(_ a: WeightFileFormat, _ b: WeightFileFormat) -> MatchingRule {
        guard a.family == b.family else { return .kerasLayerAndPosition }
        switch a.family {
        case .tfKeras: return .position
        case .keras3: return .objectPath
        case .safetensors: return .tensorName
        }
    }
}

/// The weights of two lists paired by a `MatchingRule`.
public struct WeightPairing: Sendable {
    /// One weight of each side matched to each other.
    public struct Pair: Sendable {
        /// The weight from the first list.
        public let a: StoredWeight
        /// Its partner from the second list.
        public let b: StoredWeight
        /// Whether the two are stored under different names (a note, never a failure).
        public var isRenamed: Bool { a.path != b.path }
    }

    /// The rule the weights were paired by.
    public let rule: MatchingRule
    /// The pairs, in `a`'s order.
    public let pairs: [Pair]
    /// Weights of `a` with no partner in `b`.
    public let onlyInA: [StoredWeight]
    /// Weights of `b` with no partner in `a`.
    public let onlyInB: [StoredWeight]

    /// The pairs whose names differ.
    public var renamed: [Pair] { pairs.filter(\.isRenamed) }

    /// Pairs `a` with `b` by `rule`. Optimizer state is not paired here (`WeightDiff` matches it by
    /// its place in Keras' `optimizer.variables`); PyTorch-only counters are paired only by tensor
    /// name (`MatchingRule.keepsPyTorchCounters`).
    public init(_ a: [StoredWeight], _ b: [StoredWeight], rule: MatchingRule) {
        self.rule = rule
        let a = a.filter { $0.kind != .optimizer && (rule.keepsPyTorchCounters || !$0.isPyTorchOnly) }
        let b = b.filter { $0.kind != .optimizer && (rule.keepsPyTorchCounters || !$0.isPyTorchOnly) }
        switch rule {
        case .position:
            // Layers are the stored groups (tf-keras' layer groups), in file order; the listing holds
            // only layers with weights, as Keras filters them.
            let layersA = Self.grouped(a), layersB = Self.grouped(b)
            var pairs: [Pair] = [], onlyA: [StoredWeight] = [], onlyB: [StoredWeight] = []
            for index in 0..<max(layersA.count, layersB.count) {
                let x = index < layersA.count ? layersA[index] : [], y = index < layersB.count ? layersB[index] : []
                pairs += zip(x, y).map { Pair(a: $0, b: $1) }
                onlyA += x.dropFirst(y.count)
                onlyB += y.dropFirst(x.count)
            }
            (self.pairs, onlyInA, onlyInB) = (pairs, onlyA, onlyB)
        case .order:
            pairs = zip(a, b).map { Pair(a: $0, b: $1) }
            (onlyInA, onlyInB) = (Array(a.dropFirst(b.count)), Array(b.dropFirst(a.count)))
        case .objectPath, .tensorName, .kerasLayerAndPosition:
            let key: (StoredWeight) -> String? = rule == .kerasLayerAndPosition ? { $0.crossFormatIdentity } : { $0.path }
            var tableB: [String: StoredWeight] = [:]
            for weight in b { if let k = key(weight), tableB[k] == nil { tableB[k] = weight } }
            var used = Set<String>()
            var pairs: [Pair] = [], onlyA: [StoredWeight] = []
            for weight in a {
                if let k = key(weight), let partner = tableB[k], used.insert(k).inserted {
                    pairs.append(Pair(a: weight, b: partner))
                } else {
                    onlyA.append(weight)
                }
            }
            (self.pairs, onlyInA) = (pairs, onlyA)
            onlyInB = b.filter { key($0).map { !used.contains($0) } ?? true }
        }
    }

    /// Consecutive weights of one stored group, in order.
    private static func grouped(_ weights: [StoredWeight]) -> [[StoredWeight]] {
        var groups: [[StoredWeight]] = []
        for weight in weights {
            if let last = groups.last?.last, last.group == weight.group {
                groups[groups.count - 1].append(weight)
            } else {
                groups.append([weight])
            }
        }
        return groups
    }
}
