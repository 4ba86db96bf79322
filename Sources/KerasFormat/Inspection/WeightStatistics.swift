/// Summary statistics of one array: min, max, mean and (population) standard deviation over its
/// finite elements, and counts of zeros, NaNs and infinities.
public struct WeightStatistics: Codable, Equatable, Sendable {
    /// Elements in the array, non-finite ones included.
    public var count: Int
    /// The smallest finite element; nil when none is finite.
    public var min: Double?
    /// The largest finite element; nil when none is finite.
    public var max: Double?
    /// The mean of the finite elements; nil when none is finite.
    public var mean: Double?
    /// The population standard deviation (NumPy's `std`, `ddof=0`) of the finite elements; nil when none is
    /// finite.
    public var std: Double?
    /// Elements equal to zero.
    public var zeros: Int
    /// NaN elements (`nan` in JSON).
    public var nans: Int
    /// Infinite elements of either sign (`inf` in JSON).
    public var infinities: Int

    /// Whether any element is NaN or infinite, which a trained weight should never be.
    public var hasNonFinite: Bool { nans > 0 || infinities > 0 }

    /// The statistics of `values`, in one pass for the extremes and sums and a second for the deviation.
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
    /// One stored array as the report lists it.
    public struct Weight: Codable, Sendable {
        /// The name within its group.
        public var name: String
        /// The full stored path.
        public var path: String
        /// The owning layer's Keras name.
        public var layer: String
        /// The variable's name, e.g. `kernel`.
        public var weight: String
        /// The shape as stored.
        public var shape: [Int]
        /// The element type in NumPy's name.
        public var dtype: String
        /// The number of elements.
        public var parameters: Int
        /// Trainable, non-trainable or optimizer state.
        public var kind: WeightKind
        /// The array's statistics; nil unless asked for (`--stats`).
        public var stats: WeightStatistics?
    }

    /// A display group (a layer, an object path, a module) and its arrays.
    public struct GroupEntry: Codable, Sendable {
        /// The group's name.
        public var name: String
        /// The elements in all of the group's arrays.
        public var parameters: Int
        /// The group's arrays in file order.
        public var weights: [Weight]
    }

    /// How many arrays and elements one kind of weight has.
    public struct Total: Codable, Sendable, Equatable {
        /// The number of arrays.
        public var arrays: Int
        /// The number of elements in them.
        public var parameters: Int
    }

    /// The file's path.
    public var file: String
    /// The format's name, e.g. `tf-keras weights (.h5)`.
    public var format: String
    /// Root attributes as text (the first of any repeated name).
    public var attributes: [String: String]
    /// The arrays grouped as stored, consecutive arrays of one group together.
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

    /// The report of `listing`; with `statistics`, every array's values are read for `WeightStatistics`.
    ///
    /// - Throws: `KerasFormatError` when an array's values cannot be read.
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
