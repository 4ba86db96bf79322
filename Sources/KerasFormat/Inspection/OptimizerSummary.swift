import DenseNetEngine

/// What `inspect` says about a file's optimizer state: the class and hyperparameters the file
/// records, the step count, the learning rate in use and the slots.
public struct OptimizerSummary: Codable, Sendable, Equatable {
    /// The Keras class (`Adam`), nil when the file names none.
    public var className: String?
    /// The recorded hyperparameters (`get_config()` without the unset options), as text.
    public var hyperparameters: [String: String]
    /// Steps taken (Keras' `optimizer.iterations`).
    public var iterations: Int64
    /// The learning rate as stored: Keras 3's variable, else the recorded configuration's.
    public var learningRate: Double?
    /// The slot kinds, where the file or its configuration tells them (`momentum`, `velocity`).
    public var slotKinds: [String]
    /// Slot arrays stored, one per slot kind per trainable variable.
    public var slotArrays: Int
    /// Float values in all the slot arrays.
    public var slotValues: Int
    /// Where the state is (`optimizer_weights`, `optimizer/vars`).
    public var location: String

    enum CodingKeys: String, CodingKey {
        case className = "class_name", hyperparameters, iterations, learningRate = "learning_rate", slotKinds = "slot_kinds"
        case slotArrays = "slot_arrays", slotValues = "slot_values", location
    }

    /// The summary of `stored`: its class, recorded hyperparameters and slots; what cannot be decoded is left
    /// out.
    public init(_ stored: StoredOptimizer) {
        let config = try? stored.configuration()
        className = config?.kerasClassName ?? stored.className
        var hyperparameters: [String: String] = [:]
        if let stored = stored.config, case let .object(entries) = stored.keras3Description["config"] ?? .null {
            for (key, value) in entries where value != .null && !["name", "use_ema", "ema_momentum"].contains(key) {
                hyperparameters[key] = value.description
            }
        }
        self.hyperparameters = hyperparameters
        iterations = stored.iterations
        learningRate = stored.learningRate.map(Double.init) ?? stored.config.map { Double(Float($0.learningRate)) }
        var kinds: [String] = []
        for kind in stored.slots.compactMap(\.kind) where !kinds.contains(kind) { kinds.append(kind) }
        slotKinds = kinds.isEmpty ? (config?.slotNames ?? []) : kinds
        slotArrays = stored.slots.count
        slotValues = stored.slots.reduce(0) { $0 + $1.values.count }
        location = stored.location
    }

    /// One line: "Adam at iteration 20, learning rate 0.001; 12 slot arrays (momentum, velocity), …".
    public var line: String {
        var text = "\(className ?? "an unnamed optimizer") at iteration \(iterations)"
        if let learningRate { text += ", learning rate \(Float(learningRate))" }
        text += "; \(slotArrays) slot arrays"
        if !slotKinds.isEmpty { text += " (\(slotKinds.joined(separator: ", ")))" }
        text += " in \(location)"
        let options = hyperparameters.filter { $0.key != "learning_rate" }.sorted { $0.key < $1.key }
        if !options.isEmpty { text += "; " + options.map { "\($0.key) \($0.value)" }.joined(separator: ", ") }
        return text
    }
}
