/// Summary statistics of one array: min, max, mean and (population) standard deviation over its
/// finite elements, and counts of zeros, NaNs and infinities.
public struct WeightStatistics: Codable, Equatable, Sendable {
    public var count: Int
    public var min: Double?
    public var max: Double?
    public var mean: Double?
    public var std: Double?
    public var zeros: Int
    public var nans: Int
    public var infinities: Int

    public var hasNonFinite: Bool { nans > 0 || infinities > 0 }

    public init(_ values: [Double]) {
        count = values.count
        var low = Double.infinity, high = -Double.infinity
        var sum = 0.0, finite = 0
        zeros = 0; nans = 0; infinities = 0
        for value in values {
            if value.isNaN { nans += 1; continue }
            if value.isInfinite { infinities += 1; continue }
            if value == 0 { zeros += 1 }
            low = Swift.min(low, value)
            high = Swift.max(high, value)
            sum += value
            finite += 1
        }
        guard finite > 0 else { min = nil; max = nil; mean = nil; std = nil; return }
        let average = sum / Double(finite)
        var squares = 0.0
        for value in values where value.isFinite { squares += (value - average) * (value - average) }
        min = low; max = high; mean = average
        std = (squares / Double(finite)).squareRoot()
    }

    enum CodingKeys: String, CodingKey {
        case count, min, max, mean, std, zeros, nans = "nan", infinities = "inf"
    }
}

/// What `inspect` reports about a file: its format and attributes, every stored array by group,
/// the totals per kind and, when asked, statistics per array.
public struct InspectionReport: Codable, Sendable {
    public struct Weight: Codable, Sendable {
        public var name: String
        public var path: String
        public var layer: String
        public var weight: String
        public var shape: [Int]
        public var dtype: String
        public var parameters: Int
        public var kind: WeightKind
        public var stats: WeightStatistics?
    }

    public struct GroupEntry: Codable, Sendable {
        public var name: String
        public var parameters: Int
        public var weights: [Weight]
    }

    public struct Total: Codable, Sendable, Equatable {
        public var arrays: Int
        public var parameters: Int
    }

    public var file: String
    public var format: String
    public var attributes: [String: String]
    public var groups: [GroupEntry]
    /// Totals by kind: `trainable`, `non-trainable`, `optimizer`.
    public var totals: [String: Total]
    /// Paths of arrays holding NaN or infinite values (with `--stats`).
    public var nonFinite: [String]?
    /// The optimizer state the file holds, summarised.
    public var optimizer: OptimizerSummary?

    enum CodingKeys: String, CodingKey {
        case file, format, attributes, groups, totals, nonFinite = "non_finite", optimizer
    }

    public init(_ listing: WeightListing, statistics: Bool) throws {
        file = listing.path
        format = listing.format.description
        attributes = Dictionary(listing.attributes.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        var groups: [GroupEntry] = []
        var totals = Dictionary(uniqueKeysWithValues: WeightKind.allCases.map { ($0.rawValue, Total(arrays: 0, parameters: 0)) })
        var nonFinite: [String] = []
        for stored in listing.weights {
            var stats: WeightStatistics?
            if statistics {
                do { stats = WeightStatistics(try stored.values()) } catch let error as KerasFormatError {
                    throw error
                } catch {
                    throw KerasFormatError(.io, file: listing.path, layer: stored.layer, weight: stored.path, found: "\(error)")
                }
                if stats!.hasNonFinite { nonFinite.append(stored.path) }
            }
            let weight = Weight(
                name: stored.label, path: stored.path, layer: stored.layer, weight: stored.weight, shape: stored.shape,
                dtype: stored.dataType, parameters: stored.parameterCount, kind: stored.kind, stats: stats)
            if let last = groups.indices.last, groups[last].name == stored.group {
                groups[last].weights.append(weight)
                groups[last].parameters += weight.parameters
            } else {
                groups.append(GroupEntry(name: stored.group, parameters: weight.parameters, weights: [weight]))
            }
            totals[stored.kind.rawValue]!.arrays += 1
            totals[stored.kind.rawValue]!.parameters += weight.parameters
        }
        self.groups = groups
        self.totals = totals
        self.nonFinite = statistics ? nonFinite : nil
    }
}
